#include "common/guard/sliding_window.h"

#include <cmath>
#include <utility>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

SlidingWindow Window(int limit, absl::Duration window) {
  SlidingWindowConfig config;
  config.limit = limit;
  config.window = window;
  return SlidingWindow(config);
}

// Whole milliseconds, so differences are exact.
absl::Time At(double seconds) {
  return kT0 + absl::Milliseconds(std::llround(seconds * 1000));
}

TEST(SlidingWindowTest, TryAcquireEdges) {
  SlidingWindow w = Window(3, absl::Seconds(10));
  EXPECT_TRUE(w.TryAcquire(At(0)));
  EXPECT_TRUE(w.TryAcquire(At(1)));
  EXPECT_TRUE(w.TryAcquire(At(2)));
  EXPECT_FALSE(w.TryAcquire(At(3)));  // limit + 1
  EXPECT_FALSE(w.TryAcquire(At(10) - absl::Nanoseconds(1)));
  // The event at 0 leaves the window at exactly 10.
  EXPECT_TRUE(w.TryAcquire(At(10)));
  EXPECT_FALSE(w.TryAcquire(At(10)));
  EXPECT_FALSE(w.TryAcquire(At(11) - absl::Nanoseconds(1)));
  EXPECT_TRUE(w.TryAcquire(At(11)));
  EXPECT_EQ(w.CountInWindow(At(11)), 3);
}

TEST(SlidingWindowTest, TryAcquireRefusalsLeaveNoTrace) {
  SlidingWindow w = Window(2, absl::Seconds(10));
  EXPECT_TRUE(w.TryAcquire(At(0)));
  EXPECT_TRUE(w.TryAcquire(At(0)));
  for (int i = 1; i < 10; ++i) EXPECT_FALSE(w.TryAcquire(At(i)));
  EXPECT_TRUE(w.TryAcquire(At(10)));
  EXPECT_TRUE(w.TryAcquire(At(10)));
}

TEST(SlidingWindowTest, NoBoundaryBurst) {
  // A fixed 10 s bucket would allow 10 at 9.9 s and 10 more at 10.1 s.
  SlidingWindow w = Window(10, absl::Seconds(10));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(w.TryAcquire(At(9.9)));
  EXPECT_FALSE(w.TryAcquire(At(10.1)));
  EXPECT_FALSE(w.TryAcquire(At(19.8)));
  EXPECT_TRUE(w.TryAcquire(At(19.9)));
}

TEST(SlidingWindowTest, RecordAndCheckEdges) {
  SlidingWindow w = Window(3, absl::Seconds(10));
  EXPECT_TRUE(w.RecordAndCheck(At(0)));
  EXPECT_TRUE(w.RecordAndCheck(At(1)));
  EXPECT_TRUE(w.RecordAndCheck(At(2)));
  EXPECT_FALSE(w.RecordAndCheck(At(5)));  // recorded though refused
  // TryAcquire would allow here (the event at 0 left); the refused attempt at
  // 5 still counts, so attempts 1, 2, 5 fill the window.
  EXPECT_FALSE(w.RecordAndCheck(At(10)));
  // Last three attempts: 2, 5, 10. The one at 2 leaves at 12.
  EXPECT_FALSE(w.RecordAndCheck(At(12) - absl::Nanoseconds(1)));
  // Now: 5, 10, 12-1ns. The one at 5 leaves at 15.
  EXPECT_TRUE(w.RecordAndCheck(At(15)));
}

TEST(SlidingWindowTest, HammeringStaysRefused) {
  SlidingWindow w = Window(3, absl::Seconds(10));
  int allowed = 0;
  // One attempt per second for 100 s: only the first three get through.
  for (int i = 0; i < 100; ++i) allowed += w.RecordAndCheck(At(i)) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
  // Last three attempts at 97, 98, 99: allowed once 97 leaves, at 107.
  EXPECT_FALSE(w.RecordAndCheck(At(107) - absl::Nanoseconds(1)));
  SlidingWindow calm = Window(3, absl::Seconds(10));
  for (int i = 0; i < 100; ++i) calm.RecordAndCheck(At(i));
  EXPECT_TRUE(calm.RecordAndCheck(At(107)));
  // Slowing to under limit per window keeps it allowed.
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(calm.RecordAndCheck(At(110 + 4 * i))) << i;
  }
}

TEST(SlidingWindowTest, ZeroNegativeAndHugeLimits) {
  SlidingWindow zero = Window(0, absl::Seconds(1));
  EXPECT_FALSE(zero.TryAcquire(At(0)));
  EXPECT_FALSE(zero.RecordAndCheck(At(100)));
  EXPECT_EQ(zero.CountInWindow(At(100)), 0);
  EXPECT_TRUE(zero.Idle(At(100)));
  SlidingWindow negative = Window(-5, absl::Seconds(1));
  EXPECT_EQ(negative.limit(), 0);
  EXPECT_FALSE(negative.TryAcquire(At(0)));
  SlidingWindow huge = Window(1 << 30, absl::Seconds(1));
  EXPECT_EQ(huge.limit(), kMaxSlidingWindowLimit);
}

TEST(SlidingWindowTest, InfiniteWindowNeverForgets) {
  SlidingWindow w = Window(1, absl::InfiniteDuration());
  EXPECT_TRUE(w.TryAcquire(At(0)));
  EXPECT_FALSE(w.TryAcquire(At(0) + absl::Hours(100000)));
}

TEST(SlidingWindowTest, CountIdleReset) {
  SlidingWindow w = Window(4, absl::Seconds(10));
  EXPECT_TRUE(w.Idle(At(0)));
  w.RecordAndCheck(At(0));
  w.RecordAndCheck(At(4));
  EXPECT_EQ(w.CountInWindow(At(5)), 2);
  EXPECT_EQ(w.CountInWindow(At(10)), 1);
  EXPECT_FALSE(w.Idle(At(13)));
  EXPECT_TRUE(w.Idle(At(14)));
  w.Reset();
  EXPECT_EQ(w.CountInWindow(At(5)), 0);
  EXPECT_TRUE(w.Idle(At(5)));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(w.TryAcquire(At(5)));
  EXPECT_FALSE(w.TryAcquire(At(5)));
}

TEST(SlidingWindowTest, RingWrapsManyTimes) {
  SlidingWindow w = Window(5, absl::Seconds(1));
  // 5 per second exactly, for 1000 seconds: all allowed; a sixth is not.
  for (int s = 0; s < 1000; ++s) {
    for (int k = 0; k < 5; ++k) {
      ASSERT_TRUE(w.TryAcquire(At(s + 0.1 * k))) << s << " " << k;
    }
    ASSERT_FALSE(w.TryAcquire(At(s + 0.5)));
  }
  EXPECT_EQ(w.CountInWindow(At(999.5)), 5);
}

TEST(SlidingWindowTest, MovedWindowKeepsState) {
  SlidingWindow a = Window(1, absl::Seconds(10));
  EXPECT_TRUE(a.TryAcquire(At(0)));
  SlidingWindow b = std::move(a);
  EXPECT_FALSE(b.TryAcquire(At(1)));
  EXPECT_EQ(b.limit(), 1);
  EXPECT_EQ(b.window(), absl::Seconds(10));
}

}  // namespace
}  // namespace muwarden::guard
