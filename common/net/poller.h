// Poller: how a connection waits on its socket. Wait() blocks until the socket
// has one of the asked events, an optional wake descriptor is readable, or a
// deadline (monotonic, on the poller's Clock) passes. SystemPoller does it with
// one poll(); tests substitute a poller that moves a FakeClock instead of
// sleeping. SystemPoller is thread-safe (it holds no state but its clock).
#ifndef MUWARDEN_COMMON_NET_POLLER_H_
#define MUWARDEN_COMMON_NET_POLLER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/clock.h"

namespace muwarden::net {

// What a wait saw. Both empty when the deadline passed or a signal cut the
// wait short: the caller checks its deadlines again.
struct Readiness {
  short socket = 0;   // revents of the socket (POLLIN, POLLOUT, POLLHUP, ...)
  bool wake = false;  // the wake descriptor is readable
};

class Poller {
 public:
  virtual ~Poller() = default;
  // Waits for `events` (POLLIN and/or POLLOUT) on `fd`, or for `wake_fd` to be
  // readable when it is >= 0, until `deadline`. kUnavailable when the wait
  // itself fails.
  virtual absl::StatusOr<Readiness> Wait(int fd, short events, int wake_fd,
                                         absl::Time deadline) = 0;
};

class SystemPoller final : public Poller {
 public:
  explicit SystemPoller(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<Readiness> Wait(int fd, short events, int wake_fd,
                                 absl::Time deadline) override;

 private:
  const Clock& clock_;
};

}  // namespace muwarden::net

#endif  // MUWARDEN_COMMON_NET_POLLER_H_
