#include "common/runtime/pending_waiter.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace muwarden::runtime {
namespace {

// The wake eventfd's epoll data; a slot's data is (generation << 32) | index,
// and no index reaches 2^32 - 1.
constexpr uint64_t kWakeToken = ~uint64_t{0};
// Events taken per epoll_wait.
constexpr int kBatch = 128;

uint64_t Token(uint32_t generation, int32_t index) {
  return (static_cast<uint64_t>(generation) << 32) |
         static_cast<uint32_t>(index);
}

// Milliseconds for epoll_wait, rounded up so a deadline is never missed by
// waking a little early and sleeping again with 0; -1 = no limit.
int TimeoutMs(absl::Duration wait) {
  if (wait == absl::InfiniteDuration()) return -1;
  if (wait <= absl::ZeroDuration()) return 0;
  const int64_t ms = absl::ToInt64Milliseconds(wait + absl::Milliseconds(1) -
                                               absl::Nanoseconds(1));
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

}  // namespace

PendingWaiter::PendingWaiter(PendingWaiterConfig config, Clock& clock,
                             Handler on_ready, Handler on_expired)
    : config_(config),
      clock_(clock),
      on_ready_(std::move(on_ready)),
      on_expired_(std::move(on_expired)) {}

PendingWaiter::~PendingWaiter() { Stop(); }

absl::Status PendingWaiter::Init() {
  net::UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep.valid()) {
    return absl::UnavailableError(
        absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  net::UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) {
    return absl::UnavailableError(
        absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
    return absl::UnavailableError(
        absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  epoll_fd_ = std::move(ep);
  wake_fd_ = std::move(wake);
  return absl::OkStatus();
}

void PendingWaiter::Start() {
  if (!epoll_fd_.valid()) {
    // A broken invariant: the thread would have nothing to wait on.
    std::fprintf(stderr, "PendingWaiter::Start before a successful Init\n");
    std::abort();
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-pending");
    while (!stopping_.load(std::memory_order_relaxed)) {
      PollOnce(absl::InfiniteDuration());
    }
  });
}

std::vector<std::unique_ptr<ParkedSocket>> PendingWaiter::Stop() {
  std::vector<std::unique_ptr<ParkedSocket>> left;
  if (stopping_.exchange(true)) return left;
  Wake();
  if (thread_.joinable()) thread_.join();
  MutexLock lock(&mu_);
  closed_ = true;
  while (head_ != kNone) left.push_back(TakeLocked(head_));
  return left;
}

std::unique_ptr<ParkedSocket> PendingWaiter::Park(
    std::unique_ptr<ParkedSocket> socket, absl::Time deadline) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (!epoll_fd_.valid() || closed_ || stopping_.load() ||
        parked_ >= config_.capacity) {
      park_refused_.fetch_add(1, std::memory_order_relaxed);
      return socket;
    }
    int32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<int32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& slot = slots_[static_cast<size_t>(i)];
    ++slot.generation;
    slot.deadline = deadline;
    // One-shot: the first event disarms the registration, so a socket handed
    // to a worker is never reported again and needs no EPOLL_CTL_DEL; closing
    // it removes the registration. Registered under the lock: an event cannot
    // be looked up before the slot holds the socket.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.u64 = Token(slot.generation, i);
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, socket->fd(), &ev) != 0) {
      free_.push_back(i);
      park_refused_.fetch_add(1, std::memory_order_relaxed);
      return socket;
    }
    slot.socket = std::move(socket);
    LinkLocked(i);
    ++parked_;
    // Only a deadline before the end of the thread's current sleep needs it
    // awake; with one timeout for all, that is almost never the case.
    wake = deadline < sleep_until_;
  }
  if (wake) Wake();
  return nullptr;
}

size_t PendingWaiter::PollOnce(absl::Duration max_wait) {
  if (!epoll_fd_.valid()) return 0;
  absl::Duration wait = max_wait;
  {
    MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    wait = std::min(
        wait, head_ != kNone ? slots_[static_cast<size_t>(head_)].deadline - now
                             : config_.idle_wait);
    // Under the lock that Park takes: a Park after this sees when the sleep
    // ends, one before it is the head already.
    sleep_until_ = now + wait;
  }
  epoll_event events[kBatch];
  int n = ::epoll_wait(epoll_fd_.get(), events, kBatch, TimeoutMs(wait));
  if (n < 0) {
    if (errno != EINTR) {
      LogError("net", absl::StrCat("epoll_wait: ", std::strerror(errno)));
    }
    n = 0;
  }
  std::vector<std::unique_ptr<ParkedSocket>>& ready = ready_;
  std::vector<std::unique_ptr<ParkedSocket>>& expired = expired_;
  bool woken = false;
  {
    MutexLock lock(&mu_);
    for (int e = 0; e < n; ++e) {
      const uint64_t token = events[e].data.u64;
      if (token == kWakeToken) {
        woken = true;
        continue;
      }
      const auto i = static_cast<int32_t>(token & 0xFFFFFFFFu);
      const auto generation = static_cast<uint32_t>(token >> 32);
      if (static_cast<size_t>(i) >= slots_.size()) continue;
      const Slot& slot = slots_[static_cast<size_t>(i)];
      if (slot.socket == nullptr || slot.generation != generation) continue;
      ready.push_back(TakeLocked(i));
    }
    const absl::Time now = clock_.Now();
    while (head_ != kNone &&
           slots_[static_cast<size_t>(head_)].deadline <= now) {
      const int32_t i = head_;
      // It was never reported, so it is still armed: unregister it before the
      // owner gets it.
      ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL,
                  slots_[static_cast<size_t>(i)].socket->fd(), nullptr);
      expired.push_back(TakeLocked(i));
    }
  }
  if (woken) {
    uint64_t value;
    while (::read(wake_fd_.get(), &value, sizeof(value)) < 0 &&
           errno == EINTR) {
    }
  }
  const size_t handed = ready.size() + expired.size();
  ready_total_.fetch_add(ready.size(), std::memory_order_relaxed);
  expired_total_.fetch_add(expired.size(), std::memory_order_relaxed);
  for (auto& socket : ready) on_ready_(std::move(socket));
  for (auto& socket : expired) on_expired_(std::move(socket));
  ready.clear();
  expired.clear();
  return handed;
}

size_t PendingWaiter::parked() const {
  MutexLock lock(&mu_);
  return parked_;
}

std::unique_ptr<ParkedSocket> PendingWaiter::TakeLocked(int32_t i) {
  UnlinkLocked(i);
  Slot& slot = slots_[static_cast<size_t>(i)];
  std::unique_ptr<ParkedSocket> socket = std::move(slot.socket);
  free_.push_back(i);
  --parked_;
  return socket;
}

void PendingWaiter::LinkLocked(int32_t i) {
  Slot& slot = slots_[static_cast<size_t>(i)];
  // Every socket has the same timeout from its accept, so this stops at the
  // tail at once; an earlier deadline walks back to its place.
  int32_t after = tail_;
  while (after != kNone &&
         slots_[static_cast<size_t>(after)].deadline > slot.deadline) {
    after = slots_[static_cast<size_t>(after)].prev;
  }
  slot.prev = after;
  slot.next = after == kNone ? head_ : slots_[static_cast<size_t>(after)].next;
  if (slot.next != kNone) {
    slots_[static_cast<size_t>(slot.next)].prev = i;
  } else {
    tail_ = i;
  }
  if (after != kNone) {
    slots_[static_cast<size_t>(after)].next = i;
  } else {
    head_ = i;
  }
}

void PendingWaiter::UnlinkLocked(int32_t i) {
  Slot& slot = slots_[static_cast<size_t>(i)];
  if (slot.prev != kNone) {
    slots_[static_cast<size_t>(slot.prev)].next = slot.next;
  } else {
    head_ = slot.next;
  }
  if (slot.next != kNone) {
    slots_[static_cast<size_t>(slot.next)].prev = slot.prev;
  } else {
    tail_ = slot.prev;
  }
  slot.prev = kNone;
  slot.next = kNone;
}

void PendingWaiter::Wake() {
  if (!wake_fd_.valid()) return;
  const uint64_t one = 1;
  while (::write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

}  // namespace muwarden::runtime
