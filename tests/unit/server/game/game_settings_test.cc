#include "server/game/game_settings.h"

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/server/settings_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::testing::Joined;

std::string Normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

TEST(GameSettingsTest, SplitList) {
  EXPECT_EQ(SplitList(" 10404, 10305 ,,075 "),
            (std::vector<std::string>{"10404", "10305", "075"}));
  EXPECT_TRUE(SplitList("").empty());
}

TEST(GameSettingsTest, DefaultsMatchTheSpec) {
  config::SettingsErrors errors;
  const GameSettings s = config::Load<GameSettings>("", {}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  EXPECT_EQ(s.base.server.name, "GameServer");
  EXPECT_EQ(s.base.server.port, 55901);
  EXPECT_EQ(s.base.server.connection.handshake.timeout, absl::Seconds(120));
  EXPECT_EQ(s.base.server.connection.max_frame_size, 8192u);
  EXPECT_EQ(s.base.server.connection.handshake.max_frame_size, 128u);
  EXPECT_EQ(s.base.server.connection.raw_packets.limit, 20);
  const GameConfig& c = s.game;
  EXPECT_EQ(c.max_players, 1000);
  EXPECT_EQ(c.join_version, "10404");
  EXPECT_EQ(c.accepted_versions, std::vector<std::string>{"10404"});
  EXPECT_EQ(c.accepted_serials, std::vector<std::string>{"k1Pk2jcET48mxL3b"});
  EXPECT_EQ(c.throttle.ip_fail_limit, 10);
  EXPECT_EQ(c.throttle.ip_fail_window, absl::Seconds(600));
  EXPECT_EQ(c.throttle.account_fail_limit, 5);
  EXPECT_EQ(c.throttle.account_fail_window, absl::Seconds(300));
  EXPECT_EQ(c.throttle.account_lock_duration, absl::Seconds(900));
  EXPECT_EQ(c.ip_ban_duration, absl::Seconds(3600));
  EXPECT_EQ(c.chat.limit, 20);
  EXPECT_EQ(c.chat.window, absl::Seconds(10));
  EXPECT_EQ(c.whisper.limit, 4);
  EXPECT_EQ(c.whisper.window, absl::Seconds(1));
  EXPECT_EQ(c.max_frame_size, 8192u);
  EXPECT_EQ(s.accounts.path, "accounts.db");
}

TEST(GameSettingsTest, Overrides) {
  config::SettingsErrors errors;
  const GameSettings s = config::Load<GameSettings>(
      "",
      {"game.max_players=7", "game.accepted_versions=10404, 075",
       "game.accepted_serials=AAAAAAAAAAAAAAAA,BBBBBBBBBBBBBBBB",
       "game.login_ip_fail_limit=3", "game.login_ip_fail_window=5",
       "game.login_ip_ban_duration=0", "game.login_account_fail_limit=2",
       "game.login_account_fail_window=9",
       "game.login_account_lock_duration=11", "game.database=/tmp/x.db",
       "ratelimit.chat_rate_limit=4", "ratelimit.chat_rate_window=2",
       "ratelimit.whisper_rate_limit=1", "server.max_tracked_ips=99",
       "server.max_packet_size=1000"},
      errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  const GameConfig& c = s.game;
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
  EXPECT_EQ(c.max_frame_size, 1000u);
  EXPECT_EQ(s.accounts.path, "/tmp/x.db");
}

TEST(GameSettingsTest, BadGameValuesAreNamed) {
  config::SettingsErrors errors;
  config::Load<GameSettings>(
      "",
      {"game.join_version=1040", "game.accepted_versions=1,22",
       "game.accepted_serials=short", "game.accepted_versions=",
       "game.database=", "ratelimit.chat_rate_limit=100000"},
      errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 6u) << all;
  EXPECT_TRUE(
      absl::StrContains(all, "game.join_version: must be 5 characters"));
  EXPECT_TRUE(
      absl::StrContains(all, "game.accepted_versions: each version must be 5"));
  EXPECT_TRUE(
      absl::StrContains(all, "game.accepted_serials: each serial must be 16"));
  EXPECT_TRUE(
      absl::StrContains(all, "game.accepted_versions: must not be empty"));
  EXPECT_TRUE(absl::StrContains(all, "game.database: must not be empty"));
  EXPECT_TRUE(
      absl::StrContains(all,
                        "ratelimit.chat_rate_limit: out of range: 100000 "
                        "(allowed 1..65536)"));
}

TEST(GameSettingsTest, PrintedIniLoadsToTheSameSettings) {
  testing::Loaded<GameSettings> s(
      "", {"game.accepted_versions=10404,075", "log.level=error",
           "game.database=/var/lib/mw/accounts.db",
           "game.login_ip_ban_duration=0.5"});
  ASSERT_TRUE(s.errors.empty()) << s.Errors();
  EXPECT_EQ(s.ReloadedPrint(), s.Printed());
  EXPECT_NE(s.Printed().find("accepted_versions = 10404, 075\n"),
            std::string::npos);
}

TEST(GameSettingsTest, ShippedFileHoldsEveryKeyWithItsComment) {
  const std::string path =
      std::string(MUWARDEN_SOURCE_DIR) + "/config/game-server.ini";
  testing::Loaded<GameSettings> shipped(path, {});
  ASSERT_TRUE(shipped.errors.empty()) << shipped.Errors();
  // The documented deviations: game-server.ini raises the raw packet limit to
  // fit a real client in combat, and the read timeout to fit its 20 s
  // keep-alive.
  const runtime::ServerConfig& server = shipped.settings.base.server;
  EXPECT_EQ(server.connection.raw_packets.limit, 60);
  EXPECT_EQ(server.connection.read_timeout, absl::Seconds(45));
  // /metrics is shipped on loopback (off by default); the control socket
  // lies beside the file.
  EXPECT_EQ(shipped.settings.base.metrics.listen, "127.0.0.1:9406");
  EXPECT_EQ(shipped.settings.base.control.socket,
            std::string(MUWARDEN_SOURCE_DIR) + "/config/game-server.sock");
  testing::Loaded<GameSettings> defaults(
      "", {"security.ban_file=" + server.bans.path,
           "security.known_file=game-server-known.txt",
           "metrics.listen=127.0.0.1:9406",
           "control.socket=" + shipped.settings.base.control.socket,
           "game.database=" + shipped.settings.accounts.path,
           "ratelimit.raw_pkt_rate_limit=60", "server.read_timeout=45"});
  ASSERT_TRUE(defaults.errors.empty()) << defaults.Errors();
  EXPECT_EQ(shipped.Printed(), defaults.Printed());
  testing::ExpectShippedFileIsWhatTheDescriptionsPrint(shipped.schema,
                                                       GameProgram(), path);
}

TEST(GameSettingsTest, DefaultBanFileIsThisServersOwnBesideTheConfig) {
  // Two servers sharing one file would rewrite each other's bans away, so
  // each has its own by default; a file named explicitly is read as given.
  ::muwarden::testing::TempDir dir("game-server_bans");
  const std::string ini = dir.Write("game-server.ini", "[server]\nport = 1\n");
  testing::Loaded<GameSettings> loaded(ini, {});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.Errors();
  EXPECT_EQ(Normal(loaded.settings.base.server.bans.path),
            Normal(dir.Path("game-server-bans.txt")));
  const std::string named =
      dir.Write("named.ini", "[security]\nban_file = bans.txt\n");
  testing::Loaded<GameSettings> explicit_name(named, {});
  ASSERT_TRUE(explicit_name.errors.empty()) << explicit_name.Errors();
  EXPECT_EQ(Normal(explicit_name.settings.base.server.bans.path),
            Normal(dir.Path("bans.txt")));
}

}  // namespace
}  // namespace muwarden::game
