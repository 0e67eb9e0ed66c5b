#include "common/config/settings.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/config/command_line.h"
#include "gtest/gtest.h"

namespace muwarden::config {
namespace {

ServerSettings Load(ServerKind kind, const std::string& ini,
                    const std::vector<std::string>& sets,
                    SettingsErrors& errors) {
  ServerSettings s = DefaultSettings(kind);
  std::vector<Assignment> all = ParseIni(ini, "test.ini", errors);
  for (const auto& set : sets) {
    Assignment a;
    if (ParseSetFlag(set, &a, errors)) all.push_back(a);
  }
  Apply(all, s, errors);
  ValidateWhole(s, errors);
  return s;
}

std::string Joined(const SettingsErrors& errors) {
  std::string out;
  for (const auto& m : errors.messages()) out += m + "\n";
  return out;
}

TEST(SettingsTest, DefaultsMatchTheSpec) {
  ServerSettings c = DefaultSettings(ServerKind::kConnect);
  EXPECT_EQ(c.server.name, "ConnectServer");
  EXPECT_EQ(c.server.bind, "0.0.0.0");
  EXPECT_EQ(c.server.port, 44405);
  EXPECT_EQ(c.server.max_clients, 1024);
  EXPECT_EQ(c.server.multiclient_limit, 16);
  EXPECT_EQ(c.server.handshake_timeout, absl::Seconds(20));
  EXPECT_EQ(c.server.read_timeout, absl::Seconds(15));
  EXPECT_EQ(c.server.write_timeout, absl::Seconds(15));
  EXPECT_EQ(c.server.max_packet_size, 255);
  EXPECT_EQ(c.server.worker_stack_kib, 256);
  EXPECT_EQ(c.server.arena_kib, 64);
  EXPECT_EQ(c.server.max_tracked_ips, 65536);
  EXPECT_EQ(c.ratelimit.conn_rate_limit, 10);
  EXPECT_EQ(c.ratelimit.conn_rate_window, absl::Seconds(10));
  EXPECT_TRUE(c.ratelimit.conn_flood_autoban);
  EXPECT_EQ(c.ratelimit.flood_ban_threshold, 6);
  EXPECT_EQ(c.ratelimit.flood_ban_duration, absl::Seconds(3600));
  EXPECT_EQ(c.ratelimit.raw_pkt_rate_limit, 20);
  EXPECT_EQ(c.ratelimit.raw_pkt_rate_window, absl::Seconds(2));
  EXPECT_EQ(c.ratelimit.chat_rate_limit, 20);
  EXPECT_EQ(c.ratelimit.chat_rate_window, absl::Seconds(10));
  EXPECT_EQ(c.ratelimit.whisper_rate_limit, 4);
  EXPECT_EQ(c.ratelimit.whisper_rate_window, absl::Seconds(1));
  EXPECT_EQ(c.security.ban_file, "");
  EXPECT_EQ(c.security.log_burst, 10);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
  ServerSettings g = DefaultSettings(ServerKind::kGame);
  EXPECT_EQ(g.server.name, "GameServer");
  EXPECT_EQ(g.server.port, 55901);
  EXPECT_EQ(g.server.handshake_timeout, absl::Seconds(120));
  EXPECT_EQ(g.server.max_packet_size, 8192);
  EXPECT_EQ(g.game.max_players, 1000);
}

TEST(SettingsTest, IniAndSetApplyInOrder) {
  SettingsErrors errors;
  ServerSettings s = Load(ServerKind::kConnect,
                          "[server]\nport = 1234\nhandshake_timeout = 0.5\n"
                          "[ratelimit]\nconn_flood_autoban = false\n",
                          {"server.port=4321", "log.level=debug"}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  EXPECT_EQ(s.server.port, 4321);  // flags after the file
  EXPECT_EQ(s.server.handshake_timeout, absl::Milliseconds(500));
  EXPECT_FALSE(s.ratelimit.conn_flood_autoban);
  EXPECT_EQ(s.log.level, LogLevel::kDebug);
}

TEST(SettingsTest, EveryBadKeyIsNamedWithItsReason) {
  SettingsErrors errors;
  Load(ServerKind::kConnect,
       "[server]\nport = 70000\nmax_clients = lots\nbogus = 1\n[nosuch]\nx = "
       "1\n",
       {"ratelimit.conn_rate_window=-1", "security.allowlist=10.0.0.0/40",
        "noequals"},
       errors);
  const std::string all = Joined(errors);
  EXPECT_EQ(errors.messages().size(), 7u) << all;
  EXPECT_NE(all.find("server.port: out of range: 70000 (allowed 0..65535)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("server.max_clients: not a whole number"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("server.bogus: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("nosuch.x: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("ratelimit.conn_rate_window: out of range"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("security.allowlist: not an IP address or CIDR"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("--set noequals: expected SECTION.KEY=VALUE"),
            std::string::npos)
      << all;
}

TEST(SettingsTest, GameKeysAreUnknownToTheConnectServer) {
  SettingsErrors errors;
  Load(ServerKind::kConnect, "[game]\nmax_players = 5\n", {}, errors);
  EXPECT_EQ(errors.messages().size(), 1u);
  SettingsErrors game_errors;
  ServerSettings g =
      Load(ServerKind::kGame, "[game]\nmax_players = 5\n", {}, game_errors);
  EXPECT_TRUE(game_errors.empty()) << Joined(game_errors);
  EXPECT_EQ(g.game.max_players, 5);
}

TEST(SettingsTest, ArenaMustHoldTheFrameBuffers) {
  SettingsErrors errors;
  Load(ServerKind::kGame, "[server]\nmax_packet_size = 65535\narena_kib = 64\n",
       {}, errors);
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_NE(errors.messages()[0].find("server.arena_kib"), std::string::npos);
}

TEST(SettingsTest, GameServerSectionsReplaceTheDefaultAndRejectDuplicateIds) {
  SettingsErrors errors;
  ServerSettings s =
      Load(ServerKind::kConnect,
           "[gameserver.3]\nid = 20\nhost = 10.0.0.5\nport = 55919\nload = 80\n"
           "[gameserver.4]\nid = 21\n",
           {}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  ASSERT_EQ(s.gameservers.size(), 2u);
  EXPECT_EQ(s.gameservers[0].id, 20);
  EXPECT_EQ(s.gameservers[0].host, "10.0.0.5");
  EXPECT_EQ(s.gameservers[0].load, 80);
  SettingsErrors dup;
  Load(ServerKind::kConnect, "[gameserver.1]\nid = 5\n[gameserver.2]\nid = 5\n",
       {}, dup);
  EXPECT_EQ(dup.messages().size(), 1u);
  SettingsErrors bad;
  Load(ServerKind::kConnect,
       "[gameserver.1]\nload = 101\nhost = "
       "a-very-long-host-name.example\ncolor = red\n",
       {}, bad);
  EXPECT_EQ(bad.messages().size(), 3u) << Joined(bad);
}

TEST(SettingsTest, PrintedIniLoadsToTheSameSettings) {
  for (ServerKind kind : {ServerKind::kConnect, ServerKind::kGame}) {
    SettingsErrors errors;
    ServerSettings s =
        Load(kind,
             "[server]\nread_timeout = 2.25\nbind = ::1\n"
             "[security]\nallowlist = 10.0.0.0/8, ::1\nban_file = /tmp/b.txt\n"
             "[log]\nlevel = warn\n",
             {}, errors);
    ASSERT_TRUE(errors.empty()) << Joined(errors);
    const std::string printed = PrintIni(s);
    SettingsErrors again;
    ServerSettings reloaded = Load(kind, printed, {}, again);
    ASSERT_TRUE(again.empty()) << Joined(again) << printed;
    EXPECT_EQ(PrintIni(reloaded), printed);
    EXPECT_EQ(reloaded.server.read_timeout, absl::Milliseconds(2250));
    EXPECT_EQ(reloaded.security.allowlist, "10.0.0.0/8, ::1");
  }
}

TEST(SettingsTest, FormatSecondsIsShort) {
  EXPECT_EQ(FormatSeconds(absl::Seconds(15)), "15");
  EXPECT_EQ(FormatSeconds(absl::Milliseconds(500)), "0.5");
  EXPECT_EQ(FormatSeconds(absl::Milliseconds(1250)), "1.25");
  EXPECT_EQ(FormatSeconds(absl::ZeroDuration()), "0");
}

std::string WriteFile(const std::string& name, const std::string& text) {
  char tmpl[] = "/tmp/muwarden-settings-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CommandLineTest,
     ConfigDirectoryResolvesRelativePathsAndTheDefaultBanFile) {
  const std::string path = WriteFile("c.ini", "[log]\nfile = server.log\n");
  const std::string dir = path.substr(0, path.rfind('/'));
  SettingsErrors errors;
  ServerSettings s = LoadSettings(ServerKind::kConnect, path, {}, errors);
  ASSERT_TRUE(errors.empty()) << Joined(errors);
  EXPECT_EQ(s.log.file, dir + "/server.log");
  EXPECT_EQ(s.security.ban_file, dir + "/bans.txt");
  SettingsErrors none;
  EXPECT_EQ(LoadSettings(ServerKind::kConnect, "", {}, none).security.ban_file,
            "");
}

TEST(CommandLineTest, ExitCodes) {
  std::ostringstream out, err;
  auto run = [&](std::vector<const char*> args) {
    out.str("");
    err.str("");
    args.insert(args.begin(), "connect-server");
    return ParseCommandLine(ServerKind::kConnect, static_cast<int>(args.size()),
                            args.data(), out, err);
  };
  EXPECT_EQ(run({"--set", "server.port=70000"}).exit_code, kExitUsage);
  EXPECT_NE(err.str().find("server.port"), std::string::npos);
  EXPECT_NE(err.str().find("0..65535"), std::string::npos);
  EXPECT_EQ(run({"--check-config"}).exit_code, kExitOk);
  EXPECT_EQ(run({"--print-config", "--port", "1000"}).exit_code, kExitOk);
  EXPECT_NE(out.str().find("port = 1000"), std::string::npos);
  EXPECT_EQ(run({"--version"}).exit_code, kExitOk);
  EXPECT_EQ(run({"--help"}).exit_code, kExitOk);
  EXPECT_EQ(run({"--no-such-flag"}).exit_code, kExitUsage);
  EXPECT_EQ(run({"--config", "/nonexistent/x.ini"}).exit_code, kExitUsage);
  EXPECT_NE(err.str().find("/nonexistent/x.ini"), std::string::npos);
  CommandLine ok =
      run({"--bind", "::1", "--set", "ratelimit.conn_rate_limit=5"});
  EXPECT_FALSE(ok.exit_code.has_value());
  EXPECT_EQ(ok.settings.server.bind, "::1");
  EXPECT_EQ(ok.settings.ratelimit.conn_rate_limit, 5);
}

TEST(CommandLineTest, ShippedConfigFilesHoldEveryKeyAtItsDefault) {
  for (ServerKind kind : {ServerKind::kConnect, ServerKind::kGame}) {
    const std::string name =
        kind == ServerKind::kConnect ? "connect-server.ini" : "game-server.ini";
    const std::string path =
        std::string(MUWARDEN_SOURCE_DIR) + "/config/" + name;
    SettingsErrors errors;
    ServerSettings shipped = LoadSettings(kind, path, {}, errors);
    ASSERT_TRUE(errors.empty()) << Joined(errors);
    ServerSettings defaults = DefaultSettings(kind);
    defaults.security.ban_file = shipped.security.ban_file;
    if (kind == ServerKind::kGame) {
      // The documented deviations: game-server.ini raises the raw packet limit
      // to fit a real client in combat, and the read timeout to fit its 20 s
      // keep-alive.
      EXPECT_EQ(shipped.ratelimit.raw_pkt_rate_limit, 60);
      defaults.ratelimit.raw_pkt_rate_limit = 60;
      EXPECT_EQ(shipped.server.read_timeout, absl::Seconds(45));
      defaults.server.read_timeout = absl::Seconds(45);
      defaults.game.database = shipped.game.database;
    }
    EXPECT_EQ(PrintIni(shipped), PrintIni(defaults)) << name;
    // Every key the loader knows appears in the file, in its own section.
    auto keys_of = [](std::istream& in) {
      std::set<std::string> keys;
      std::string line, section;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == ';' || line[0] == '#') continue;
        if (line[0] == '[') {
          section = line.substr(1, line.find(']') - 1);
          continue;
        }
        keys.insert(section + "." + line.substr(0, line.find(" =")));
      }
      return keys;
    };
    std::ifstream file(path);
    std::istringstream printed(PrintIni(defaults));
    const std::set<std::string> in_file = keys_of(file);
    for (const std::string& key : keys_of(printed)) {
      EXPECT_TRUE(in_file.count(key)) << name << " lacks " << key;
    }
  }
}

}  // namespace
}  // namespace muwarden::config
