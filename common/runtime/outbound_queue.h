// OutboundQueue: the bounded queue through which other threads (broadcasts,
// kicks) send to one client. Push never blocks: when the queue is full the
// message is dropped and the time the queue became full is kept, so the owner
// can disconnect a client that does not drain it within write_timeout. The
// owning worker waits on wake_fd() (an eventfd) and drains. The messages are
// kept back to back in one byte buffer, so the owner hands everything queued
// to the kernel with one send, and the eventfd is written only when the queue
// goes from drained to not drained: pushes that find the owner already
// signalled cost no system call and no extra wake-up.
//
// Direct delivery: once the owner attached its socket, a broadcaster may
// Stage() its packets (no wake-up) and, after releasing its own locks, Flush()
// them: one non-blocking send of everything queued, from the broadcaster's
// thread, so a steady stream costs one send per observer and no wake-up at
// all. Only what the kernel does not take at once is left to the owner, who
// is woken and finishes it under the write deadline. Whoever writes to the
// socket holds writer(); pushers only try it and never wait, and whoever lets
// it go looks again for bytes staged meanwhile. No queue mutex is held while
// writing. Lock order: writer() -> the queue's own mutex. Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_OUTBOUND_QUEUE_H_
#define MUWARDEN_COMMON_RUNTIME_OUTBOUND_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"

namespace muwarden::runtime {

struct OutboundQueueConfig {
  size_t max_messages = 256;
  size_t max_bytes = 64 * 1024;
};

class OutboundQueue {
 public:
  OutboundQueue(const OutboundQueueConfig& config, Clock& clock);
  ~OutboundQueue();
  OutboundQueue(const OutboundQueue&) = delete;
  OutboundQueue& operator=(const OutboundQueue&) = delete;

  // False when dropped: the queue is full, closed, or the message is larger
  // than max_bytes.
  bool Push(absl::Span<const uint8_t> message);
  // Asks the owner to close the connection (e.g. a second login of the same
  // account).
  void Kick();
  // Refuses further pushes; called by the owner when the connection ends.
  void Close();

  // Like Push, but with a socket attached it does not wake the owner: the
  // caller must call Flush() once it holds no lock of its own.
  bool Stage(absl::Span<const uint8_t> message);
  // Hands what is queued to the attached socket with one non-blocking send,
  // unless someone else is writing (he looks again when done) or the owner
  // has unsent bytes to finish; what the kernel does not take is kept, in
  // order, and the owner is woken for it. No-op without a socket.
  void Flush();
  // Owner side: the socket the queue may write to directly (once, after the
  // handshake), and the lock every writer of that socket holds.
  void AttachSocket(int fd);
  Mutex& writer() ABSL_LOCK_RETURNED(write_mu_) { return write_mu_; }

  // Owner side: appends every queued byte (whole messages, in order) to
  // `*out`, clears the wake signal and returns how many messages they were.
  // With an empty `*out` the buffers are swapped, so the owner's buffer and
  // the queue's take turns and a steady stream allocates nothing.
  size_t TakeBytes(std::vector<uint8_t>* out);
  // The same, one vector per message (tests and diagnostics).
  std::deque<std::vector<uint8_t>> TakeAll();
  bool kicked() const;
  // Since when pushes have been failing for lack of room; nullopt when there
  // was room.
  absl::optional<absl::Time> full_since() const;
  int wake_fd() const { return wake_fd_; }

  uint64_t dropped() const;
  // How often Push, Stage, Flush or Kick wrote the eventfd.
  uint64_t wakes() const;
  // Bytes Flush handed to the kernel.
  uint64_t flushed_bytes() const;

 private:
  void Wake();
  void ClearWake();
  bool Enqueue(absl::Span<const uint8_t> message, bool stage);
  // One Flush attempt with write_mu_ held: false when nothing more may be
  // sent from here (nothing queued, closed, or left to the owner).
  bool FlushOnce() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // What an idle queue may keep of a burst's buffer.
  static constexpr size_t kKeepCapacity = 4096;

  const OutboundQueueConfig config_;
  Clock& clock_;
  int wake_fd_ = -1;
  Mutex write_mu_;
  // Flush's side of the ping-pong with bytes_.
  std::vector<uint8_t> direct_ ABSL_GUARDED_BY(write_mu_);
  mutable Mutex mu_;
  int socket_fd_ ABSL_GUARDED_BY(mu_) = -1;
  // A direct send came up short: the rest is queued and the owner, woken,
  // finishes it with its deadline; until it took them, Flush leaves them.
  bool owner_must_flush_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t flushed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint8_t> bytes_ ABSL_GUARDED_BY(mu_);
  // The length of each message in bytes_, in order.
  std::vector<uint32_t> lengths_ ABSL_GUARDED_BY(mu_);
  // The eventfd was written since the owner last took: later pushes need not.
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  absl::optional<absl::Time> full_since_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_OUTBOUND_QUEUE_H_
