#include "common/runtime/outbound_queue.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST(OutboundQueueTest, OnlyTheFirstPushAfterATakeWakesTheOwner) {
  FakeClock clock;
  OutboundQueue q({16, 1024}, clock);
  const uint8_t a[] = {1, 2};
  const uint8_t b[] = {3};
  const uint8_t c[] = {4, 5, 6};
  ASSERT_TRUE(q.Push(a));
  ASSERT_TRUE(q.Push(b));
  ASSERT_TRUE(q.Push(c));
  EXPECT_EQ(q.wakes(), 1u);  // one eventfd write for three messages
  EXPECT_TRUE(Readable(q.wake_fd()));
  std::vector<uint8_t> out;
  EXPECT_EQ(q.TakeBytes(&out), 3u);
  // Back to back, in order: one send hands them all to the kernel.
  EXPECT_EQ(out, std::vector<uint8_t>({1, 2, 3, 4, 5, 6}));
  EXPECT_FALSE(Readable(q.wake_fd()));
  // Nothing queued: no wake-up pending, and taking again finds nothing.
  out.clear();
  EXPECT_EQ(q.TakeBytes(&out), 0u);
  EXPECT_TRUE(out.empty());
  // The next push after a take signals again.
  ASSERT_TRUE(q.Push(b));
  EXPECT_EQ(q.wakes(), 2u);
  EXPECT_TRUE(Readable(q.wake_fd()));
  out = {9};  // appended to what the caller already holds
  EXPECT_EQ(q.TakeBytes(&out), 1u);
  EXPECT_EQ(out, std::vector<uint8_t>({9, 3}));
}

TEST(OutboundQueueTest, TakeBytesFreesRoomAndClearsFullSince) {
  FakeClock clock;
  OutboundQueue q({2, 1024}, clock);
  const uint8_t m[] = {7};
  ASSERT_TRUE(q.Push(m));
  ASSERT_TRUE(q.Push(m));
  EXPECT_FALSE(q.Push(m));
  EXPECT_TRUE(q.full_since().has_value());
  std::vector<uint8_t> out;
  EXPECT_EQ(q.TakeBytes(&out), 2u);
  EXPECT_FALSE(q.full_since().has_value());
  EXPECT_TRUE(q.Push(m));
  EXPECT_TRUE(q.Push(m));
  EXPECT_EQ(q.dropped(), 1u);
}

TEST(OutboundQueueTest, KickWakesEvenWhenAPushAlreadyDid) {
  FakeClock clock;
  OutboundQueue q({}, clock);
  const uint8_t m[] = {1};
  ASSERT_TRUE(q.Push(m));
  q.Kick();
  EXPECT_EQ(q.wakes(), 2u);
  EXPECT_TRUE(q.kicked());
}

TEST(OutboundQueueTest,
     ConcurrentPushersAndATakerNeverLoseAWakeUpOrAByte) {
  FakeClock clock;
  OutboundQueue q({100000, 1 << 20}, clock);
  constexpr int kPushers = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> pushers;
  for (int t = 0; t < kPushers; ++t) {
    pushers.emplace_back([&q, t] {
      for (int i = 0; i < kEach; ++i) {
        const uint8_t m[] = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
        ASSERT_TRUE(q.Push(m));
      }
    });
  }
  // The owner's loop: wait for the wake-up, then take. Whenever something is
  // queued the eventfd must be readable, or the owner would sleep on it.
  std::vector<uint8_t> out;
  size_t taken = 0;
  std::vector<int> next(kPushers, 0);
  // A lost wake-up shows as the eventfd staying quiet with bytes queued: 50
  // quiet waits of 100 ms in a row end the loop and fail the count below.
  int quiet = 0;
  for (int rounds = 0;
       rounds < 1000000 && quiet < 50 && taken < kPushers * kEach; ++rounds) {
    pollfd p{q.wake_fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) {
      ++quiet;
      continue;
    }
    quiet = 0;
    out.clear();
    taken += q.TakeBytes(&out);
    ASSERT_EQ(out.size() % 2, 0u);
    for (size_t k = 0; k < out.size(); k += 2) {
      // Each pusher's messages arrive whole and in its order.
      ASSERT_EQ(out[k + 1], static_cast<uint8_t>(next[out[k]]));
      ++next[out[k]];
    }
  }
  for (auto& p : pushers) p.join();
  EXPECT_EQ(taken, static_cast<size_t>(kPushers * kEach));
}

// A connected pair of non-blocking unix sockets: [0] the queue writes to, [1]
// the peer reads.
struct SocketPair {
  SocketPair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
  }
  ~SocketPair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  std::vector<uint8_t> Read() {
    std::vector<uint8_t> out;
    uint8_t buf[4096];
    ssize_t n;
    while ((n = ::recv(fd[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }
  int fd[2] = {-1, -1};
};

TEST(OutboundQueueTest, StagedMessagesAreFlushedByTheCallerWithoutAWakeUp) {
  FakeClock clock;
  SocketPair pair;
  OutboundQueue q({16, 1024}, clock);
  q.AttachSocket(pair.fd[0]);
  const uint8_t a[] = {1, 2};
  const uint8_t b[] = {3};
  ASSERT_TRUE(q.Stage(a));
  ASSERT_TRUE(q.Stage(b));
  EXPECT_EQ(q.wakes(), 0u);
  EXPECT_FALSE(Readable(q.wake_fd()));
  q.Flush();
  EXPECT_EQ(pair.Read(), std::vector<uint8_t>({1, 2, 3}));
  EXPECT_EQ(q.flushed_bytes(), 3u);
  EXPECT_EQ(q.wakes(), 0u);
  std::vector<uint8_t> out;
  EXPECT_EQ(q.TakeBytes(&out), 0u);  // nothing left for the owner
}

TEST(OutboundQueueTest, StageWithoutASocketWakesTheOwnerLikePush) {
  FakeClock clock;
  OutboundQueue q({16, 1024}, clock);
  const uint8_t a[] = {1};
  ASSERT_TRUE(q.Stage(a));
  q.Flush();  // no socket: nothing to do
  EXPECT_EQ(q.wakes(), 1u);
  EXPECT_TRUE(Readable(q.wake_fd()));
  EXPECT_EQ(q.TakeAll().size(), 1u);
}

TEST(OutboundQueueTest, WhatTheKernelDoesNotTakeIsLeftInOrderToTheOwner) {
  FakeClock clock;
  SocketPair pair;
  int small = 4096;
  ::setsockopt(pair.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  OutboundQueue q({100000, 1 << 20}, clock);
  q.AttachSocket(pair.fd[0]);
  // Far more than the socket holds, in numbered 100-byte messages.
  std::vector<uint8_t> expected;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> m(100, static_cast<uint8_t>(i));
    expected.insert(expected.end(), m.begin(), m.end());
    ASSERT_TRUE(q.Stage(m));
    q.Flush();
  }
  // The socket filled: the owner was woken once for the rest, and flushes
  // leave the rest alone until he took it.
  EXPECT_EQ(q.wakes(), 1u);
  EXPECT_TRUE(Readable(q.wake_fd()));
  std::vector<uint8_t> got = pair.Read();
  ASSERT_LT(got.size(), expected.size());
  EXPECT_EQ(q.flushed_bytes(), got.size());
  std::vector<uint8_t> rest;
  EXPECT_GT(q.TakeBytes(&rest), 0u);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, expected);  // nothing lost, nothing reordered
  // Once the owner took over, flushing resumes.
  const uint8_t next[] = {7};
  ASSERT_TRUE(q.Stage(next));
  q.Flush();
  EXPECT_EQ(pair.Read(), std::vector<uint8_t>({7}));
}

TEST(OutboundQueueTest, FlushLeavesTheSocketToWhoeverHoldsTheWriter) {
  FakeClock clock;
  SocketPair pair;
  OutboundQueue q({16, 1024}, clock);
  q.AttachSocket(pair.fd[0]);
  const uint8_t a[] = {5};
  q.writer().Lock();  // the owner is sending
  ASSERT_TRUE(q.Stage(a));
  q.Flush();
  EXPECT_TRUE(pair.Read().empty());
  q.writer().Unlock();
  q.Flush();  // what the owner does after letting it go
  EXPECT_EQ(pair.Read(), std::vector<uint8_t>({5}));
}

TEST(OutboundQueueTest, AfterCloseNothingIsWrittenToTheSocket) {
  FakeClock clock;
  SocketPair pair;
  OutboundQueue q({16, 1024}, clock);
  q.AttachSocket(pair.fd[0]);
  const uint8_t a[] = {5};
  ASSERT_TRUE(q.Stage(a));
  q.Close();
  q.Flush();
  EXPECT_TRUE(pair.Read().empty());
  EXPECT_FALSE(q.Stage(a));
}

}  // namespace
}  // namespace muwarden::runtime
