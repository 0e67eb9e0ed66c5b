#include "common/runtime/outbound_queue.h"

#include <poll.h>

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(OutboundQueueTest, PushWakesTheOwnerAndKeepsOrder) {
  FakeClock clock;
  OutboundQueue q({4, 1024}, clock);
  EXPECT_FALSE(Readable(q.wake_fd()));
  const uint8_t a[] = {1, 2};
  const uint8_t b[] = {3};
  ASSERT_TRUE(q.Push(a));
  ASSERT_TRUE(q.Push(b));
  EXPECT_TRUE(Readable(q.wake_fd()));
  auto all = q.TakeAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], std::vector<uint8_t>({1, 2}));
  EXPECT_EQ(all[1], std::vector<uint8_t>({3}));
  EXPECT_FALSE(Readable(q.wake_fd()));
}

TEST(OutboundQueueTest, FullQueueDropsAndRemembersSince) {
  FakeClock clock;
  OutboundQueue q({2, 1024}, clock);
  const uint8_t m[] = {9};
  ASSERT_TRUE(q.Push(m));
  ASSERT_TRUE(q.Push(m));
  EXPECT_FALSE(q.full_since().has_value());
  const absl::Time full_at = clock.Now();
  EXPECT_FALSE(q.Push(m));
  clock.Advance(absl::Seconds(3));
  EXPECT_FALSE(q.Push(m));
  ASSERT_TRUE(q.full_since().has_value());
  EXPECT_EQ(*q.full_since(), full_at);  // the first failure, not the last
  EXPECT_EQ(q.dropped(), 2u);
  q.TakeAll();
  EXPECT_FALSE(q.full_since().has_value());
  EXPECT_TRUE(q.Push(m));
}

TEST(OutboundQueueTest, ByteCapAndClose) {
  FakeClock clock;
  OutboundQueue q({100, 8}, clock);
  std::vector<uint8_t> five(5, 1);
  ASSERT_TRUE(q.Push(five));
  EXPECT_FALSE(q.Push(five));  // 10 bytes > 8
  std::vector<uint8_t> nine(9, 1);
  q.TakeAll();
  EXPECT_FALSE(q.Push(nine));  // larger than the whole queue
  q.Close();
  EXPECT_FALSE(q.Push(five));
}

TEST(OutboundQueueTest, KickIsSeenByTheOwner) {
  FakeClock clock;
  OutboundQueue q({}, clock);
  EXPECT_FALSE(q.kicked());
  q.Kick();
  EXPECT_TRUE(q.kicked());
  EXPECT_TRUE(Readable(q.wake_fd()));
}

TEST(OutboundQueueTest,
     ConcurrentPushersNeverBlockAndNothingIsLostBelowTheCap) {
  FakeClock clock;
  OutboundQueue q({100000, 1 << 20}, clock);
  std::vector<std::thread> pushers;
  for (int t = 0; t < 4; ++t) {
    pushers.emplace_back([&q, t] {
      for (int i = 0; i < 1000; ++i) {
        const uint8_t m[] = {static_cast<uint8_t>(t)};
        ASSERT_TRUE(q.Push(m));
      }
    });
  }
  size_t taken = 0;
  for (int spins = 0; spins < 100000 && taken < 4000; ++spins)
    taken += q.TakeAll().size();
  for (auto& p : pushers) p.join();
  taken += q.TakeAll().size();
  EXPECT_EQ(taken, 4000u);
}

}  // namespace
}  // namespace muwarden::runtime
