#include "server/connect/connect_settings.h"

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/server/settings_test_util.h"

namespace muwarden::connect {
namespace {

using ::muwarden::testing::Joined;

ConnectSettings Load(const std::vector<std::string>& sets,
                     config::SettingsErrors& errors) {
  return config::Load<ConnectSettings>("", sets, errors);
}

std::string Normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

TEST(ConnectSettingsTest, DefaultsMatchTheSpec) {
  config::SettingsErrors errors;
  const ConnectSettings c = Load({}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  const runtime::ServerConfig& s = c.base.server;
  EXPECT_EQ(s.name, "ConnectServer");
  EXPECT_EQ(s.bind, "0.0.0.0");
  EXPECT_EQ(s.port, 44405);
  EXPECT_EQ(s.guard.max_clients, 1024);
  EXPECT_EQ(s.guard.multiclient_limit, 16);
  EXPECT_EQ(s.connection.handshake.timeout, absl::Seconds(20));
  EXPECT_EQ(s.connection.read_timeout, absl::Seconds(15));
  EXPECT_EQ(s.connection.write_timeout, absl::Seconds(15));
  EXPECT_EQ(s.connection.max_frame_size, 255u);
  EXPECT_EQ(s.connection.handshake.max_frame_size, 8u);
  EXPECT_EQ(s.pool.stack_bytes, 256u * 1024);
  EXPECT_EQ(s.pool.arena_bytes, 64u * 1024);
  EXPECT_EQ(s.pool.max_workers, 1024u + 64);
  EXPECT_EQ(s.guard.max_tracked_ips, 65536u);
  EXPECT_EQ(s.guard.conn_rate_limit, 10);
  EXPECT_EQ(s.guard.conn_rate_window, absl::Seconds(10));
  EXPECT_TRUE(s.guard.flood_autoban);
  EXPECT_EQ(s.guard.flood_ban_threshold, 6);
  EXPECT_EQ(s.guard.flood_ban_duration, absl::Seconds(3600));
  EXPECT_EQ(s.connection.raw_packets.limit, 20);
  EXPECT_EQ(s.connection.raw_packets.window, absl::Seconds(2));
  EXPECT_TRUE(s.guard.allowlist.empty());
  EXPECT_EQ(s.bans.path, "");
  EXPECT_EQ(c.base.security_log.burst, 10);
  EXPECT_EQ(c.base.log.level, LogLevel::kInfo);
  EXPECT_EQ(c.base.log.file, "");
  ASSERT_EQ(c.gameservers.size(), 1u);
  EXPECT_EQ(c.gameservers[0].name, "GameServer");
  EXPECT_EQ(c.gameservers[0].port, 55901);
}

TEST(ConnectSettingsTest, KeysReachTheUnitsThatOwnThem) {
  config::SettingsErrors errors;
  const ConnectSettings c =
      Load({"server.max_clients=50", "server.max_packet_size=4",
            "server.worker_stack_kib=128", "ratelimit.conn_flood_autoban=no",
            "security.allowlist=10.0.0.0/8, ::1", "log.level=debug",
            "security.log_burst=3", "server.max_tracked_ips=100"},
           errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  const runtime::ServerConfig& s = c.base.server;
  EXPECT_EQ(s.guard.max_clients, 50);
  EXPECT_EQ(s.pool.max_workers, 50u + 64);
  EXPECT_EQ(s.connection.max_frame_size, 4u);
  // The handshake's frame cap never exceeds the frame cap after it.
  EXPECT_EQ(s.connection.handshake.max_frame_size, 4u);
  EXPECT_EQ(s.pool.stack_bytes, 128u * 1024);
  EXPECT_FALSE(s.guard.flood_autoban);
  EXPECT_EQ(s.guard.allowlist.size(), 2u);
  EXPECT_EQ(c.base.log.level, LogLevel::kDebug);
  EXPECT_EQ(c.base.security_log.burst, 3);
  EXPECT_EQ(c.base.security_log.max_tracked, 100u);
}

TEST(ConnectSettingsTest, ValuesAreParsedOnceByTheUnitsParser) {
  // The allowlist is parsed by the guard's own CIDR parser at load, so a
  // prefix that start-up would refuse is a settings error, not a surprise.
  for (const char* bad :
       {"security.allowlist=10.0.0.0/+8", "security.allowlist=10.0.0.0/ 8",
        "security.allowlist=10.0.0.0/40",
        "security.allowlist=10.0.0.0/8,nonsense"}) {
    config::SettingsErrors errors;
    Load({bad}, errors);
    ASSERT_EQ(errors.messages().size(), 1u) << bad;
    EXPECT_EQ(errors.messages()[0].rfind("security.allowlist: ", 0), 0u)
        << errors.messages()[0];
  }
  // A sliding window cannot count more than kMaxSlidingWindowLimit events:
  // a larger limit is refused with the range instead of being clamped.
  config::SettingsErrors errors;
  Load({"ratelimit.raw_pkt_rate_limit=65537", "ratelimit.conn_rate_limit=+8",
        "server.port= 8"},
       errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 2u) << all;
  EXPECT_TRUE(
      absl::StrContains(all,
                        "ratelimit.raw_pkt_rate_limit: out of range: 65537 "
                        "(allowed 1..65536)"))
      << all;
  EXPECT_TRUE(absl::StrContains(
      all, "ratelimit.conn_rate_limit: not a whole number: '+8'"))
      << all;
  config::SettingsErrors ok;
  EXPECT_EQ(Load({"ratelimit.raw_pkt_rate_limit=65536"}, ok)
                .base.server.connection.raw_packets.limit,
            65536);
  EXPECT_TRUE(ok.empty()) << Joined(ok);
}

TEST(ConnectSettingsTest, EveryBadKeyIsNamedWithItsReason) {
  config::SettingsErrors errors;
  Load({"server.port=70000", "server.max_clients=lots", "server.bogus=1",
        "ratelimit.conn_rate_window=-1", "server.bind=localhost",
        "game.max_players=5"},
       errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 6u) << all;
  EXPECT_TRUE(absl::StrContains(
      all, "server.port: out of range: 70000 (allowed 0..65535)"));
  EXPECT_TRUE(absl::StrContains(all, "server.max_clients: not a whole number"));
  EXPECT_TRUE(absl::StrContains(all, "server.bogus: unknown key"));
  EXPECT_TRUE(
      absl::StrContains(all, "ratelimit.conn_rate_window: out of range"));
  EXPECT_TRUE(
      absl::StrContains(all, "server.bind: not an IPv4 or IPv6 address"));
  // The GameServer's keys are unknown here.
  EXPECT_TRUE(absl::StrContains(all, "game.max_players: unknown key"));
}

TEST(ConnectSettingsTest, ArenaMustHoldTheFrameBuffers) {
  config::SettingsErrors errors;
  Load({"server.max_packet_size=65535", "server.arena_kib=64"}, errors);
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(
      errors.messages()[0].rfind("server.arena_kib: 64 KiB cannot hold", 0), 0u)
      << errors.messages()[0];
}

TEST(ConnectSettingsTest,
     GameServerSectionsReplaceTheDefaultAndRejectDuplicateIds) {
  config::SettingsErrors errors;
  ConnectSettings s = Load(
      {"gameserver.3.id=20", "gameserver.3.host=10.0.0.5",
       "gameserver.3.port=55919", "gameserver.3.load=80", "gameserver.4.id=21"},
      errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  ASSERT_EQ(s.gameservers.size(), 2u);
  EXPECT_EQ(s.gameservers[0].id, 20);
  EXPECT_EQ(s.gameservers[0].host, "10.0.0.5");
  EXPECT_EQ(s.gameservers[0].load, 80);
  EXPECT_EQ(s.gameservers[1].name, "Server 4");
  config::SettingsErrors dup;
  Load({"gameserver.1.id=5", "gameserver.2.id=5"}, dup);
  EXPECT_EQ(dup.messages().size(), 1u) << Joined(dup);
  config::SettingsErrors bad;
  Load({"gameserver.1.load=101",
        "gameserver.1.host=a-very-long-host-name.example",
        "gameserver.1.color=red", "gameserver.x.id=1", "gameserver.+2.id=1",
        "gameserver. 3.id=1"},
       bad);
  EXPECT_EQ(bad.messages().size(), 6u) << Joined(bad);
}

TEST(ConnectSettingsTest, PrintedIniLoadsToTheSameSettings) {
  testing::Loaded<ConnectSettings> s(
      "", {"server.read_timeout=2.25", "server.bind=::1",
           "security.allowlist=10.0.0.0/8, ::1", "security.ban_file=/tmp/b.txt",
           "log.level=warn", "gameserver.2.name=Two"});
  ASSERT_TRUE(s.errors.empty()) << s.Errors();
  EXPECT_EQ(s.ReloadedPrint(), s.Printed());
  const std::string printed = s.Printed();
  EXPECT_TRUE(absl::StrContains(printed, "read_timeout = 2.25\n"));
  EXPECT_TRUE(absl::StrContains(printed, "allowlist = 10.0.0.0/8, ::1\n"));
  EXPECT_TRUE(
      absl::StrContains(printed, "[gameserver.2]\nid = 2\nname = Two\n"));
}

TEST(ConnectSettingsTest, ShippedFileHoldsEveryKeyAtItsDefaultWithItsComment) {
  const std::string path =
      std::string(MUWARDEN_SOURCE_DIR) + "/config/connect-server.ini";
  testing::Loaded<ConnectSettings> shipped(path, {});
  ASSERT_TRUE(shipped.errors.empty()) << shipped.Errors();
  // /metrics is shipped on loopback (off by default); the control socket
  // lies beside the file.
  EXPECT_EQ(shipped.settings.base.metrics.listen, "127.0.0.1:9405");
  EXPECT_EQ(shipped.settings.base.control.socket,
            std::string(MUWARDEN_SOURCE_DIR) + "/config/connect-server.sock");
  testing::Loaded<ConnectSettings> defaults(
      "", {"security.ban_file=" + shipped.settings.base.server.bans.path,
           "security.known_file=connect-server-known.txt",
           "metrics.listen=127.0.0.1:9405",
           "control.socket=" + shipped.settings.base.control.socket});
  EXPECT_EQ(shipped.Printed(), defaults.Printed());
  testing::ExpectShippedFileIsWhatTheDescriptionsPrint(shipped.schema,
                                                       ConnectProgram(), path);
}

TEST(ConnectSettingsTest, DefaultBanFileIsThisServersOwnBesideTheConfig) {
  // Two servers sharing one file would rewrite each other's bans away, so
  // each has its own by default; a file named explicitly is read as given.
  ::muwarden::testing::TempDir dir("connect-server_bans");
  const std::string ini = dir.Write("connect-server.ini", "[server]\nport = 1\n");
  testing::Loaded<ConnectSettings> loaded(ini, {});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.Errors();
  EXPECT_EQ(Normal(loaded.settings.base.server.bans.path),
            Normal(dir.Path("connect-server-bans.txt")));
  const std::string named =
      dir.Write("named.ini", "[security]\nban_file = bans.txt\n");
  testing::Loaded<ConnectSettings> explicit_name(named, {});
  ASSERT_TRUE(explicit_name.errors.empty()) << explicit_name.Errors();
  EXPECT_EQ(Normal(explicit_name.settings.base.server.bans.path),
            Normal(dir.Path("bans.txt")));
}

}  // namespace
}  // namespace muwarden::connect
