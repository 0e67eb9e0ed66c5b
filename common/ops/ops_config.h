// The operators' endpoints' settings (SPEC section 3): [metrics] listen and
// [control] socket, plain values loaded with the server's settings; the units
// that serve them are metrics.h and control_server.h. Thread-compatible.
#ifndef MUWARDEN_COMMON_OPS_OPS_CONFIG_H_
#define MUWARDEN_COMMON_OPS_OPS_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/config/schema.h"

namespace muwarden::ops {

struct MetricsConfig {
  // "HOST:PORT" ("[::1]:9405" for IPv6); empty = no metrics endpoint.
  std::string listen;

  // [metrics] listen.
  void Describe(config::Schema& schema);
};

struct ControlConfig {
  // A Unix socket path; empty = no control socket.
  std::string socket;
  // The default file name beside the config file ("connect-server.sock");
  // without a config file there is no default socket.
  std::string default_name = "muwarden.sock";

  // [control] socket.
  void Describe(config::Schema& schema);
};

// Splits "host:port" or "[v6]:port" with an IP literal host; false when the
// text is neither.
bool SplitListenAddress(absl::string_view value, std::string* host, int* port);
// Checks a [metrics] listen value: empty, or what SplitListenAddress takes.
absl::Status CheckListenAddress(absl::string_view value);

}  // namespace muwarden::ops

#endif  // MUWARDEN_COMMON_OPS_OPS_CONFIG_H_
