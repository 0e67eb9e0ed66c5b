#include "common/runtime/deliverer.h"

#include <pthread.h>

#include <utility>

namespace muwarden::runtime {

Deliverer::~Deliverer() { Stop(); }

void Deliverer::Start() {
  MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-deliver");
    Loop();
  });
}

void Deliverer::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  work_.SignalAll();
  if (thread_.joinable()) thread_.join();
  RunOnce();  // named after the thread's last round
}

void Deliverer::Add(absl::Span<const std::shared_ptr<OutboundQueue>> queues) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    for (const auto& queue : queues) {
      if (pending_set_.insert(queue.get()).second) pending_.push_back(queue);
    }
    if (sleeping_ && !pending_.empty()) {
      sleeping_ = false;
      wake = true;
    }
  }
  if (wake) {
    wakes_.fetch_add(1, std::memory_order_relaxed);
    work_.Signal();
  }
}

size_t Deliverer::RunOnce() {
  std::vector<std::shared_ptr<OutboundQueue>> batch;
  {
    MutexLock lock(&mu_);
    batch.swap(pending_);
    pending_set_.clear();
  }
  const size_t n = batch.size();
  FlushAll(batch);
  return n;
}

void Deliverer::FlushAll(std::vector<std::shared_ptr<OutboundQueue>>& batch) {
  if (batch.empty()) return;
  rounds_.fetch_add(1, std::memory_order_relaxed);
  flushes_.fetch_add(batch.size(), std::memory_order_relaxed);
  for (const auto& queue : batch) queue->Flush();
  batch.clear();
}

void Deliverer::Loop() {
  // The two lists take turns, so a steady stream allocates nothing.
  std::vector<std::shared_ptr<OutboundQueue>> batch;
  while (true) {
    {
      MutexLock lock(&mu_);
      while (pending_.empty() && !stop_) {
        sleeping_ = true;
        work_.Wait(&mu_);
      }
      sleeping_ = false;
      if (pending_.empty()) return;  // stopping, nothing left
      batch.swap(pending_);
      pending_set_.clear();
    }
    FlushAll(batch);
  }
}

}  // namespace muwarden::runtime
