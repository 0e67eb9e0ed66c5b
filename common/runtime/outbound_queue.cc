#include "common/runtime/outbound_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace muwarden::runtime {

OutboundQueue::OutboundQueue(const OutboundQueueConfig& config, Clock& clock)
    : config_(config), clock_(clock) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

OutboundQueue::~OutboundQueue() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void OutboundQueue::Wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still means "readable": the owner is woken
  // either way.
  ssize_t rc = ::write(wake_fd_, &one, sizeof(one));
  (void)rc;
}

bool OutboundQueue::Push(absl::Span<const uint8_t> message) {
  {
    MutexLock lock(&mu_);
    if (closed_) return false;
    if (queue_.size() >= config_.max_messages ||
        message.size() > config_.max_bytes - bytes_ ||
        message.size() > config_.max_bytes) {
      ++dropped_;
      if (!full_since_.has_value()) full_since_ = clock_.Now();
      return false;
    }
    queue_.emplace_back(message.begin(), message.end());
    bytes_ += message.size();
    full_since_.reset();
  }
  Wake();
  return true;
}

void OutboundQueue::Kick() {
  {
    MutexLock lock(&mu_);
    kicked_ = true;
  }
  Wake();
}

void OutboundQueue::Close() {
  MutexLock lock(&mu_);
  closed_ = true;
  queue_.clear();
  bytes_ = 0;
}

std::deque<std::vector<uint8_t>> OutboundQueue::TakeAll() {
  if (wake_fd_ >= 0) {
    uint64_t value;
    ssize_t rc = ::read(wake_fd_, &value, sizeof(value));
    (void)rc;
  }
  MutexLock lock(&mu_);
  std::deque<std::vector<uint8_t>> out;
  out.swap(queue_);
  bytes_ = 0;
  full_since_.reset();
  return out;
}

bool OutboundQueue::kicked() const {
  MutexLock lock(&mu_);
  return kicked_;
}

absl::optional<absl::Time> OutboundQueue::full_since() const {
  MutexLock lock(&mu_);
  return full_since_;
}

uint64_t OutboundQueue::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace muwarden::runtime
