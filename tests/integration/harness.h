// Test harness for integration tests over real loopback sockets: a raw TCP
// client that can bind its own 127.x.y.z (or ::1) source address, and the real
// server binaries started as child processes on a free port with their log
// captured. Every wait has a deadline.
#ifndef MUWARDEN_TESTS_INTEGRATION_HARNESS_H_
#define MUWARDEN_TESTS_INTEGRATION_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/hex.h"  // HexBytes, Hex

namespace muwarden::testing {

using Bytes = std::vector<uint8_t>;

// What a read saw before its deadline.
enum class ReadEnd { kData, kEof, kReset, kTimeout, kError };

class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&& other) noexcept;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Connects to host:port from `source` (empty = any). `rcvbuf` > 0 sets
  // SO_RCVBUF before connecting (slow-reader tests). False on failure.
  bool Connect(const std::string& host, int port,
               const std::string& source = "", int rcvbuf = 0);
  bool Send(const Bytes& bytes);
  // Reads exactly n bytes or until the deadline / EOF.
  Bytes ReadExactly(size_t n, absl::Duration timeout, ReadEnd* end = nullptr);
  // Reads whatever arrives within `timeout` (returns as soon as some data
  // arrived and then `settle` passed without more).
  Bytes ReadAvailable(absl::Duration timeout,
                      absl::Duration settle = absl::Milliseconds(50));
  // Waits for the server to close: kEof or kReset, or kTimeout. Data read
  // meanwhile is discarded and counted in *discarded.
  ReadEnd WaitClosed(absl::Duration timeout, size_t* discarded = nullptr);
  // Closes with SO_LINGER 0 (RST).
  void Reset();
  void Close();
  int fd() const { return fd_; }
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// A server binary run as a child process. Its stdout/stderr go to a log file.
class ServerProcess {
 public:
  ~ServerProcess();
  // Starts `binary` with `args` plus --port 0 unless args name a port; waits
  // until the log says where it listens. False (with the log printed) on
  // failure.
  bool Start(const std::string& binary, std::vector<std::string> args,
             absl::Duration timeout = absl::Seconds(10));
  // Limits the child's open files (RLIMIT_NOFILE) when > 0; set before Start.
  void set_max_open_files(int n) { max_open_files_ = n; }
  // CPU time (user + system) the child has used so far.
  absl::Duration CpuTime() const;
  // SIGTERM and wait; returns the exit status (or -1 on timeout, after
  // SIGKILL).
  int Stop(absl::Duration timeout = absl::Seconds(10));
  void Signal(int sig);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;
  const std::string& log_path() const { return log_path_; }
  // Waits until the log contains `text` `count` times.
  bool WaitForLog(const std::string& text, absl::Duration timeout,
                  int count = 1);
  int CountInLog(const std::string& text) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int max_open_files_ = 0;
  std::string log_path_;
};

// A fresh temporary directory (removed by the OS later; tests keep logs for
// post-mortems).
std::string MakeTempDir();
// Path of a built binary: MUWARDEN_BIN_DIR (set by CMake) + relative path.
std::string BinaryPath(const std::string& name);
// Polls `condition` every 5 ms until true or the timeout passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);
// Runs a command; returns its exit status and stdout+stderr.
int RunCommand(const std::string& command, std::string* output);

// Empty when a TCP socket can bind ::1 (port 0); otherwise why not, for the
// skip line of a test that needs IPv6 (Docker disables it by default).
std::string Ipv6LoopbackUnavailable();

// In a test body: skips it, naming the reason, when ::1 cannot be bound.
#define MUWARDEN_SKIP_WITHOUT_IPV6()                                      \
  do {                                                                    \
    const std::string muwarden_no_ipv6 =                                  \
        ::muwarden::testing::Ipv6LoopbackUnavailable();                   \
    if (!muwarden_no_ipv6.empty()) GTEST_SKIP() << muwarden_no_ipv6;      \
  } while (false)

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_INTEGRATION_HARNESS_H_
