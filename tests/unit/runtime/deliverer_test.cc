#include "common/runtime/deliverer.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "common/base/clock.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

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
  // Waits (with a deadline, no sleep) until the peer can read.
  bool WaitReadable(int timeout_ms) {
    pollfd p{fd[1], POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }
  int fd[2] = {-1, -1};
};

class DelivererTest : public ::testing::Test {
 protected:
  std::shared_ptr<OutboundQueue> Attached(SocketPair& pair) {
    auto q =
        std::make_shared<OutboundQueue>(OutboundQueueConfig{16, 1024}, clock_);
    q->AttachSocket(pair.fd[0]);
    return q;
  }
  FakeClock clock_;
};

TEST_F(DelivererTest, ARoundSendsEachNamedQueueOnceWithAllItsPackets) {
  SocketPair pa, pb;
  auto a = Attached(pa), b = Attached(pb);
  Deliverer d;
  const uint8_t m1[] = {1, 2}, m2[] = {3}, m3[] = {4};
  ASSERT_TRUE(a->Stage(m1));
  d.Add({a, b});
  ASSERT_TRUE(a->Stage(m2));  // staged after it was named: same round
  ASSERT_TRUE(b->Stage(m3));
  d.Add({a});                      // named twice: still one flush
  EXPECT_TRUE(pa.Read().empty());  // nothing sent before the round
  EXPECT_EQ(d.RunOnce(), 2u);
  EXPECT_EQ(pa.Read(), std::vector<uint8_t>({1, 2, 3}));
  EXPECT_EQ(pb.Read(), std::vector<uint8_t>({4}));
  EXPECT_EQ(d.rounds(), 1u);
  EXPECT_EQ(d.flushes(), 2u);
  EXPECT_EQ(a->wakes(), 0u);   // no wake-up of the owners
  EXPECT_EQ(d.RunOnce(), 0u);  // nothing named since
  EXPECT_EQ(d.rounds(), 1u);
}

TEST_F(DelivererTest, AClosedQueueIsSkipped) {
  SocketPair pa;
  auto a = Attached(pa);
  Deliverer d;
  const uint8_t m[] = {7};
  ASSERT_TRUE(a->Stage(m));
  d.Add({a});
  a->Close();
  EXPECT_EQ(d.RunOnce(), 1u);
  EXPECT_TRUE(pa.Read().empty());
}

TEST_F(DelivererTest, AFullSocketIsLeftToItsOwnerAndDelaysNobody) {
  SocketPair stalled, other;
  // The stalled peer never reads: fill its socket until a send would block.
  std::vector<uint8_t> chunk(4096, 0xAA);
  while (::send(stalled.fd[0], chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
  }
  while (::send(stalled.fd[0], chunk.data(), 1, MSG_DONTWAIT) > 0) {
  }
  auto s = Attached(stalled), o = Attached(other);
  Deliverer d;
  const uint8_t m[] = {5, 6};
  ASSERT_TRUE(s->Stage(m));
  ASSERT_TRUE(o->Stage(m));
  d.Add({s, o});
  EXPECT_EQ(d.RunOnce(), 2u);  // returns: nothing waits on the full socket
  EXPECT_EQ(other.Read(), std::vector<uint8_t>({5, 6}));
  EXPECT_EQ(s->wakes(), 1u);  // its owner finishes it under its deadline
  std::vector<uint8_t> rest;
  EXPECT_EQ(s->TakeBytes(&rest), 1u);
  EXPECT_EQ(rest, std::vector<uint8_t>({5, 6}));
}

TEST_F(DelivererTest, TheThreadDeliversAndStopDeliversWhatIsLeft) {
  SocketPair pa;
  auto a = Attached(pa);
  Deliverer d;
  d.Start();
  const uint8_t m1[] = {1};
  ASSERT_TRUE(a->Stage(m1));
  d.Add({a});
  ASSERT_TRUE(pa.WaitReadable(5000));
  EXPECT_EQ(pa.Read(), std::vector<uint8_t>({1}));
  d.Stop();
  const uint8_t m2[] = {2};
  ASSERT_TRUE(a->Stage(m2));
  d.Add({a});
  d.Stop();  // idempotent; a stopped deliverer delivers in the caller
  EXPECT_EQ(pa.Read(), std::vector<uint8_t>({2}));
}

}  // namespace
}  // namespace muwarden::runtime
