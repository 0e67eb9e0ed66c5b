// Clock: the one source of time for every time-dependent unit.
// Now() is monotonic (for windows and deadlines), WallNow() is UTC (for ban
// expiry and logs). RealClock is thread-safe; FakeClock is thread-safe and only
// moves when Advance() is called.
#ifndef MUWARDEN_COMMON_BASE_CLOCK_H_
#define MUWARDEN_COMMON_BASE_CLOCK_H_

#include <atomic>

#include "absl/time/time.h"

namespace muwarden {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time; only differences are meaningful.
  virtual absl::Time Now() const = 0;
  // Wall-clock UTC time.
  virtual absl::Time WallNow() const = 0;

  // The process-wide real clock.
  static Clock& Real();
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
  absl::Time WallNow() const override;
};

// Starts at a fixed wall time (2026-01-01T00:00:00Z) and a monotonic origin of
// the Unix epoch.
class FakeClock final : public Clock {
 public:
  FakeClock();
  absl::Time Now() const override;
  absl::Time WallNow() const override;
  void Advance(absl::Duration d);
  void SetWallNow(absl::Time t);

 private:
  std::atomic<int64_t> mono_ns_{0};
  std::atomic<int64_t> wall_offset_ns_;
};

}  // namespace muwarden

#endif  // MUWARDEN_COMMON_BASE_CLOCK_H_
