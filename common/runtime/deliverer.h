// Deliverer: the thread that hands broadcasts to the sockets. A broadcaster
// stages its packets in the receivers' OutboundQueues and names the queues
// here (Add); the thread sends each named queue once per round
// (OutboundQueue::Flush: one non-blocking send of everything staged for it),
// and queues named while a round runs wait for the next. So when sends fall
// behind the packets coming in, each send carries more of them and the cost
// per packet falls, instead of a backlog of senders building up: delivery
// stays about one round behind. A queue is named at most once per round, so
// the pending list is bounded by the live queues. The thread is woken only
// when it sleeps; no lock is held while it sends. Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_DELIVERER_H_
#define MUWARDEN_COMMON_RUNTIME_DELIVERER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "common/base/mutex.h"
#include "common/runtime/outbound_queue.h"

namespace muwarden::runtime {

class Deliverer {
 public:
  // No thread until Start(): RunOnce() alone delivers (tests).
  Deliverer() = default;
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Starts the delivery thread (named mw-deliver); once.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Delivers what is pending, then stops and joins the thread. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Names queues with staged bytes for the next round; wakes the thread if
  // it sleeps. Never blocks on a socket.
  void Add(absl::Span<const std::shared_ptr<OutboundQueue>> queues)
      ABSL_LOCKS_EXCLUDED(mu_);
  // One round in the caller's thread: flushes every queue named so far, once.
  // Returns how many.
  size_t RunOnce() ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }
  uint64_t flushes() const { return flushes_.load(std::memory_order_relaxed); }
  uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Flushes `batch` with no lock held, then clears it.
  void FlushAll(std::vector<std::shared_ptr<OutboundQueue>>& batch);

  Mutex mu_;
  CondVar work_;
  // Named since the last round began, each queue once.
  std::vector<std::shared_ptr<OutboundQueue>> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<const OutboundQueue*> pending_set_ ABSL_GUARDED_BY(mu_);
  bool sleeping_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> flushes_{0};
  std::atomic<uint64_t> wakes_{0};
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_DELIVERER_H_
