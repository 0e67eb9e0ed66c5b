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
#include "common/net/socket.h"
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
