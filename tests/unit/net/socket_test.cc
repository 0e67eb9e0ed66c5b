#include "common/net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/net/poller.h"
#include "gtest/gtest.h"
#include "tests/support/loopback.h"

namespace muwarden::net {
namespace {

bool IsNonBlocking(int fd) {
  return (::fcntl(fd, F_GETFL, 0) & O_NONBLOCK) != 0;
}

bool Ipv6LoopbackAvailable() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

using ::muwarden::testing::ConnectV4;

std::pair<UniqueFd, UniqueFd> SocketPair() {
  int sv[2];
  EXPECT_EQ(
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
      0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

// Never ready: time jumps to the deadline, as if the peer never drained.
class DeadlinePoller final : public Poller {
 public:
  explicit DeadlinePoller(FakeClock& clock) : clock_(clock) {}
  absl::StatusOr<Readiness> Wait(int, short, int,
                                 absl::Time deadline) override {
    ++waits;
    if (deadline > clock_.Now()) clock_.Advance(deadline - clock_.Now());
    return Readiness{};
  }
  int waits = 0;

 private:
  FakeClock& clock_;
};

TEST(UniqueFdTest, ClosesOnceAndReleases) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  {
    UniqueFd a(sv[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), sv[0]);
  }
  EXPECT_EQ(::fcntl(sv[0], F_GETFD), -1);  // closed by b
  UniqueFd c(sv[1]);
  const int raw = c.Release();
  EXPECT_FALSE(c.valid());
  EXPECT_NE(::fcntl(raw, F_GETFD), -1);  // still open: released, not closed
  ::close(raw);
}

TEST(ListenTest, Ipv4LoopbackOnAnyPortAcceptsConnections) {
  auto fd = Listen("127.0.0.1", 0, 16);
  ASSERT_TRUE(fd.ok()) << fd.status();
  const int port = LocalPort(fd->get());
  EXPECT_GT(port, 0);
  EXPECT_TRUE(IsNonBlocking(fd->get()));
  UniqueFd client = ConnectV4(port);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  UniqueFd accepted(
      ::accept4(fd->get(), reinterpret_cast<sockaddr*>(&addr), &len, 0));
  ASSERT_TRUE(accepted.valid()) << std::strerror(errno);
  EXPECT_EQ(IpToString(addr), "127.0.0.1");
}

TEST(ListenTest, Ipv6LoopbackIfAvailable) {
  if (!Ipv6LoopbackAvailable()) GTEST_SKIP() << "no ::1 on this host";
  auto fd = Listen("::1", 0, 16);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_GT(LocalPort(fd->get()), 0);
}

TEST(ListenTest, NotAnAddressIsInvalidArgument) {
  auto fd = Listen("localhost", 0, 16);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fd.status().message(), "not an IPv4 or IPv6 address: localhost");
}

TEST(ListenTest, BindFailureNamesTheAddressAndErrno) {
  // TEST-NET-1 is never a local address.
  auto fd = Listen("192.0.2.1", 7000, 16);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fd.status().message(), absl::StrCat("cannot bind 192.0.2.1:7000: ",
                                                std::strerror(EADDRNOTAVAIL)));
}

TEST(ListenTest, PortInUseNamesTheAddressAndErrno) {
  auto first = Listen("127.0.0.1", 0, 16);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = LocalPort(first->get());
  auto second = Listen("127.0.0.1", port, 16);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot bind 127.0.0.1:", port, ": ",
                         std::strerror(EADDRINUSE)));
}

TEST(ListenTest, Ipv6AddressIsBracketedInErrors) {
  if (!Ipv6LoopbackAvailable()) GTEST_SKIP() << "no IPv6 on this host";
  auto fd = Listen("2001:db8::1", 7000, 16);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(fd.status().message(),
                               "cannot bind [2001:db8::1]:7000: "))
      << fd.status();
}

TEST(SocketTest, SetBlockingAndNonBlocking) {
  auto [a, b] = SocketPair();
  EXPECT_TRUE(IsNonBlocking(a.get()));
  ASSERT_TRUE(SetBlocking(a.get()).ok());
  EXPECT_FALSE(IsNonBlocking(a.get()));
  ASSERT_TRUE(SetNonBlocking(a.get()).ok());
  EXPECT_TRUE(IsNonBlocking(a.get()));
  EXPECT_EQ(SetBlocking(-1).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(SetNonBlocking(-1).code(), absl::StatusCode::kInternal);
}

TEST(SocketTest, LocalPortOfABadDescriptorIsMinusOne) {
  EXPECT_EQ(LocalPort(-1), -1);
}

TEST(SocketTest, IpToStringPrintsMappedAddressesAsIpv4) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  v4->sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "203.0.113.7", &v4->sin_addr), 1);
  EXPECT_EQ(IpToString(s), "203.0.113.7");

  s = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  v6->sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::7", &v6->sin6_addr), 1);
  EXPECT_EQ(IpToString(s), "2001:db8::7");
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.51.100.1", &v6->sin6_addr), 1);
  EXPECT_EQ(IpToString(s), "198.51.100.1");

  s = {};
  s.ss_family = AF_UNIX;
  EXPECT_EQ(IpToString(s), "unknown");
}

TEST(SocketTest, RecvSomeStates) {
  auto [a, b] = SocketPair();
  uint8_t buf[8];
  EXPECT_EQ(RecvSome(a.get(), absl::MakeSpan(buf)).state, IoState::kWouldBlock);
  ASSERT_EQ(::send(b.get(), "abc", 3, MSG_NOSIGNAL), 3);
  IoResult r = RecvSome(a.get(), absl::MakeSpan(buf));
  EXPECT_EQ(r.state, IoState::kOk);
  EXPECT_EQ(r.bytes, 3u);
  EXPECT_EQ(std::memcmp(buf, "abc", 3), 0);
  b.Reset();
  EXPECT_EQ(RecvSome(a.get(), absl::MakeSpan(buf)).state, IoState::kClosed);
  IoResult bad = RecvSome(-1, absl::MakeSpan(buf));
  EXPECT_EQ(bad.state, IoState::kError);
  EXPECT_EQ(bad.error, EBADF);
}

TEST(SendAllTest, SendsEverything) {
  auto [a, b] = SocketPair();
  FakeClock clock;
  DeadlinePoller poller(clock);
  const std::vector<uint8_t> data = {1, 2, 3, 4};
  EXPECT_TRUE(
      SendAll(a.get(), data, clock.Now() + absl::Seconds(1), clock, poller)
          .ok());
  uint8_t buf[4];
  EXPECT_EQ(::recv(b.get(), buf, sizeof(buf), 0), 4);
  EXPECT_EQ(poller.waits, 0);
}

TEST(SendAllTest, PeerThatNeverDrainsHitsTheDeadline) {
  auto [a, b] = SocketPair();
  FakeClock clock;
  DeadlinePoller poller(clock);
  const absl::Time start = clock.Now();
  const std::vector<uint8_t> data(4 * 1024 * 1024, 0x55);
  absl::Status status =
      SendAll(a.get(), data, start + absl::Seconds(15), clock, poller);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(clock.Now(), start + absl::Seconds(15));
  EXPECT_EQ(poller.waits, 1);
}

TEST(SendAllTest, GonePeerIsUnavailableWithoutSigpipe) {
  auto [a, b] = SocketPair();
  b.Reset();
  FakeClock clock;
  DeadlinePoller poller(clock);
  const std::vector<uint8_t> data = {1};
  absl::Status status =
      SendAll(a.get(), data, clock.Now() + absl::Seconds(1), clock, poller);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), absl::StrCat("send: ", std::strerror(EPIPE)));
}

TEST(PollTimeoutMsTest, RoundsUpAndClamps) {
  const absl::Time now = absl::UnixEpoch() + absl::Seconds(100);
  EXPECT_EQ(PollTimeoutMs(now, now), 0);
  EXPECT_EQ(PollTimeoutMs(now, now - absl::Seconds(1)), 0);
  EXPECT_EQ(PollTimeoutMs(now, now + absl::Nanoseconds(1)), 1);
  EXPECT_EQ(PollTimeoutMs(now, now + absl::Milliseconds(5)), 5);
  EXPECT_EQ(PollTimeoutMs(now, now + absl::Microseconds(5001)), 6);
  EXPECT_EQ(PollTimeoutMs(now, absl::InfiniteFuture()), -1);
  EXPECT_EQ(PollTimeoutMs(now, now + absl::Hours(24 * 365)), INT_MAX);
}

}  // namespace
}  // namespace muwarden::net
