// Thin, status-returning wrappers over POSIX sockets: an owning descriptor,
// listening on IPv4 or IPv6, and sends/receives that never raise SIGPIPE and
// wait on a Poller against a total deadline. No protocol knowledge.
// Thread-compatible (one owner per descriptor).
#ifndef MUWARDEN_COMMON_NET_SOCKET_H_
#define MUWARDEN_COMMON_NET_SOCKET_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/base/clock.h"
#include "common/net/poller.h"

namespace muwarden::net {

// Owns one file descriptor; closes it once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Binds and listens on `bind:port` (port 0 = any free port). IPv6 addresses
// listen dual-stack. kUnavailable with the address and errno text when it
// cannot be bound.
absl::StatusOr<UniqueFd> Listen(const std::string& bind, int port, int backlog);

// The local port a socket is bound to.
int LocalPort(int fd);

absl::Status SetNonBlocking(int fd);
absl::Status SetBlocking(int fd);

// Text of a socket address's IP (no port); IPv4-mapped IPv6 addresses print as
// IPv4.
std::string IpToString(const sockaddr_storage& addr);

enum class IoState { kOk, kWouldBlock, kClosed, kError };

struct IoResult {
  IoState state;
  size_t bytes = 0;
  int error = 0;  // errno for kError
};

// One non-blocking recv (EINTR retried).
IoResult RecvSome(int fd, absl::Span<uint8_t> out);

// Hands all of `data` to the kernel before `deadline` (monotonic, from
// `clock`): send with MSG_NOSIGNAL, waiting on `poller` for POLLOUT between
// partial sends. kDeadlineExceeded when time runs out, kUnavailable when the
// peer is gone.
absl::Status SendAll(int fd, absl::Span<const uint8_t> data,
                     absl::Time deadline, const Clock& clock, Poller& poller);

// Milliseconds for poll() until `deadline`, rounded up, clamped to [0,
// INT_MAX].
int PollTimeoutMs(absl::Time now, absl::Time deadline);

}  // namespace muwarden::net

#endif  // MUWARDEN_COMMON_NET_SOCKET_H_
