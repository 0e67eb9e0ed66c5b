#include "common/net/poller.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/net/socket.h"

namespace muwarden::net {

absl::StatusOr<Readiness> SystemPoller::Wait(int fd, short events, int wake_fd,
                                             absl::Time deadline) {
  pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
  const nfds_t count = wake_fd >= 0 ? 2 : 1;
  int rc = ::poll(fds, count, PollTimeoutMs(clock_.Now(), deadline));
  if (rc < 0) {
    if (errno == EINTR) return Readiness{};
    return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
  }
  Readiness ready;
  if (rc == 0) return ready;
  ready.socket = fds[0].revents;
  ready.wake = count == 2 && (fds[1].revents & POLLIN) != 0;
  return ready;
}

}  // namespace muwarden::net
