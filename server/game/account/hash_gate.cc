#include "server/game/account/hash_gate.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <utility>

namespace muwarden::game {
namespace {

// A blocked Wait re-reads the clock at least this often, so a deadline on a
// clock that does not follow real time (tests) is still noticed.
constexpr absl::Duration kWaitPoll = absl::Milliseconds(50);

// Weight of the newest check in check_time (1/8: the mean of about the last
// eight checks).
constexpr int64_t kCheckTimeWeight = 8;

// A turn is started only if twice the measured check time is left before its
// deadline: checks slow down when they share cores, and the answer must still
// be in time.
constexpr int64_t kCheckTimeMargin = 2;

HashGateConfig OneQueue(int slots) {
  HashGateConfig c;
  c.slots = slots;
  c.max_queued_per_key = std::numeric_limits<size_t>::max();
  c.max_queued = std::numeric_limits<size_t>::max();
  return c;
}

}  // namespace

HashGate::HashGate(const HashGateConfig& config, Clock& clock)
    : config_(config), clock_(clock) {}

HashGate::HashGate(int slots) : HashGate(OneQueue(slots), Clock::Real()) {}

HashGate::Slot::Slot(Slot&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)),
      queue_(other.queue_),
      granted_at_(other.granted_at_) {}

HashGate::Slot& HashGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->Release(queue_, granted_at_);
    gate_ = std::exchange(other.gate_, nullptr);
    queue_ = other.queue_;
    granted_at_ = other.granted_at_;
  }
  return *this;
}

HashGate::Slot::~Slot() {
  if (gate_ != nullptr) gate_->Release(queue_, granted_at_);
}

HashGate::Turn& HashGate::Turn::operator=(Turn&& other) noexcept {
  if (this != &other) {
    Leave();
    gate_ = other.gate_;
    waiter_ = std::move(other.waiter_);
  }
  return *this;
}

HashGate::Turn::~Turn() { Leave(); }

void HashGate::Turn::Leave() {
  if (waiter_ == nullptr) return;
  std::shared_ptr<Waiter> w = std::move(waiter_);
  absl::Time granted_at;
  {
    MutexLock lock(&gate_->mu_);
    if (w->state == TurnState::kWaiting) {
      gate_->Unqueue(w);
      w->state = TurnState::kExpired;
      ++gate_->counters_.expired;
      return;
    }
    if (w->state != TurnState::kGranted || w->taken) return;
    w->taken = true;
    granted_at = w->granted_at;
  }
  gate_->Release(w->queue, granted_at, /*measure=*/false);
}

HashGate::TurnState HashGate::Turn::state() const {
  if (waiter_ == nullptr) return TurnState::kRefused;
  MutexLock lock(&gate_->mu_);
  return waiter_->state;
}

HashGate::Slot HashGate::Turn::Take() {
  if (waiter_ == nullptr) return Slot();
  MutexLock lock(&gate_->mu_);
  if (waiter_->state != TurnState::kGranted || waiter_->taken) return Slot();
  waiter_->taken = true;
  return Slot(gate_, waiter_->queue, waiter_->granted_at);
}

HashGate::Slot HashGate::Turn::Wait() {
  if (waiter_ == nullptr) return Slot();
  MutexLock lock(&gate_->mu_);
  Waiter& w = *waiter_;
  while (w.state == TurnState::kWaiting) {
    const absl::Duration left = w.deadline - gate_->clock_.Now();
    if (left <= absl::ZeroDuration()) {
      gate_->Unqueue(waiter_);
      gate_->Settle(w, TurnState::kExpired);
      break;
    }
    w.changed.WaitWithTimeout(&gate_->mu_, std::min(left, kWaitPoll));
  }
  if (w.state != TurnState::kGranted || w.taken) return Slot();
  w.taken = true;
  return Slot(gate_, w.queue, w.granted_at);
}

HashGate::Turn HashGate::Request(const guard::IpKey& queue,
                                 absl::Time deadline) {
  auto waiter = std::make_shared<Waiter>();
  waiter->queue = queue;
  waiter->deadline = deadline;
  MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (in_use_ < config_.slots && queued_ == 0) {
    // Nobody waits: no turn to take, and no check-time estimate to fit in.
    Grant(QueueOf(queue), *waiter, now);
    return Turn(this, std::move(waiter));
  }
  auto it = queues_.find(queue);
  const size_t mine = it == queues_.end() ? 0 : it->second.waiters.size();
  if (mine >= config_.max_queued_per_key) {
    ++counters_.refused_full;
    return Turn();
  }
  if (queued_ >= config_.max_queued) {
    // A full total gives way to a shorter queue: the longest one loses its
    // newest request, so one prefix's backlog cannot keep others out.
    auto longest = std::max_element(
        queues_.begin(), queues_.end(), [](const auto& a, const auto& b) {
          return a.second.waiters.size() < b.second.waiters.size();
        });
    if (longest == queues_.end() || longest->second.waiters.size() <= mine + 1) {
      ++counters_.refused_full;
      return Turn();
    }
    std::shared_ptr<Waiter> victim = longest->second.waiters.back();
    // Not emptied: it was longer than this one's queue plus one.
    longest->second.waiters.pop_back();
    --queued_;
    Settle(*victim, TurnState::kRefused);
    ++counters_.dropped;
  }
  QueueOf(queue).waiters.push_back(waiter);
  ++queued_;
  Dispatch(now);
  return Turn(this, std::move(waiter));
}

HashGate::Slot HashGate::Acquire(const guard::IpKey& queue,
                                 absl::Time deadline) {
  return Request(queue, deadline).Wait();
}

HashGate::Slot HashGate::Acquire(absl::Duration timeout) {
  return Acquire(guard::IpKey{}, clock_.Now() + timeout);
}

void HashGate::Settle(Waiter& waiter, TurnState state) {
  waiter.state = state;
  if (state == TurnState::kExpired) ++counters_.expired;
  waiter.changed.Signal();
}

HashGate::Queue& HashGate::QueueOf(const guard::IpKey& queue) {
  auto [it, inserted] = queues_.try_emplace(queue);
  if (inserted) it->second.since = ++sequence_;
  return it->second;
}

void HashGate::Grant(Queue& q, Waiter& waiter, absl::Time now) {
  ++in_use_;
  ++q.running;
  q.last_served = ++sequence_;
  ++counters_.granted;
  waiter.granted_at = now;
  Settle(waiter, TurnState::kGranted);
}

void HashGate::Tidy(const guard::IpKey& queue) {
  auto it = queues_.find(queue);
  if (it != queues_.end() && it->second.waiters.empty() &&
      it->second.running == 0) {
    queues_.erase(it);
  }
}

void HashGate::Unqueue(const std::shared_ptr<Waiter>& waiter) {
  auto it = queues_.find(waiter->queue);
  if (it == queues_.end()) return;
  auto& waiters = it->second.waiters;
  auto pos = std::find(waiters.begin(), waiters.end(), waiter);
  if (pos == waiters.end()) return;
  waiters.erase(pos);
  --queued_;
  Tidy(waiter->queue);
}

void HashGate::Dispatch(absl::Time now) {
  while (in_use_ < config_.slots && queued_ > 0) {
    // The waiting queue granted a slot least recently; among never-granted
    // ones, the oldest. O(queues), at most max_queued + slots.
    auto next = queues_.end();
    for (auto it = queues_.begin(); it != queues_.end(); ++it) {
      if (it->second.waiters.empty()) continue;
      if (next == queues_.end() ||
          std::tie(it->second.last_served, it->second.since) <
              std::tie(next->second.last_served, next->second.since)) {
        next = it;
      }
    }
    if (next == queues_.end()) return;  // cannot happen: queued_ > 0
    const guard::IpKey key = next->first;
    Queue& q = next->second;
    std::shared_ptr<Waiter> w = std::move(q.waiters.front());
    q.waiters.pop_front();
    --queued_;
    if (now + kCheckTimeMargin * check_time_ > w->deadline) {
      // Too late to be answered in time: given up (the caller answers 7).
      Settle(*w, TurnState::kExpired);
      Tidy(key);
      continue;
    }
    Grant(q, *w, now);
  }
}

void HashGate::Release(const guard::IpKey& queue, absl::Time granted_at,
                       bool measure) {
  MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (measure) {
    const absl::Duration held =
        std::max(now - granted_at, absl::ZeroDuration());
    check_time_ = check_time_ == absl::ZeroDuration()
                      ? held
                      : check_time_ + (held - check_time_) / kCheckTimeWeight;
  }
  --in_use_;
  auto it = queues_.find(queue);
  if (it != queues_.end()) {
    --it->second.running;
    Tidy(queue);
  }
  Dispatch(now);
}

int HashGate::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

size_t HashGate::queued() const {
  MutexLock lock(&mu_);
  return queued_;
}

absl::Duration HashGate::check_time() const {
  MutexLock lock(&mu_);
  return check_time_;
}

HashGateCounters HashGate::counters() const {
  MutexLock lock(&mu_);
  return counters_;
}

}  // namespace muwarden::game
