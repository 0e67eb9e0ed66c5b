#include "server/game/player_registry.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"
#include "tests/unit/server/game/game_test_util.h"

namespace muwarden::game {
namespace {

using testing::Bytes;
using testing::OpenFastStore;
using testing::TempDir;

class PlayerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenFastStore(dir_, clock_);
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<PlayerRegistry> MakeRegistry(GameConfig config = {}) {
    return std::make_unique<PlayerRegistry>(config, *store_, clock_);
  }
  std::shared_ptr<runtime::OutboundQueue> Queue(size_t max_messages = 256) {
    runtime::OutboundQueueConfig c;
    c.max_messages = max_messages;
    return std::make_shared<runtime::OutboundQueue>(c, clock_);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<AccountStore> store_;
};

TEST_F(PlayerRegistryTest, EnterLeaveAndAlreadyConnected) {
  auto registry = MakeRegistry();
  auto a = registry->Enter("Test0", Queue());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name(), "Test0");
  EXPECT_EQ(registry->players(), 1u);
  EXPECT_EQ(registry->Enter("TEST0", Queue()).status().code(),
            absl::StatusCode::kAlreadyExists);
  a->Release();
  EXPECT_EQ(registry->players(), 0u);
  EXPECT_TRUE(registry->Enter("test0", Queue()).ok());  // slot released again
  EXPECT_EQ(registry->players(), 0u);                   // temporary slot gone
}

TEST_F(PlayerRegistryTest, MaxPlayersCountsLoggedInOnly) {
  GameConfig c;
  c.max_players = 2;
  auto registry = MakeRegistry(c);
  auto a = registry->Enter("aaaa", Queue());
  EXPECT_FALSE(registry->Full());
  auto b = registry->Enter("bbbb", Queue());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(registry->Full());
  EXPECT_EQ(registry->Enter("cccc", Queue()).status().code(),
            absl::StatusCode::kResourceExhausted);
  {
    PlayerRegistry::PlayerSlot moved =
        *std::move(a);  // moving does not release
    EXPECT_EQ(registry->players(), 2u);
  }
  EXPECT_EQ(registry->players(), 1u);
  EXPECT_TRUE(registry->Enter("cccc", Queue()).ok());
}

TEST_F(PlayerRegistryTest, BroadcastReachesEveryoneButTheSender) {
  auto registry = MakeRegistry();
  auto qa = Queue(), qb = Queue(), qc = Queue();
  auto a = registry->Enter("aaaa", qa);
  auto b = registry->Enter("bbbb", qb);
  auto c = registry->Enter("cccc", qc);
  const Bytes packet = {0xC1, 0x04, 0x00, 0x01};
  EXPECT_EQ(registry->Broadcast(*a, packet), 2u);
  EXPECT_TRUE(qa->TakeAll().empty());
  EXPECT_EQ(qb->TakeAll().front(), packet);
  EXPECT_EQ(qc->TakeAll().size(), 1u);
  EXPECT_EQ(registry->counters().chat_delivered.load(), 2u);
}

TEST_F(PlayerRegistryTest, FullQueueDropsWithoutBlocking) {
  auto registry = MakeRegistry();
  auto qa = Queue(), qb = Queue(2);
  auto a = registry->Enter("aaaa", qa);
  auto b = registry->Enter("bbbb", qb);
  const Bytes packet = {0xC1, 0x04, 0x00, 0x01};
  EXPECT_EQ(registry->Broadcast(*a, packet), 1u);
  EXPECT_EQ(registry->Broadcast(*a, packet), 1u);
  EXPECT_EQ(registry->Broadcast(*a, packet), 0u);
  EXPECT_TRUE(qb->full_since().has_value());
  EXPECT_EQ(registry->counters().queue_full_drops.load(), 1u);
}

TEST_F(PlayerRegistryTest, SendToByNameCaseInsensitive) {
  auto registry = MakeRegistry();
  auto qa = Queue(), qb = Queue();
  auto a = registry->Enter("Alpha", qa);
  auto b = registry->Enter("Bravo", qb);
  const Bytes packet = {0xC1, 0x04, 0x02, 0x01};
  EXPECT_TRUE(registry->SendTo("bRAVO", packet));
  EXPECT_FALSE(registry->SendTo("charlie", packet));
  EXPECT_EQ(qb->TakeAll().size(), 1u);
  EXPECT_TRUE(qa->TakeAll().empty());
  EXPECT_EQ(registry->counters().whisper_no_receiver.load(), 1u);
}

TEST_F(PlayerRegistryTest, AcceptsClient) {
  GameConfig c;
  c.accepted_versions = {"10404", "075"};
  c.accepted_serials = {"k1Pk2jcET48mxL3b"};
  auto registry = MakeRegistry(c);
  EXPECT_TRUE(registry->AcceptsClient("10404", "k1Pk2jcET48mxL3b"));
  EXPECT_TRUE(registry->AcceptsClient("075", "k1Pk2jcET48mxL3b"));
  EXPECT_FALSE(registry->AcceptsClient("10405", "k1Pk2jcET48mxL3b"));
  EXPECT_FALSE(registry->AcceptsClient("10404", "k1Pk2jcET48mxL3c"));
}

TEST_F(PlayerRegistryTest, BanIpGoesToTheBanList) {
  GameConfig c;
  c.ip_ban_duration = absl::Seconds(60);
  auto registry = MakeRegistry(c);
  const auto ip = guard::IpAddress::V4(192, 0, 2, 7);
  EXPECT_FALSE(registry->IsBanned(ip));
  EXPECT_EQ(registry->BanIp(ip, "x"), "not banned: no ban list");
  guard::BanList bans(guard::BanListConfig{}, clock_);
  registry->SetBanList(&bans);
  EXPECT_EQ(registry->BanIp(ip, "failed logins"),
            "banned 192.0.2.7 until 2026-01-01T00:01:00Z");
  EXPECT_TRUE(registry->IsBanned(ip));
  EXPECT_FALSE(registry->IsBanned(guard::IpAddress::V4(192, 0, 2, 8)));
  clock_.Advance(absl::Seconds(61));
  EXPECT_FALSE(registry->IsBanned(ip));
}

TEST_F(PlayerRegistryTest, Ipv6BanCoversTheSlash64) {
  GameConfig c;
  c.ip_ban_duration = absl::ZeroDuration();
  auto registry = MakeRegistry(c);
  guard::BanList bans(guard::BanListConfig{}, clock_);
  registry->SetBanList(&bans);
  EXPECT_EQ(registry->BanIp(*guard::ParseIp("2001:db8:1:2::5"), "x"),
            "banned 2001:db8:1:2::/64 permanently");
  EXPECT_TRUE(registry->IsBanned(*guard::ParseIp("2001:db8:1:2:ffff::1")));
  EXPECT_FALSE(registry->IsBanned(*guard::ParseIp("2001:db8:1:3::1")));
}

TEST_F(PlayerRegistryTest, APrefixBanSparesAKnownBlockAtLoginOtherBansDoNot) {
  auto registry = MakeRegistry(GameConfig{});
  guard::BanList bans(guard::BanListConfig{}, clock_);
  guard::KnownBlocks known(guard::KnownBlocksConfig{}, clock_);
  registry->SetBanList(&bans);
  registry->SetKnownBlocks(&known);
  ASSERT_TRUE(bans.Add(*guard::ParseCidr("198.51.100.0/24"), std::nullopt,
                       "prefix autoban").ok());
  ASSERT_TRUE(bans.Add(*guard::ParseCidr("203.0.113.0/24"), std::nullopt,
                       "operator").ok());
  known.Record(guard::IpAddress::V4(198, 51, 100, 9));
  known.Record(guard::IpAddress::V4(203, 0, 113, 9));
  EXPECT_FALSE(registry->IsBanned(guard::IpAddress::V4(198, 51, 100, 9)));
  EXPECT_TRUE(registry->IsBanned(guard::IpAddress::V4(198, 51, 100, 10)));
  // Only a prefix ban spares known blocks (as Layer 1 does).
  EXPECT_TRUE(registry->IsBanned(guard::IpAddress::V4(203, 0, 113, 9)));
}

TEST_F(PlayerRegistryTest, ConcurrentEnterBroadcastLeave) {
  GameConfig c;
  c.max_players = 8;
  auto registry = MakeRegistry(c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto q = Queue(4);
        auto slot = registry->Enter(absl::StrCat("p", t, "_", i % 3), q);
        if (!slot.ok()) continue;
        registry->Broadcast(*slot, Bytes{0xC1, 0x04, 0x00, 0x01});
        registry->SendTo(absl::StrCat("p", (t + 1) % 4, "_0"),
                         Bytes{0xC1, 0x04, 0x02, 0x01});
        q->TakeAll();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(registry->players(), 0u);
}

}  // namespace
}  // namespace muwarden::game
