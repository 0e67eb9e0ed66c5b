// PendingWaiter over real socketpairs: readiness is the kernel's, time is a
// FakeClock, and the tests drive PollOnce themselves (or the thread with a
// deadline already due), so nothing here sleeps.
#include "common/runtime/pending_waiter.h"

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/net/socket.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

// One end of a socketpair, named; counts its destruction (the stand-in for
// the Layer-1 ticket, which must be given back exactly once).
class TestSocket final : public ParkedSocket {
 public:
  TestSocket(int name, net::UniqueFd fd, std::atomic<int>* destroyed)
      : name_(name), fd_(std::move(fd)), destroyed_(destroyed) {}
  ~TestSocket() override { destroyed_->fetch_add(1); }
  int fd() const override { return fd_.get(); }
  int name() const { return name_; }

 private:
  const int name_;
  net::UniqueFd fd_;
  std::atomic<int>* destroyed_;
};

class PendingWaiterTest : public ::testing::Test {
 protected:
  explicit PendingWaiterTest(size_t capacity = 16)
      : waiter_(
            // The thread never wakes by itself in a test's time: only events
            // and Park's wake-ups move it.
            {capacity, absl::Hours(1)}, clock_,
            [this](std::unique_ptr<ParkedSocket> s) {
              char b;
              if (::recv(s->fd(), &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
                MutexLock lock(&mu_);
                readable_.push_back(static_cast<TestSocket*>(s.get())->name());
              }
              Took(ready_, s);
            },
            [this](std::unique_ptr<ParkedSocket> s) { Took(expired_, s); }) {}

  void SetUp() override { ASSERT_TRUE(waiter_.Init().ok()); }

  // A socketpair; parks the server end as `name` with `deadline` and returns
  // the peer end. `parked` says whether the waiter took it.
  net::UniqueFd Park(int name, absl::Time deadline, bool* parked = nullptr) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           0, sv),
              0);
    server_fds_.push_back(sv[0]);
    auto back = waiter_.Park(
        std::make_unique<TestSocket>(name, net::UniqueFd(sv[0]), &destroyed_),
        deadline);
    if (parked != nullptr) *parked = back == nullptr;
    return net::UniqueFd(sv[1]);
  }

  static void SendByte(const net::UniqueFd& fd) {
    const char b = 'x';
    ASSERT_EQ(::send(fd.get(), &b, 1, MSG_NOSIGNAL), 1);
  }

  std::vector<int> Names(const std::vector<int>& v) {
    MutexLock lock(&mu_);
    return v;
  }
  std::vector<int> Ready() { return Names(ready_); }
  std::vector<int> ReadableAtHandOff() { return Names(readable_); }
  std::vector<int> Expired() { return Names(expired_); }

  void Took(std::vector<int>& into, std::unique_ptr<ParkedSocket>& s) {
    MutexLock lock(&mu_);
    into.push_back(static_cast<TestSocket*>(s.get())->name());
    // Destroyed here, as the server's handlers close what they are given.
  }

  FakeClock clock_;
  std::atomic<int> destroyed_{0};
  Mutex mu_;
  std::vector<int> ready_;
  std::vector<int> expired_;
  std::vector<int> readable_;  // ready sockets whose bytes were still unread
  std::vector<int> server_fds_;
  PendingWaiter waiter_;
};

TEST_F(PendingWaiterTest, SilentSocketStaysParkedUntilItsFirstByte) {
  const absl::Time deadline = clock_.Now() + absl::Seconds(20);
  net::UniqueFd peer = Park(1, deadline);
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 0u);
  clock_.Advance(absl::Seconds(19));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 0u);
  EXPECT_EQ(waiter_.parked(), 1u);

  SendByte(peer);
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Ready(), std::vector<int>{1});
  EXPECT_TRUE(Expired().empty());
  EXPECT_EQ(waiter_.parked(), 0u);
  EXPECT_EQ(destroyed_.load(), 1);
  // Gone from the list: its deadline passing later hands out nothing.
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 0u);
}

TEST_F(PendingWaiterTest, TheBytesAreLeftForTheOwner) {
  net::UniqueFd peer = Park(1, clock_.Now() + absl::Seconds(20));
  SendByte(peer);
  ASSERT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  // The handler found the byte still unread on the socket.
  EXPECT_EQ(ReadableAtHandOff(), std::vector<int>{1});
}

TEST_F(PendingWaiterTest, PeerHangupIsHandedOutLikeBytes) {
  net::UniqueFd peer = Park(1, clock_.Now() + absl::Seconds(20));
  peer.Reset();
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Ready(), std::vector<int>{1});
}

TEST_F(PendingWaiterTest, ShutdownFromAnotherThreadIsNoticedAndReleasedOnce) {
  // Eviction, kick and Stop close a socket with shutdown() from another
  // thread, which may not touch the waiter.
  net::UniqueFd peer1 = Park(1, clock_.Now() + absl::Seconds(20));
  net::UniqueFd peer2 = Park(2, clock_.Now() + absl::Seconds(20));
  const int victim = server_fds_[1];
  std::thread([victim] { ::shutdown(victim, SHUT_RDWR); }).join();
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Ready(), std::vector<int>{2});
  EXPECT_EQ(destroyed_.load(), 1);
  // Reported once: nothing more comes of it, at its deadline either.
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Ready(), std::vector<int>{2});
  EXPECT_EQ(Expired(), std::vector<int>{1});
  EXPECT_EQ(destroyed_.load(), 2);
}

TEST_F(PendingWaiterTest, DeadlinesExpireExactlyInAcceptOrder) {
  const absl::Time t0 = clock_.Now();
  std::vector<net::UniqueFd> peers;
  for (int i = 0; i < 5; ++i) {
    peers.push_back(Park(i, t0 + absl::Seconds(20) + absl::Seconds(i)));
  }
  clock_.Advance(absl::Seconds(20) - absl::Nanoseconds(1));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 0u);
  clock_.Advance(absl::Nanoseconds(1) + absl::Seconds(2));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 3u);
  EXPECT_EQ(Expired(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(waiter_.parked(), 2u);
  EXPECT_EQ(waiter_.expired_total(), 3u);
  EXPECT_EQ(destroyed_.load(), 3);
  // The ones left are still watched.
  SendByte(peers[4]);
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Ready(), std::vector<int>{4});
}

TEST_F(PendingWaiterTest, AnEarlierDeadlineParkedLaterStillGoesFirst) {
  const absl::Time t0 = clock_.Now();
  net::UniqueFd a = Park(1, t0 + absl::Seconds(20));
  net::UniqueFd b = Park(2, t0 + absl::Seconds(5));
  net::UniqueFd c = Park(3, t0 + absl::Seconds(10));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 2u);
  EXPECT_EQ(Expired(), (std::vector<int>{2, 3}));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  EXPECT_EQ(Expired(), (std::vector<int>{2, 3, 1}));
}

TEST_F(PendingWaiterTest, SlotsAreReusedAndAStaleSlotIsNotConfused) {
  // Park, hand out, park again many times through the same few slots: each
  // socket is reported for itself only.
  for (int round = 0; round < 50; ++round) {
    net::UniqueFd quiet = Park(1000 + round, clock_.Now() + absl::Hours(1));
    net::UniqueFd loud = Park(round, clock_.Now() + absl::Hours(1));
    SendByte(loud);
    ASSERT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u) << round;
    ASSERT_EQ(Ready().back(), round);
    quiet.Reset();
    ASSERT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u) << round;
    ASSERT_EQ(Ready().back(), 1000 + round);
  }
  EXPECT_EQ(waiter_.parked(), 0u);
  EXPECT_EQ(destroyed_.load(), 100);
}

class SmallPendingWaiterTest : public PendingWaiterTest {
 protected:
  SmallPendingWaiterTest() : PendingWaiterTest(2) {}
};

TEST_F(SmallPendingWaiterTest, HoldsAtMostItsCapacity) {
  bool parked = false;
  net::UniqueFd a = Park(1, clock_.Now() + absl::Seconds(20), &parked);
  EXPECT_TRUE(parked);
  net::UniqueFd b = Park(2, clock_.Now() + absl::Seconds(20), &parked);
  EXPECT_TRUE(parked);
  net::UniqueFd c = Park(3, clock_.Now() + absl::Seconds(20), &parked);
  EXPECT_FALSE(parked);  // given back to the caller (and destroyed here)
  EXPECT_EQ(waiter_.parked(), 2u);
  EXPECT_EQ(waiter_.park_refused(), 1u);
  EXPECT_EQ(destroyed_.load(), 1);
  // A slot that frees takes the next one.
  a.Reset();
  EXPECT_EQ(waiter_.PollOnce(absl::ZeroDuration()), 1u);
  net::UniqueFd d = Park(4, clock_.Now() + absl::Seconds(20), &parked);
  EXPECT_TRUE(parked);
}

TEST_F(PendingWaiterTest, StopGivesBackWhatIsParkedAndRefusesMore) {
  net::UniqueFd a = Park(1, clock_.Now() + absl::Seconds(20));
  net::UniqueFd b = Park(2, clock_.Now() + absl::Seconds(20));
  std::vector<std::unique_ptr<ParkedSocket>> left = waiter_.Stop();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(static_cast<TestSocket*>(left[0].get())->name(), 1);
  EXPECT_EQ(waiter_.parked(), 0u);
  bool parked = true;
  net::UniqueFd c = Park(3, clock_.Now() + absl::Seconds(20), &parked);
  EXPECT_FALSE(parked);
  EXPECT_TRUE(waiter_.Stop().empty());  // idempotent
  left.clear();
  EXPECT_EQ(destroyed_.load(), 3);
}

TEST_F(PendingWaiterTest, TheThreadWakesForANewEarliestDeadline) {
  // The thread sleeps with nothing parked (for an hour); a socket whose
  // deadline is already due must wake it. Time does not move: only the wake-up
  // can make this pass.
  waiter_.Start();
  net::UniqueFd peer = Park(1, clock_.Now());
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (Expired().empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(Expired(), std::vector<int>{1});
  // And it serves readiness on its own.
  net::UniqueFd peer2 = Park(2, clock_.Now() + absl::Hours(1));
  SendByte(peer2);
  while (Ready().empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(Ready(), std::vector<int>{2});
  EXPECT_TRUE(waiter_.Stop().empty());
}

}  // namespace
}  // namespace muwarden::runtime
