#include "common/base/clock.h"

#include <time.h>

#include "absl/time/clock.h"

namespace muwarden {

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

absl::Time RealClock::Now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::TimeFromTimespec(ts);
}

absl::Time RealClock::WallNow() const { return absl::Now(); }

FakeClock::FakeClock()
    : wall_offset_ns_(absl::ToUnixNanos(absl::FromCivil(
          absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone()))) {}

absl::Time FakeClock::Now() const {
  return absl::FromUnixNanos(mono_ns_.load(std::memory_order_acquire));
}

absl::Time FakeClock::WallNow() const {
  return absl::FromUnixNanos(wall_offset_ns_.load(std::memory_order_acquire) +
                             mono_ns_.load(std::memory_order_acquire));
}

void FakeClock::Advance(absl::Duration d) {
  mono_ns_.fetch_add(absl::ToInt64Nanoseconds(d), std::memory_order_acq_rel);
}

void FakeClock::SetWallNow(absl::Time t) {
  wall_offset_ns_.store(
      absl::ToUnixNanos(t) - mono_ns_.load(std::memory_order_acquire),
      std::memory_order_release);
}

}  // namespace muwarden
