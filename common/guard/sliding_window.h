// SlidingWindow: an exact sliding-window event counter (no fixed buckets).
// It keeps the times of the last `limit` events in a fixed ring: `limit` events
// fall inside the window exactly when the oldest of those is younger than the
// window, so the check is O(1) and memory is bounded by the limit. Not
// thread-safe; the owner locks. No allocation after construction.
#ifndef MUWARDEN_COMMON_GUARD_SLIDING_WINDOW_H_
#define MUWARDEN_COMMON_GUARD_SLIDING_WINDOW_H_

#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/schema.h"

namespace muwarden::guard {

// Caps the ring so a mistyped limit cannot make each per-IP or per-client
// window allocate megabytes; the settings refuse larger limits.
inline constexpr int kMaxSlidingWindowLimit = 1 << 16;

struct SlidingWindowConfig {
  // Events allowed per window. 0 refuses everything; negative counts as 0;
  // values above kMaxSlidingWindowLimit count as kMaxSlidingWindowLimit.
  int limit = 10;
  absl::Duration window = absl::Seconds(10);

  // Keys `<name>_rate_limit` (1..kMaxSlidingWindowLimit: more could not be
  // counted) and `<name>_rate_window` (max_window_s) in `section`.
  void Describe(config::Schema& schema, absl::string_view section,
                absl::string_view name, absl::string_view help,
                double max_window_s = 3600);
};

// An event at time t is inside the window at `now` iff now - t < window, so
// it leaves the window exactly at t + window. Times passed in must not go
// backwards (use one monotonic clock read under the owner's lock); a time
// earlier than a recorded one is treated as inside the window.
//
// Use one of the two modes per object:
// - TryAcquire: counts allowed events only. Allowed iff fewer than `limit`
//   allowed events are inside the window; a refused attempt leaves no trace.
// - RecordAndCheck: counts every attempt. Allowed iff fewer than `limit`
//   attempts, allowed or refused, are inside the window before this one. A
//   client that keeps hammering keeps itself refused until it slows to under
//   `limit` attempts per window. The ring of the last `limit` attempt times is
//   enough to decide this exactly: the limit-th most recent attempt is the
//   oldest one in the ring.
class SlidingWindow {
 public:
  explicit SlidingWindow(const SlidingWindowConfig& config);
  SlidingWindow(SlidingWindow&&) noexcept = default;
  SlidingWindow& operator=(SlidingWindow&&) noexcept = default;

  bool TryAcquire(absl::Time now);
  bool RecordAndCheck(absl::Time now);

  // Events (TryAcquire) or attempts (RecordAndCheck) inside the window, up to
  // limit. O(limit); for tests and diagnostics.
  int CountInWindow(absl::Time now) const;
  // True when nothing recorded is inside the window any more.
  bool Idle(absl::Time now) const;
  void Reset();

  int limit() const { return limit_; }
  absl::Duration window() const { return window_; }

 private:
  // Whether fewer than limit_ recorded events are inside the window.
  bool HasRoom(int64_t now_ns) const;
  void Push(int64_t now_ns);

  int limit_;
  absl::Duration window_;
  int64_t window_ns_;
  int count_ = 0;  // recorded times in the ring, <= limit_
  int head_ = 0;   // index of the oldest recorded time
  // Monotonic nanoseconds; absl::Time is twice the size.
  std::unique_ptr<int64_t[]> ring_;
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_SLIDING_WINDOW_H_
