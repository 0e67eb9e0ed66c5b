#include "common/runtime/worker_pool.h"

#include <atomic>

#include "absl/time/clock.h"
#include "common/base/mutex.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

// Waits (bounded) until `condition` holds.
template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return condition();
}

TEST(WorkerPoolTest, IdleWorkersAreReused) {
  WorkerPool pool({256 * 1024, 64 * 1024, 8});
  std::atomic<int> ran{0};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pool.Submit([&ran](Arena& arena) {
      EXPECT_EQ(arena.used(), 0u);  // reset between connections
      EXPECT_FALSE(arena.Allocate(1024).empty());
      ran.fetch_add(1);
    }));
    ASSERT_TRUE(Eventually([&] { return pool.busy() == 0; }));
  }
  EXPECT_EQ(ran.load(), 20);
  EXPECT_EQ(pool.threads(), 1u);  // one thread served all, one after the other
}

TEST(WorkerPoolTest, NewThreadOnlyWhenNoneIdleAndCappedAtMax) {
  WorkerPool pool({256 * 1024, 16 * 1024, 3});
  Mutex mu;
  CondVar cv;
  bool release = false;
  auto blocker = [&](Arena&) {
    MutexLock lock(&mu);
    while (!release) cv.Wait(&mu);
  };
  ASSERT_TRUE(pool.Submit(blocker));
  ASSERT_TRUE(pool.Submit(blocker));
  ASSERT_TRUE(pool.Submit(blocker));
  EXPECT_EQ(pool.threads(), 3u);
  EXPECT_FALSE(
      pool.Submit([](Arena&) {}));  // all three busy: refused, not queued
  {
    MutexLock lock(&mu);
    release = true;
    cv.SignalAll();
  }
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 3; }));
  EXPECT_TRUE(pool.Submit([](Arena&) {}));
  EXPECT_EQ(pool.threads(), 3u);
}

TEST(WorkerPoolTest, ShutdownWaitsForRunningJobsAndRefusesNewOnes) {
  WorkerPool pool({256 * 1024, 16 * 1024, 4});
  std::atomic<bool> finished{false};
  ASSERT_TRUE(pool.Submit([&](Arena&) {
    absl::SleepFor(absl::Milliseconds(50));
    finished.store(true);
  }));
  pool.Shutdown();
  EXPECT_TRUE(finished.load());
  EXPECT_FALSE(pool.Submit([](Arena&) {}));
}

}  // namespace
}  // namespace muwarden::runtime
