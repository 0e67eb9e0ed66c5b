// HashGate: bounds the password hashes in flight, since each one holds the
// hasher's memlimit bytes. A counting semaphore under a mutex and condition
// variable; a taken slot is a move-only RAII object. Thread-safe.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"

namespace muwarden::game {

class HashGate {
 public:
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
    explicit Slot(HashGate* gate) : gate_(gate) {}
    HashGate* gate_ = nullptr;
  };

  // Waits up to `timeout` (real time) for a free slot; an empty Slot if none.
  Slot Acquire(absl::Duration timeout);
  int in_use() const;

 private:
  void Release();

  const int slots_;
  mutable Mutex mu_;
  CondVar freed_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_HASH_GATE_H_
