#include "common/runtime/connection_registry.h"

#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/guard/conn_guard.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

guard::IpAddress Ip(const char* text) { return *guard::ParseIp(text); }

// A socketpair per connection: a shut-down end reads EOF on the other.
struct Pair {
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~Pair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  bool ShutDown() const {
    char c;
    return ::recv(fds[1], &c, 1, MSG_DONTWAIT) == 0;
  }
  int fds[2];
};

class ConnectionRegistryTest : public ::testing::Test {
 protected:
  ConnectionRegistryTest() : guard_(Config(), clock_) {}
  static guard::ConnGuardConfig Config() {
    guard::ConnGuardConfig c;
    c.conn_rate_limit = 1000;
    c.multiclient_limit = 1000;
    c.pending_per_ip = 1000;
    c.prefix_multiclient_limit = 1000;
    c.prefix_conn_rate_limit = 1000;
    return c;
  }

  // Registers a connection from ip; its id grows with each call.
  uint64_t Add(const char* ip, bool known = false) {
    pairs_.push_back(std::make_unique<Pair>());
    RegisteredConnection c;
    c.id = next_id_++;
    c.fd = pairs_.back()->fds[0];
    c.peer = Ip(ip);
    c.prefix = guard_.PrefixKeyOf(c.peer);
    c.known = known;
    guard::AdmitResult r = guard_.Admit(c.peer, known);
    EXPECT_TRUE(r.admitted());
    c.ticket = std::move(r.ticket);
    registry_.Add(std::move(c));
    return next_id_ - 1;
  }
  bool IsShutDown(uint64_t id) const { return pairs_[id - 1]->ShutDown(); }
  guard::IpKey Prefix(const char* ip) const {
    return guard_.PrefixKeyOf(Ip(ip));
  }

  FakeClock clock_;
  guard::ConnGuard guard_;
  std::vector<std::unique_ptr<Pair>> pairs_;
  ConnectionRegistry registry_;  // after the guard: its tickets go first
  uint64_t next_id_ = 1;
};

TEST_F(ConnectionRegistryTest, OldestOfThePrefixHoldingTheMost) {
  const uint64_t a1 = Add("198.51.100.1");
  const uint64_t b1 = Add("198.51.101.1");
  const uint64_t b2 = Add("198.51.101.2");
  Add("198.51.101.3");
  Add("198.51.100.2");
  auto v = registry_.EvictFor(Prefix("203.0.113.1"), false, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, b1);  // 198.51.101/24 holds 3, the other 2
  EXPECT_TRUE(IsShutDown(b1));
  EXPECT_FALSE(IsShutDown(a1));
  EXPECT_EQ(registry_.evicted(), 1u);
  // The victim no longer counts: both prefixes hold 2, ties go to the
  // larger key, and the oldest of it is next.
  v = registry_.EvictFor(Prefix("203.0.113.1"), false, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->id == b2 || v->id == a1) << v->id;
  // Removing an evicted entry gives its ticket back once.
  guard::AdmitTicket t = registry_.Remove(b1);
  EXPECT_TRUE(t.held());
  EXPECT_FALSE(registry_.Remove(b1).held());
}

TEST_F(ConnectionRegistryTest, OwnPrefixHoldingAsManyIsRefused) {
  Add("198.51.100.1");
  Add("198.51.100.2");
  Add("198.51.101.1");
  Add("198.51.101.2");
  // The arrival's prefix holds 2, as many as the most: nothing is evicted.
  EXPECT_FALSE(registry_.EvictFor(Prefix("198.51.100.9"), false, false));
  EXPECT_TRUE(registry_.EvictFor(Prefix("203.0.113.1"), false, false));
}

TEST_F(ConnectionRegistryTest, ProtectedNeverAndPendingOnlyWhenAsked) {
  const uint64_t p = Add("198.51.100.1");
  const uint64_t q = Add("198.51.100.2");
  const uint64_t r = Add("198.51.100.3");
  const uint64_t other = Add("198.51.101.1");
  registry_.MarkActive(p);  // a logged-in player: handshake, then login
  registry_.MarkProtected(p);
  registry_.MarkActive(q);      // handshake done, not logged in
  EXPECT_EQ(registry_.pending(), 2u);
  auto v = registry_.EvictFor(Prefix("203.0.113.1"), false,
                              /*pending_only=*/true);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, r);  // q is older but not pending
  v = registry_.EvictFor(Prefix("203.0.113.1"), false, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, q);
  // Only the player is left in 198.51.100/24 (2 slots, 1 protected + the
  // other prefix's one): the player is passed over for the other prefix.
  v = registry_.EvictFor(Prefix("203.0.113.1"), false, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, other);
  EXPECT_FALSE(registry_.EvictFor(Prefix("203.0.113.1"), false, false));
  EXPECT_FALSE(IsShutDown(p));
}

TEST_F(ConnectionRegistryTest, UnknownBeforeKnownAndOnlyKnownEvictKnown) {
  const uint64_t k = Add("198.51.100.1", /*known=*/true);
  const uint64_t u = Add("198.51.100.2");
  auto v = registry_.EvictFor(Prefix("203.0.113.1"), false, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, u);  // younger, but unknown
  // An unknown arrival never evicts a known block.
  EXPECT_FALSE(registry_.EvictFor(Prefix("203.0.113.1"), false, false));
  // A known one may.
  v = registry_.EvictFor(Prefix("203.0.113.1"), true, false);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, k);
}

TEST_F(ConnectionRegistryTest, MarkActiveGivesThePendingSlotBack) {
  const uint64_t a = Add("198.51.100.1");
  EXPECT_EQ(guard_.Counters().pending, 1);
  registry_.MarkActive(a);
  EXPECT_EQ(guard_.Counters().pending, 0);
  EXPECT_EQ(registry_.pending(), 0u);
  registry_.Remove(a).Release();
  EXPECT_EQ(guard_.Counters().active, 0);
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_EQ(registry_.SlotsOf(Prefix("198.51.100.1")), 0);
}

TEST_F(ConnectionRegistryTest, KickClosesEveryConnectionOfTheBlock) {
  const uint64_t a = Add("2001:db8:1:2::1");
  const uint64_t b = Add("2001:db8:1:2::2");
  const uint64_t c = Add("2001:db8:1:3::1");
  EXPECT_EQ(registry_.Kick(*guard::ParseCidr("2001:db8:1:2::/64")), 2);
  EXPECT_TRUE(IsShutDown(a));
  EXPECT_TRUE(IsShutDown(b));
  EXPECT_FALSE(IsShutDown(c));
}

}  // namespace
}  // namespace muwarden::runtime
