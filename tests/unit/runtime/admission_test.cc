#include "common/runtime/admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/guard/ip_address.h"
#include "common/guard/known_blocks.h"
#include "common/net/socket.h"
#include "common/runtime/connection_registry.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

using guard::RejectReason;

sockaddr_storage V4(const char* ip) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(40000);
  EXPECT_EQ(inet_pton(AF_INET, ip, &v4->sin_addr), 1);
  return s;
}

// A connected pair standing in for an accepted socket: `peer` sees EOF once
// Admission closes `ours`.
struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ours.Reset(sv[0]);
    peer.Reset(sv[1]);
  }
  bool PeerSeesClose() const {
    uint8_t b;
    return ::recv(peer.get(), &b, 1, 0) == 0;
  }
  net::UniqueFd ours;
  net::UniqueFd peer;
};

class AdmissionTest : public ::testing::Test {
 protected:
  static guard::ConnGuardConfig GuardConfig() {
    guard::ConnGuardConfig c;
    c.conn_rate_limit = 2;
    c.conn_rate_window = absl::Seconds(10);
    c.flood_ban_threshold = 2;
    c.multiclient_limit = 8;
    c.max_clients = 8;
    c.pending_per_ip = 8;
    c.max_pending = 8;
    return c;
  }

  uint64_t Rejected(RejectReason reason) const {
    return guard_.Counters().Rejected(reason);
  }

  FakeClock clock_;
  guard::ConnGuard guard_{GuardConfig(), clock_};
  guard::BanList bans_{guard::BanListConfig{}, clock_};
  std::vector<PendingBan> autobans_;
  Admission admission_{bans_, guard_, [this](PendingBan ban) {
                         autobans_.push_back(std::move(ban));
                       }};
};

TEST_F(AdmissionTest, AdmitsWithASlot) {
  Pair p;
  auto admitted = admission_.Admit(std::move(p.ours), V4("203.0.113.7"));
  ASSERT_TRUE(admitted.has_value());
  EXPECT_TRUE(admitted->fd.valid());
  EXPECT_EQ(admitted->peer.ToString(), "203.0.113.7");
  EXPECT_TRUE(admitted->ticket.held());
  EXPECT_EQ(guard_.Counters().active, 1);
  EXPECT_EQ(admission_.refused(), 0u);
}

TEST_F(AdmissionTest, BannedPeerIsRefusedBeforeTheGuard) {
  ASSERT_TRUE(
      bans_.Add(*guard::ParseCidr("203.0.113.0/24"), std::nullopt, "t").ok());
  Pair p;
  EXPECT_FALSE(admission_.Admit(std::move(p.ours), V4("203.0.113.7")));
  EXPECT_TRUE(p.PeerSeesClose());
  EXPECT_EQ(Rejected(RejectReason::kBanned), 1u);
  EXPECT_EQ(guard_.Counters().admitted, 0u);  // the guard never saw it
  EXPECT_EQ(admission_.refused(), 1u);
}

TEST_F(AdmissionTest, RateLimitThenFloodAutobanOfTheClientBlock) {
  std::vector<Pair> pairs(5);
  std::vector<Admitted> kept;
  for (Pair& p : pairs) {
    auto admitted = admission_.Admit(std::move(p.ours), V4("198.51.100.9"));
    if (admitted) kept.push_back(*std::move(admitted));
  }
  EXPECT_EQ(kept.size(), 2u);
  // Refusals 1 and 2 are rate limits; the third inside the window (threshold
  // 2) is the autoban.
  EXPECT_EQ(Rejected(RejectReason::kConnRate), 2u);
  EXPECT_EQ(Rejected(RejectReason::kFloodAutoban), 1u);
  ASSERT_EQ(autobans_.size(), 1u);
  EXPECT_EQ(autobans_[0].cidr.ToString(), "198.51.100.9");
  EXPECT_EQ(autobans_[0].ip.ToString(), "198.51.100.9");
  EXPECT_EQ(autobans_[0].reason, "flood autoban");
  EXPECT_EQ(autobans_[0].duration, absl::Seconds(3600));
  EXPECT_TRUE(pairs[2].PeerSeesClose());
  EXPECT_TRUE(pairs[3].PeerSeesClose());
  EXPECT_TRUE(pairs[4].PeerSeesClose());
  EXPECT_EQ(admission_.refused(), 3u);
}

TEST_F(AdmissionTest, UnreadableAddressIsClosedUncounted) {
  Pair p;
  sockaddr_storage unix_addr{};
  unix_addr.ss_family = AF_UNIX;
  EXPECT_FALSE(admission_.Admit(std::move(p.ours), unix_addr));
  EXPECT_TRUE(p.PeerSeesClose());
  EXPECT_EQ(admission_.refused(), 0u);
  EXPECT_EQ(guard_.Counters().admitted, 0u);
}

TEST_F(AdmissionTest, UnservedGivesTheSlotBackAndCountsServerFull) {
  Pair p;
  auto admitted = admission_.Admit(std::move(p.ours), V4("203.0.113.7"));
  ASSERT_TRUE(admitted.has_value());
  admission_.RefuseUnserved(*std::move(admitted), "no worker thread available");
  EXPECT_TRUE(p.PeerSeesClose());
  EXPECT_EQ(guard_.Counters().active, 0);
  EXPECT_EQ(Rejected(RejectReason::kServerFull), 1u);
  EXPECT_EQ(admission_.refused(), 1u);
}

TEST_F(AdmissionTest, OverflowCountsServerFullEvenWithoutAnAddress) {
  Pair with_addr;
  admission_.RefuseOverflow(std::move(with_addr.ours), V4("203.0.113.7"));
  EXPECT_TRUE(with_addr.PeerSeesClose());
  Pair without;
  sockaddr_storage none{};
  admission_.RefuseOverflow(std::move(without.ours), none);
  EXPECT_TRUE(without.PeerSeesClose());
  EXPECT_EQ(Rejected(RejectReason::kServerFull), 2u);
  EXPECT_EQ(admission_.refused(), 1u);  // only the one with an address
}

}  // namespace
}  // namespace muwarden::runtime

namespace muwarden::runtime {
namespace {

// SPEC 4a at the admission: a prefix ban spares known blocks (and only a
// prefix ban does), the prefix autoban is queued beside the block's, and a
// full server evicts through the registry or refuses.
class AdmissionSiegeTest : public ::testing::Test {
 protected:
  static guard::ConnGuardConfig GuardConfig() {
    guard::ConnGuardConfig c;
    c.conn_rate_limit = 1;
    c.flood_ban_threshold = 1;
    c.prefix_ban_threshold = 2;
    c.max_clients = 2;
    c.max_pending = 2;
    return c;
  }
  std::optional<Admitted> Admit(Pair& p, const char* ip) {
    return admission_.Admit(std::move(p.ours), V4(ip));
  }

  FakeClock clock_;
  guard::ConnGuard guard_{GuardConfig(), clock_};
  guard::BanList bans_{guard::BanListConfig{}, clock_};
  guard::KnownBlocks known_{guard::KnownBlocksConfig{}, clock_};
  ConnectionRegistry registry_;
  std::vector<PendingBan> autobans_;
  Admission admission_{bans_, guard_,
                       [this](PendingBan ban) {
                         autobans_.push_back(std::move(ban));
                       },
                       &known_, &registry_};
};

TEST_F(AdmissionSiegeTest, PrefixBanSparesKnownBlocksOperatorBanDoesNot) {
  ASSERT_TRUE(bans_.Add(*guard::ParseCidr("198.51.100.0/24"), std::nullopt,
                        kPrefixAutobanReason)
                  .ok());
  ASSERT_TRUE(
      bans_.Add(*guard::ParseCidr("203.0.113.0/24"), std::nullopt, "operator")
          .ok());
  known_.Record(*guard::ParseIp("198.51.100.7"));
  known_.Record(*guard::ParseIp("203.0.113.7"));
  Pair a, b, c;
  EXPECT_TRUE(Admit(a, "198.51.100.7").has_value());  // known: spared
  EXPECT_FALSE(Admit(b, "198.51.100.8").has_value());  // unknown: banned
  EXPECT_FALSE(Admit(c, "203.0.113.7").has_value());   // not a prefix ban
  EXPECT_EQ(guard_.Counters().Rejected(RejectReason::kBanned), 2u);
}

TEST_F(AdmissionSiegeTest, PrefixAutobanQueuedWithTheBlocksThatEarnedIt) {
  std::vector<Pair> pairs(4);
  std::vector<Admitted> kept;
  for (int i = 0; i < 2; ++i) {
    const char* ip = i == 0 ? "2001:db8:1:1::1" : "2001:db8:1:2::1";
    for (int j = 0; j < 2; ++j) {
      sockaddr_storage s{};
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
      v6->sin6_family = AF_INET6;
      ASSERT_EQ(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
      auto admitted = admission_.Admit(std::move(pairs[i * 2 + j].ours), s);
      if (admitted) kept.push_back(*std::move(admitted));
    }
  }
  ASSERT_EQ(autobans_.size(), 3u);
  EXPECT_EQ(autobans_[0].cidr.ToString(), "2001:db8:1:1::/64");
  EXPECT_EQ(autobans_[1].cidr.ToString(), "2001:db8:1:2::/64");
  EXPECT_EQ(autobans_[2].cidr.ToString(), "2001:db8:1::/48");
  EXPECT_EQ(autobans_[2].reason, kPrefixAutobanReason);
}

TEST_F(AdmissionSiegeTest, FullEvictsTheOldestOfTheBiggestPrefixOrRefuses) {
  Pair a, b, c, d;
  auto first = Admit(a, "198.51.100.1");
  auto second = Admit(b, "198.51.100.2");
  ASSERT_TRUE(first && second);
  uint64_t id = 1;
  for (Admitted* x : {&*first, &*second}) {
    RegisteredConnection r;
    r.id = id++;
    r.fd = x->fd.get();
    r.peer = x->peer;
    r.prefix = guard_.PrefixKeyOf(x->peer);
    r.ticket = std::move(x->ticket);
    registry_.Add(std::move(r));
  }
  // Its own prefix holds the most: refused.
  EXPECT_FALSE(Admit(c, "198.51.100.3").has_value());
  EXPECT_EQ(guard_.Counters().Rejected(RejectReason::kServerFull), 1u);
  // Another prefix's arrival evicts the oldest and takes its place.
  auto newcomer = Admit(d, "203.0.113.9");
  ASSERT_TRUE(newcomer.has_value());
  EXPECT_TRUE(newcomer->ticket.held());
  EXPECT_TRUE(a.PeerSeesClose());
  EXPECT_EQ(registry_.evicted(), 1u);
  EXPECT_EQ(guard_.Counters().Rejected(RejectReason::kServerFull), 1u);
  newcomer->ticket.Release();
  registry_.Remove(1).Release();
  registry_.Remove(2).Release();
}

}  // namespace
}  // namespace muwarden::runtime
