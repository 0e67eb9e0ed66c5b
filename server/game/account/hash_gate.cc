#include "server/game/account/hash_gate.h"

#include <utility>

namespace muwarden::game {

HashGate::HashGate(int slots) : slots_(slots) {}

HashGate::Slot::Slot(Slot&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)) {}

HashGate::Slot& HashGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->Release();
    gate_ = std::exchange(other.gate_, nullptr);
  }
  return *this;
}

HashGate::Slot::~Slot() {
  if (gate_ != nullptr) gate_->Release();
}

HashGate::Slot HashGate::Acquire(absl::Duration timeout) {
  MutexLock lock(&mu_);
  bool free = freed_.WaitWithTimeout(
      &mu_, timeout,
      [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return in_use_ < slots_; });
  if (!free) return Slot();
  ++in_use_;
  return Slot(this);
}

int HashGate::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

void HashGate::Release() {
  {
    MutexLock lock(&mu_);
    --in_use_;
  }
  freed_.Signal();
}

}  // namespace muwarden::game
