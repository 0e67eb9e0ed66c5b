#include "common/guard/sliding_window.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace muwarden::guard {
namespace {

int ClampLimit(int limit) {
  return std::clamp(limit, 0, kMaxSlidingWindowLimit);
}

}  // namespace

SlidingWindow::SlidingWindow(const SlidingWindowConfig& config)
    : limit_(ClampLimit(config.limit)),
      window_(config.window),
      window_ns_(absl::ToInt64Nanoseconds(config.window)),
      ring_(limit_ > 0
                ? std::make_unique<int64_t[]>(static_cast<size_t>(limit_))
                : nullptr) {}

bool SlidingWindow::HasRoom(int64_t now_ns) const {
  if (count_ < limit_) return true;
  if (limit_ == 0) return false;
  // Saturating: a window of InfiniteDuration() is INT64_MAX ns.
  return now_ns - ring_[head_] >= window_ns_;
}

void SlidingWindow::Push(int64_t now_ns) {
  if (limit_ == 0) return;
  if (count_ < limit_) {
    ring_[(head_ + count_) % limit_] = now_ns;
    ++count_;
  } else {
    ring_[head_] = now_ns;
    head_ = head_ + 1 == limit_ ? 0 : head_ + 1;
  }
}

bool SlidingWindow::TryAcquire(absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  if (!HasRoom(now_ns)) return false;
  Push(now_ns);
  return true;
}

bool SlidingWindow::RecordAndCheck(absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  const bool allowed = HasRoom(now_ns);
  Push(now_ns);
  return allowed;
}

int SlidingWindow::CountInWindow(absl::Time now) const {
  const int64_t now_ns = absl::ToUnixNanos(now);
  int n = 0;
  for (int i = 0; i < count_; ++i) {
    if (now_ns - ring_[(head_ + i) % limit_] < window_ns_) ++n;
  }
  return n;
}

bool SlidingWindow::Idle(absl::Time now) const {
  if (count_ == 0) return true;
  // The newest recorded time is the last one pushed.
  const int newest = (head_ + count_ - 1) % limit_;
  return absl::ToUnixNanos(now) - ring_[newest] >= window_ns_;
}

void SlidingWindow::Reset() {
  count_ = 0;
  head_ = 0;
}

void SlidingWindowConfig::Describe(config::Schema& s, absl::string_view section,
                                   absl::string_view name,
                                   absl::string_view help,
                                   double max_window_s) {
  const std::string limit_key = absl::StrCat(name, "_rate_limit");
  s.Integer(section, limit_key, &limit, 1, kMaxSlidingWindowLimit, help);
  s.Seconds(section, absl::StrCat(name, "_rate_window"), &window, 0.1,
            max_window_s, absl::StrCat("sliding window of ", limit_key));
}

}  // namespace muwarden::guard
