#include "common/runtime/outbound_queue.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

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

void OutboundQueue::ClearWake() {
  if (wake_fd_ < 0) return;
  uint64_t value;
  ssize_t rc = ::read(wake_fd_, &value, sizeof(value));
  (void)rc;
}

bool OutboundQueue::Push(absl::Span<const uint8_t> message) {
  return Enqueue(message, /*stage=*/false);
}

bool OutboundQueue::Stage(absl::Span<const uint8_t> message) {
  return Enqueue(message, /*stage=*/true);
}

bool OutboundQueue::Enqueue(absl::Span<const uint8_t> message, bool stage) {
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (closed_) return false;
    if (lengths_.size() >= config_.max_messages ||
        message.size() > config_.max_bytes ||
        message.size() > config_.max_bytes - bytes_.size()) {
      ++dropped_;
      if (!full_since_.has_value()) full_since_ = clock_.Now();
      return false;
    }
    bytes_.insert(bytes_.end(), message.begin(), message.end());
    lengths_.push_back(static_cast<uint32_t>(message.size()));
    full_since_.reset();
    // A staged message is the caller's to flush, unless only the owner may
    // write now.
    const bool owner_sends = !stage || socket_fd_ < 0 || owner_must_flush_;
    if (owner_sends && !wake_pending_) {
      wake_pending_ = true;
      ++wakes_;
      wake = true;
    }
  }
  // Outside the lock: a pusher never makes another wait on a system call. If
  // the owner takes before this write lands, it only sees one empty wake-up.
  if (wake) Wake();
  return true;
}

void OutboundQueue::AttachSocket(int fd) {
  MutexLock lock(&mu_);
  if (!closed_) socket_fd_ = fd;
}

void OutboundQueue::Flush() {
  // Bounded: a stream that keeps coming while we send is left to the next
  // flusher (each pusher flushes after its own push).
  for (int round = 0; round < 4; ++round) {
    if (!write_mu_.TryLock()) return;  // the holder looks again when done
    const bool more = FlushOnce();
    write_mu_.Unlock();
    if (!more) return;
    // Pushes that found write_mu_ taken while we sent rely on this look.
    MutexLock lock(&mu_);
    if (lengths_.empty() || closed_ || owner_must_flush_) return;
  }
}

bool OutboundQueue::FlushOnce() {
  int fd;
  {
    MutexLock lock(&mu_);
    if (closed_ || socket_fd_ < 0 || owner_must_flush_ || lengths_.empty()) {
      return false;
    }
    fd = socket_fd_;
    direct_.clear();
    direct_.swap(bytes_);
    lengths_.clear();
    full_since_.reset();
  }
  size_t sent = 0;
  while (sent < direct_.size()) {
    const ssize_t n = ::send(fd, direct_.data() + sent, direct_.size() - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // full (EAGAIN) or failed: the owner's send meets it with its rules
  }
  bool wake = false;
  {
    MutexLock lock(&mu_);
    flushed_bytes_ += sent;
    if (sent < direct_.size() && !closed_) {
      // The rest goes first, as one message of the count.
      bytes_.insert(bytes_.begin(),
                    direct_.begin() + static_cast<ptrdiff_t>(sent),
                    direct_.end());
      lengths_.insert(lengths_.begin(),
                      static_cast<uint32_t>(direct_.size() - sent));
      owner_must_flush_ = true;
      if (!wake_pending_) {
        wake_pending_ = true;
        ++wakes_;
        wake = true;
      }
    }
  }
  const bool all = sent == direct_.size();
  direct_.clear();
  if (direct_.capacity() > kKeepCapacity) direct_.shrink_to_fit();
  if (wake) Wake();
  return all;
}

void OutboundQueue::Kick() {
  {
    MutexLock lock(&mu_);
    kicked_ = true;
    ++wakes_;
  }
  Wake();
}

void OutboundQueue::Close() {
  // Waits for a direct send in progress: the owner closes the socket next.
  MutexLock writing(&write_mu_);
  MutexLock lock(&mu_);
  closed_ = true;
  socket_fd_ = -1;
  bytes_.clear();
  bytes_.shrink_to_fit();
  lengths_.clear();
  lengths_.shrink_to_fit();
}

size_t OutboundQueue::TakeBytes(std::vector<uint8_t>* out) {
  // Cleared before the queue is taken: a push after this point either lands
  // in what is taken below or finds wake_pending_ false and signals again.
  ClearWake();
  MutexLock lock(&mu_);
  wake_pending_ = false;
  owner_must_flush_ = false;
  const size_t messages = lengths_.size();
  if (out->empty()) {
    out->swap(bytes_);
  } else {
    out->insert(out->end(), bytes_.begin(), bytes_.end());
  }
  bytes_.clear();
  if (bytes_.capacity() > kKeepCapacity) bytes_.shrink_to_fit();
  lengths_.clear();
  if (lengths_.capacity() > kKeepCapacity / sizeof(uint32_t)) {
    lengths_.shrink_to_fit();
  }
  full_since_.reset();
  return messages;
}

std::deque<std::vector<uint8_t>> OutboundQueue::TakeAll() {
  ClearWake();
  MutexLock lock(&mu_);
  wake_pending_ = false;
  owner_must_flush_ = false;
  std::deque<std::vector<uint8_t>> out;
  size_t at = 0;
  for (uint32_t len : lengths_) {
    out.emplace_back(bytes_.begin() + static_cast<ptrdiff_t>(at),
                     bytes_.begin() + static_cast<ptrdiff_t>(at + len));
    at += len;
  }
  bytes_.clear();
  lengths_.clear();
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

uint64_t OutboundQueue::flushed_bytes() const {
  MutexLock lock(&mu_);
  return flushed_bytes_;
}

uint64_t OutboundQueue::wakes() const {
  MutexLock lock(&mu_);
  return wakes_;
}

}  // namespace muwarden::runtime
