#include "server/game/game_config.h"

#include "common/config/command_line.h"
#include "gtest/gtest.h"

namespace muwarden::game {
namespace {

TEST(GameConfigTest, SplitList) {
  EXPECT_EQ(SplitList(" 10404, 10305 ,,075 "),
            (std::vector<std::string>{"10404", "10305", "075"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST(GameConfigTest, FromDefaults) {
  config::ServerSettings s = config::DefaultSettings(config::ServerKind::kGame);
  GameConfig c = GameConfigFromSettings(s);
  EXPECT_EQ(c.max_players, 1000);
  EXPECT_EQ(c.join_version, "10404");
  EXPECT_EQ(c.accepted_versions, std::vector<std::string>{"10404"});
  EXPECT_EQ(c.accepted_serials, std::vector<std::string>{"k1Pk2jcET48mxL3b"});
  EXPECT_EQ(c.throttle.ip_fail_limit, 10);
  EXPECT_EQ(c.throttle.account_fail_limit, 5);
  EXPECT_EQ(c.throttle.account_lock_duration, absl::Seconds(900));
  EXPECT_EQ(c.ip_ban_duration, absl::Seconds(3600));
  EXPECT_EQ(c.chat.limit, 20);
  EXPECT_EQ(c.whisper.window, absl::Seconds(1));
  EXPECT_EQ(c.max_frame_size, static_cast<size_t>(s.server.max_packet_size));
  EXPECT_EQ(AccountStoreConfigFromSettings(s).path, s.game.database);
}

TEST(GameConfigTest, FromOverrides) {
  config::SettingsErrors errors;
  config::ServerSettings s = config::LoadSettings(
      config::ServerKind::kGame, "",
      {"game.max_players=7", "game.accepted_versions=10404, 075",
       "game.accepted_serials=AAAAAAAAAAAAAAAA,BBBBBBBBBBBBBBBB",
       "game.login_ip_fail_limit=3", "game.login_ip_fail_window=5",
       "game.login_ip_ban_duration=0", "game.login_account_fail_limit=2",
       "game.login_account_fail_window=9",
       "game.login_account_lock_duration=11", "game.database=/tmp/x.db",
       "ratelimit.chat_rate_limit=4", "ratelimit.chat_rate_window=2",
       "ratelimit.whisper_rate_limit=1", "server.max_tracked_ips=99"},
      errors);
  ASSERT_TRUE(errors.empty()) << errors.messages()[0];
  GameConfig c = GameConfigFromSettings(s);
  EXPECT_EQ(c.max_players, 7);
  EXPECT_EQ(c.accepted_versions, (std::vector<std::string>{"10404", "075"}));
  EXPECT_EQ(c.accepted_serials.size(), 2u);
  EXPECT_EQ(c.throttle.ip_fail_limit, 3);
  EXPECT_EQ(c.throttle.ip_fail_window, absl::Seconds(5));
  EXPECT_EQ(c.ip_ban_duration, absl::ZeroDuration());
  EXPECT_EQ(c.throttle.account_fail_limit, 2);
  EXPECT_EQ(c.throttle.account_fail_window, absl::Seconds(9));
  EXPECT_EQ(c.throttle.account_lock_duration, absl::Seconds(11));
  EXPECT_EQ(c.throttle.max_tracked_ips, 99u);
  EXPECT_EQ(c.throttle.max_tracked_accounts, 99u);
  EXPECT_EQ(c.chat.limit, 4);
  EXPECT_EQ(c.chat.window, absl::Seconds(2));
  EXPECT_EQ(c.whisper.limit, 1);
  EXPECT_EQ(AccountStoreConfigFromSettings(s).path, "/tmp/x.db");
}

}  // namespace
}  // namespace muwarden::game
