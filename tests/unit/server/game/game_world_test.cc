#include "server/game/game_world.h"

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
using testing::FastConfig;
using testing::TempDir;

class GameWorldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = AccountStore::Open(FastConfig(dir_.File("a.db")), clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  std::unique_ptr<GameWorld> MakeWorld(GameConfig config = {}) {
    return std::make_unique<GameWorld>(config, *store_, clock_);
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

TEST_F(GameWorldTest, EnterLeaveAndAlreadyConnected) {
  auto world = MakeWorld();
  auto a = world->Enter("Test0", Queue());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name(), "Test0");
  EXPECT_EQ(world->players(), 1u);
  EXPECT_EQ(world->Enter("TEST0", Queue()).status().code(),
            absl::StatusCode::kAlreadyExists);
  a->Release();
  EXPECT_EQ(world->players(), 0u);
  EXPECT_TRUE(world->Enter("test0", Queue()).ok());  // slot released again
  EXPECT_EQ(world->players(), 0u);                   // temporary slot gone
}

TEST_F(GameWorldTest, MaxPlayersCountsLoggedInOnly) {
  GameConfig c;
  c.max_players = 2;
  auto world = MakeWorld(c);
  auto a = world->Enter("aaaa", Queue());
  EXPECT_FALSE(world->Full());
  auto b = world->Enter("bbbb", Queue());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(world->Full());
  EXPECT_EQ(world->Enter("cccc", Queue()).status().code(),
            absl::StatusCode::kResourceExhausted);
  {
    GameWorld::PlayerSlot moved = *std::move(a);  // moving does not release
    EXPECT_EQ(world->players(), 2u);
  }
  EXPECT_EQ(world->players(), 1u);
  EXPECT_TRUE(world->Enter("cccc", Queue()).ok());
}

TEST_F(GameWorldTest, BroadcastReachesEveryoneButTheSender) {
  auto world = MakeWorld();
  auto qa = Queue(), qb = Queue(), qc = Queue();
  auto a = world->Enter("aaaa", qa);
  auto b = world->Enter("bbbb", qb);
  auto c = world->Enter("cccc", qc);
  const Bytes packet = {0xC1, 0x04, 0x00, 0x01};
  EXPECT_EQ(world->Broadcast(*a, packet), 2u);
  EXPECT_TRUE(qa->TakeAll().empty());
  EXPECT_EQ(qb->TakeAll().front(), packet);
  EXPECT_EQ(qc->TakeAll().size(), 1u);
  EXPECT_EQ(world->counters().chat_delivered.load(), 2u);
}

TEST_F(GameWorldTest, FullQueueDropsWithoutBlocking) {
  auto world = MakeWorld();
  auto qa = Queue(), qb = Queue(2);
  auto a = world->Enter("aaaa", qa);
  auto b = world->Enter("bbbb", qb);
  const Bytes packet = {0xC1, 0x04, 0x00, 0x01};
  EXPECT_EQ(world->Broadcast(*a, packet), 1u);
  EXPECT_EQ(world->Broadcast(*a, packet), 1u);
  EXPECT_EQ(world->Broadcast(*a, packet), 0u);
  EXPECT_TRUE(qb->full_since().has_value());
  EXPECT_EQ(world->counters().queue_full_drops.load(), 1u);
}

TEST_F(GameWorldTest, SendToByNameCaseInsensitive) {
  auto world = MakeWorld();
  auto qa = Queue(), qb = Queue();
  auto a = world->Enter("Alpha", qa);
  auto b = world->Enter("Bravo", qb);
  const Bytes packet = {0xC1, 0x04, 0x02, 0x01};
  EXPECT_TRUE(world->SendTo("bRAVO", packet));
  EXPECT_FALSE(world->SendTo("charlie", packet));
  EXPECT_EQ(qb->TakeAll().size(), 1u);
  EXPECT_TRUE(qa->TakeAll().empty());
  EXPECT_EQ(world->counters().whisper_no_receiver.load(), 1u);
}

TEST_F(GameWorldTest, AcceptsClient) {
  GameConfig c;
  c.accepted_versions = {"10404", "075"};
  c.accepted_serials = {"k1Pk2jcET48mxL3b"};
  auto world = MakeWorld(c);
  EXPECT_TRUE(world->AcceptsClient("10404", "k1Pk2jcET48mxL3b"));
  EXPECT_TRUE(world->AcceptsClient("075", "k1Pk2jcET48mxL3b"));
  EXPECT_FALSE(world->AcceptsClient("10405", "k1Pk2jcET48mxL3b"));
  EXPECT_FALSE(world->AcceptsClient("10404", "k1Pk2jcET48mxL3c"));
}

TEST_F(GameWorldTest, BanIpGoesToTheBanList) {
  GameConfig c;
  c.ip_ban_duration = absl::Seconds(60);
  auto world = MakeWorld(c);
  const auto ip = guard::IpAddress::V4(192, 0, 2, 7);
  EXPECT_FALSE(world->IsBanned(ip));
  EXPECT_EQ(world->BanIp(ip, "x"), "not banned: no ban list");
  guard::BanList bans(guard::BanListConfig{}, clock_);
  world->SetBanList(&bans);
  EXPECT_EQ(world->BanIp(ip, "failed logins"),
            "banned 192.0.2.7 until 2026-01-01T00:01:00Z");
  EXPECT_TRUE(world->IsBanned(ip));
  EXPECT_FALSE(world->IsBanned(guard::IpAddress::V4(192, 0, 2, 8)));
  clock_.Advance(absl::Seconds(61));
  EXPECT_FALSE(world->IsBanned(ip));
}

TEST_F(GameWorldTest, Ipv6BanCoversTheSlash64) {
  GameConfig c;
  c.ip_ban_duration = absl::ZeroDuration();
  auto world = MakeWorld(c);
  guard::BanList bans(guard::BanListConfig{}, clock_);
  world->SetBanList(&bans);
  EXPECT_EQ(world->BanIp(*guard::ParseIp("2001:db8:1:2::5"), "x"),
            "banned 2001:db8:1:2::/64 permanently");
  EXPECT_TRUE(world->IsBanned(*guard::ParseIp("2001:db8:1:2:ffff::1")));
  EXPECT_FALSE(world->IsBanned(*guard::ParseIp("2001:db8:1:3::1")));
}

TEST_F(GameWorldTest, ConcurrentEnterBroadcastLeave) {
  GameConfig c;
  c.max_players = 8;
  auto world = MakeWorld(c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto q = Queue(4);
        auto slot = world->Enter(absl::StrCat("p", t, "_", i % 3), q);
        if (!slot.ok()) continue;
        world->Broadcast(*slot, Bytes{0xC1, 0x04, 0x00, 0x01});
        world->SendTo(absl::StrCat("p", (t + 1) % 4, "_0"),
                      Bytes{0xC1, 0x04, 0x02, 0x01});
        q->TakeAll();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(world->players(), 0u);
}

}  // namespace
}  // namespace muwarden::game
