// PendingWaiter: one thread and one epoll set holding admitted sockets that
// have been greeted but have not sent a byte, so a silent client costs a few
// hundred bytes instead of a worker thread and its stack. A socket leaves the
// set when it becomes readable or its peer hangs up (a socket another thread
// shut down, for an eviction, a kick or Stop, reads as hung up): it goes to
// on_ready; or when its deadline passes: it goes to on_expired. Parked sockets
// sit in one list ordered by deadline; since they all share one timeout from
// accept, a new one goes at the tail, and each wake-up looks at the head only,
// never at every parked socket. Thread-safe: Park from any thread (the accept
// thread); the handlers run on the waiter thread (or the PollOnce caller).
#ifndef MUWARDEN_COMMON_RUNTIME_PENDING_WAITER_H_
#define MUWARDEN_COMMON_RUNTIME_PENDING_WAITER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/net/socket.h"

namespace muwarden::runtime {

// What the waiter holds: the owner's state of one socket. The waiter only
// needs its descriptor.
class ParkedSocket {
 public:
  virtual ~ParkedSocket() = default;
  virtual int fd() const = 0;
};

struct PendingWaiterConfig {
  // Sockets parked at once; Park refuses beyond it (the server sizes it to
  // max_clients, so it only refuses what Layer 1 would have).
  size_t capacity = 1024;
  // How long the thread sleeps with nothing parked. The server uses the
  // shared timeout, so a socket parked while the thread sleeps almost never
  // has a deadline before its wake-up, and Park rarely has to wake it.
  absl::Duration idle_wait = absl::Seconds(1);
};

class PendingWaiter {
 public:
  using Handler = std::function<void(std::unique_ptr<ParkedSocket>)>;

  PendingWaiter(PendingWaiterConfig config, Clock& clock, Handler on_ready,
                Handler on_expired);
  ~PendingWaiter();  // Stop(); sockets still parked are destroyed
  PendingWaiter(const PendingWaiter&) = delete;
  PendingWaiter& operator=(const PendingWaiter&) = delete;

  // Creates the epoll set. kUnavailable when the kernel refuses (descriptors
  // or memory); the waiter then parks nothing.
  absl::Status Init();
  // Starts the waiter thread; Init() must have succeeded.
  void Start();
  // Stops the thread and gives back the sockets still parked, for the caller
  // to close. Idempotent; Park refuses afterwards.
  std::vector<std::unique_ptr<ParkedSocket>> Stop();

  // Parks `socket` until it is readable or hung up, or until `deadline`
  // (monotonic, on the waiter's Clock). nullptr when parked; `socket` back
  // when the waiter is full, stopped, not initialised, or the kernel refused
  // the registration.
  std::unique_ptr<ParkedSocket> Park(std::unique_ptr<ParkedSocket> socket,
                                     absl::Time deadline);

  // One round: waits up to `max_wait` for events (at most until the earliest
  // deadline, or idle_wait with nothing parked), then hands ready sockets to
  // on_ready and expired ones to on_expired, outside the lock. The thread runs
  // it in a loop; tests call it with ZeroDuration after moving a FakeClock
  // (one caller at a time). How many sockets it handed out.
  size_t PollOnce(absl::Duration max_wait);

  size_t parked() const;
  size_t capacity() const { return config_.capacity; }
  uint64_t expired_total() const { return expired_total_.load(); }
  uint64_t ready_total() const { return ready_total_.load(); }
  uint64_t park_refused() const { return park_refused_.load(); }

 private:
  static constexpr int32_t kNone = -1;
  struct Slot {
    std::unique_ptr<ParkedSocket> socket;  // null: free
    absl::Time deadline;
    uint32_t generation = 0;  // tells a stale epoll event from a reused slot
    int32_t prev = kNone;     // deadline order
    int32_t next = kNone;
  };

  // Takes the socket out of slot `i` and frees the slot.
  std::unique_ptr<ParkedSocket> TakeLocked(int32_t i)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LinkLocked(int32_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnlinkLocked(int32_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();

  const PendingWaiterConfig config_;
  Clock& clock_;
  const Handler on_ready_;
  const Handler on_expired_;
  net::UniqueFd epoll_fd_;
  net::UniqueFd wake_fd_;  // eventfd: a new head deadline, or Stop
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);  // grows up to capacity
  std::vector<int32_t> free_ ABSL_GUARDED_BY(mu_);
  int32_t head_ ABSL_GUARDED_BY(mu_) = kNone;  // earliest deadline
  int32_t tail_ ABSL_GUARDED_BY(mu_) = kNone;
  size_t parked_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // Stop() took the sockets
  // When the current (or last) wait ends; Park wakes the thread only for a
  // deadline before it.
  absl::Time sleep_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // PollOnce's hand-outs, kept to save allocations (one caller at a time).
  std::vector<std::unique_ptr<ParkedSocket>> ready_;
  std::vector<std::unique_ptr<ParkedSocket>> expired_;

  std::atomic<uint64_t> expired_total_{0};
  std::atomic<uint64_t> ready_total_{0};
  std::atomic<uint64_t> park_refused_{0};
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_PENDING_WAITER_H_
