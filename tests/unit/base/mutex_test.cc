#include "common/base/mutex.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace muwarden {
namespace {

// Waits (at most `ms`) until `flag` is set; true when it was.
bool WaitFor(const std::atomic<bool>& flag, int ms = 2000) {
  for (int i = 0; i < ms && !flag.load(); ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return flag.load();
}

TEST(SharedMutexTest, ReadersHoldTheLockTogether) {
  SharedMutex mu;
  std::atomic<bool> first_in{false}, second_in{false};
  std::thread first([&] {
    ReaderMutexLock lock(&mu);
    first_in = true;
    // Keeps its share until the second reader is in as well: with an
    // exclusive lock the second would wait until this gives up, later than
    // the test looks.
    WaitFor(second_in, 5000);
  });
  ASSERT_TRUE(WaitFor(first_in));
  std::thread second([&] {
    ReaderMutexLock lock(&mu);
    second_in = true;
  });
  EXPECT_TRUE(WaitFor(second_in));
  second.join();
  first.join();
}

TEST(SharedMutexTest, AWriterExcludesReaders) {
  SharedMutex mu;
  std::atomic<bool> reader_in{false};
  std::thread reader;
  {
    WriterMutexLock lock(&mu);
    reader = std::thread([&] {
      ReaderMutexLock read(&mu);
      reader_in = true;
    });
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_FALSE(reader_in.load());
  }
  EXPECT_TRUE(WaitFor(reader_in));
  reader.join();
}

}  // namespace
}  // namespace muwarden
