// ControlServer: the [control] Unix socket muwarden-ctl talks to (SPEC
// section 12). Its own thread accepts one client at a time, reads one command
// line (at most kMaxControlLine bytes, within kControlDeadline of the accept),
// hands the words to the handler and writes its reply ("ok ..." or "error
// ...", possibly several lines) within the same kind of deadline, then closes.
// The socket is created mode 0600 (owner only) and removed on stop. A stale
// socket file nobody listens on is replaced; a live one is an error.
// Thread-safe.
#ifndef MUWARDEN_COMMON_OPS_CONTROL_SERVER_H_
#define MUWARDEN_COMMON_OPS_CONTROL_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/net/socket.h"

namespace muwarden::ops {

inline constexpr size_t kMaxControlLine = 1024;
inline constexpr absl::Duration kControlDeadline = absl::Seconds(2);

struct ControlReply {
  bool ok = false;
  std::string text;  // without the "ok"/"error" word; may hold newlines
};

// Runs on the control thread; `line` is the command without its newline.
using ControlHandler = std::function<ControlReply(const std::string& line)>;

class ControlServer {
 public:
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      const std::string& path, ControlHandler handler);
  ~ControlServer();  // stops the thread and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }

 private:
  ControlServer(std::string path, net::UniqueFd listener, net::UniqueFd wake,
                ControlHandler handler);
  void Loop();
  void Serve(net::UniqueFd client);

  const std::string path_;
  net::UniqueFd listener_;
  net::UniqueFd wake_;  // eventfd: Stop() makes the loop return
  const ControlHandler handler_;
  std::thread thread_;
};

}  // namespace muwarden::ops

#endif  // MUWARDEN_COMMON_OPS_CONTROL_SERVER_H_
