// HashGate: bounds the password hashes in flight (each holds the hasher's
// memlimit bytes) and shares them fairly between queues (the login's prefix):
// a request waits in its queue's FIFO, and a freed slot goes to the head of the
// queue served least recently (a queue that was never served first), so one
// queue's backlog delays another's request by at most one check. A request has
// a deadline: it is dropped when its turn comes too late to finish the check in
// time (twice the measured check time must be left), when its deadline passes, or when the
// total queue is full and its queue is the longest. Queues are bounded per
// key and in total. Thread-safe: one mutex; a taken slot is a move-only RAII
// object.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/guard/ip_address.h"

namespace muwarden::game {

struct HashGateConfig {
  // Checks running at once.
  int slots = 4;
  // Requests waiting in one queue (one prefix), and in all queues.
  size_t max_queued_per_key = 16;
  size_t max_queued = 256;
};

struct HashGateCounters {
  uint64_t granted = 0;
  uint64_t refused_full = 0;  // its queue was full (or the total, and its
                              // queue was not the longest)
  uint64_t dropped = 0;       // pushed out of a full total by a shorter queue
  uint64_t expired = 0;       // deadline passed, or too close to finish
};

class HashGate {
  struct Waiter;

 public:
  HashGate(const HashGateConfig& config, Clock& clock);
  // `slots` slots on the real clock, every request in one queue (the hasher's
  // own memory bound).
  explicit HashGate(int slots);
  HashGate(const HashGate&) = delete;
  HashGate& operator=(const HashGate&) = delete;

  // Move-only; gives the slot back on destruction.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();
    bool held() const { return gate_ != nullptr; }

   private:
    friend class HashGate;
    Slot(HashGate* gate, const guard::IpKey& queue, absl::Time granted_at)
        : gate_(gate), queue_(queue), granted_at_(granted_at) {}
    HashGate* gate_ = nullptr;
    guard::IpKey queue_;
    absl::Time granted_at_;
  };

  enum class TurnState { kWaiting, kGranted, kRefused, kExpired };

  // A place in a queue. Move-only; destroying a waiting turn leaves the
  // queue, destroying a granted one whose slot was not taken gives it back.
  class Turn {
   public:
    Turn() = default;
    Turn(Turn&& other) noexcept = default;
    Turn& operator=(Turn&& other) noexcept;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn();

    TurnState state() const;
    // The slot once granted (empty otherwise); non-blocking.
    Slot Take();
    // Blocks (real time) until the turn is granted or given up; the slot, or
    // an empty one.
    Slot Wait();

   private:
    friend class HashGate;
    Turn(HashGate* gate, std::shared_ptr<Waiter> waiter)
        : gate_(gate), waiter_(std::move(waiter)) {}
    void Leave();
    HashGate* gate_ = nullptr;
    std::shared_ptr<Waiter> waiter_;
  };

  // Asks for a slot in `queue`'s turn, to be started before `deadline`
  // (clock().Now()). Granted at once when a slot is free and nobody waits.
  Turn Request(const guard::IpKey& queue, absl::Time deadline);
  // Request(queue, deadline).Wait().
  Slot Acquire(const guard::IpKey& queue, absl::Time deadline);
  // The one-queue form: waits up to `timeout`.
  Slot Acquire(absl::Duration timeout);

  int in_use() const;
  size_t queued() const;
  // Mean time a slot was held, recent checks weighing most (zero until one
  // was given back): the check time a turn must still fit in.
  absl::Duration check_time() const;
  HashGateCounters counters() const;
  Clock& clock() { return clock_; }

 private:
  struct Waiter {
    guard::IpKey queue;
    absl::Time deadline;
    TurnState state = TurnState::kWaiting;
    absl::Time granted_at;
    bool taken = false;
    CondVar changed;
  };
  // Kept while it has waiters or checks running.
  struct Queue {
    std::deque<std::shared_ptr<Waiter>> waiters;
    int running = 0;
    uint64_t last_served = 0;  // sequence of its last grant; 0: none
    uint64_t since = 0;        // sequence of its creation
  };

  // `measure`: the slot was used for a check (counts towards check_time).
  void Release(const guard::IpKey& queue, absl::Time granted_at,
               bool measure = true);
  // The entry of `queue`, created if missing.
  Queue& QueueOf(const guard::IpKey& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Grants `waiter` a slot of its queue `q` at `now`.
  void Grant(Queue& q, Waiter& waiter, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the entry of `queue` once it has neither waiters nor checks.
  void Tidy(const guard::IpKey& queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands free slots to queue heads; drops heads that cannot finish in time.
  void Dispatch(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Settle(Waiter& waiter, TurnState state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a waiting `waiter` out of its queue.
  void Unqueue(const std::shared_ptr<Waiter>& waiter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HashGateConfig config_;
  Clock& clock_;
  mutable Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration check_time_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  HashGateCounters counters_ ABSL_GUARDED_BY(mu_);
  // Queues with waiters or running checks: at most max_queued + slots.
  absl::flat_hash_map<guard::IpKey, Queue> queues_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_
