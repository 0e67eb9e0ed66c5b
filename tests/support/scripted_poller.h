// ScriptedPoller: a net::Poller for tests that never sleeps. Readiness is real
// (a zero-timeout poll() on the descriptors, e.g. one end of a socketpair);
// time is a FakeClock that jumps, when nothing is ready, to the next scripted
// step or to the caller's deadline, whichever is first (simulated time, as in
// Envoy). Not thread-safe: one test thread.
#ifndef MUWARDEN_TESTS_SUPPORT_SCRIPTED_POLLER_H_
#define MUWARDEN_TESTS_SUPPORT_SCRIPTED_POLLER_H_

#include <poll.h>

#include <functional>
#include <map>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/net/poller.h"

namespace muwarden::testing {

class ScriptedPoller final : public net::Poller {
 public:
  explicit ScriptedPoller(FakeClock& clock) : clock_(clock) {}

  // Runs `step` when simulated time reaches `at` (steps at the same time run in
  // the order they were added).
  void At(absl::Time at, std::function<void()> step) {
    steps_.emplace(at, std::move(step));
  }

  absl::StatusOr<net::Readiness> Wait(int fd, short events, int wake_fd,
                                      absl::Time deadline) override {
    if (++waits_ > kMaxWaits) {
      return absl::InternalError("too many waits: the loop spins");
    }
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const nfds_t count = wake_fd >= 0 ? 2 : 1;
    if (::poll(fds, count, 0) > 0) {
      return net::Readiness{fds[0].revents,
                            count == 2 && (fds[1].revents & POLLIN) != 0};
    }
    const absl::Time next =
        steps_.empty() ? absl::InfiniteFuture() : steps_.begin()->first;
    if (next == absl::InfiniteFuture() && deadline == absl::InfiniteFuture()) {
      return absl::InternalError("nothing scripted and no deadline");
    }
    if (next <= deadline) {
      AdvanceTo(next);
      auto step = std::move(steps_.begin()->second);
      steps_.erase(steps_.begin());
      step();
    } else {
      AdvanceTo(deadline);
    }
    return net::Readiness{};
  }

  int waits() const { return waits_; }

 private:
  static constexpr int kMaxWaits = 100000;

  void AdvanceTo(absl::Time t) {
    if (t > clock_.Now()) clock_.Advance(t - clock_.Now());
  }

  FakeClock& clock_;
  std::multimap<absl::Time, std::function<void()>> steps_;
  int waits_ = 0;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_SCRIPTED_POLLER_H_
