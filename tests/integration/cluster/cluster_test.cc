// SPEC section 11 against the real binaries and a real PostgreSQL server
// (tests/support/postgres_instance.h): two GameServers and a ConnectServer on
// one database. One online session per account across the servers, the live
// server list with its load and a SIGKILLed server leaving it, the `account`
// command on the database, a database that is unreachable at start (exit 1)
// or goes away while running (logins answer 7, the process stays up, and
// recovers by itself). Heartbeats are short so every wait stays short; every
// wait is bounded.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/game/game_client.h"
#include "tests/integration/harness.h"
#include "tests/support/postgres_instance.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);
constexpr absl::Duration kInterval = absl::Milliseconds(200);
constexpr absl::Duration kTimeout = absl::Milliseconds(1500);

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(PostgresInstance::Available())
        << "PostgreSQL 15 is not installed (scripts/setup installs it)";
    ASSERT_EQ(pg_.Init(), "");
    AddAccount("test0", "pass");
    AddAccount("other", "secret");
  }

  void TearDown() override {
    for (ServerProcess* s : {&gs1_, &gs2_, &cs_}) {
      if (s->pid() <= 0) continue;
      const std::string log = s->Log();
      EXPECT_EQ(s->Stop(), 0) << log;
      EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
    }
  }

  std::vector<std::string> DbArgs() const {
    return {"--set", "database.url=" + pg_.url(), "--set",
            absl::StrCat("cluster.heartbeat_interval=",
                         absl::ToDoubleSeconds(kInterval)),
            "--set",
            absl::StrCat("cluster.heartbeat_timeout=",
                         absl::ToDoubleSeconds(kTimeout))};
  }

  void AddAccount(const std::string& name, const std::string& password) {
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat("printf '%s\\n' '", password, "' | ",
                                      BinaryPath("game-server"),
                                      " --set database.url='", pg_.url(),
                                      "' account add ", name),
                         &out),
              0)
        << out;
  }

  void StartGame(ServerProcess& server, int id,
                 std::vector<std::string> extra = {}) {
    const std::string dir = MakeTempDir();
    std::vector<std::string> args = {
        "--bind", "127.0.0.1", "--set",
        absl::StrCat("game.database=", dir, "/unused.db"), "--set",
        absl::StrCat("security.ban_file=", dir, "/bans.txt"), "--set",
        absl::StrCat("cluster.server_id=", id), "--set",
        "ratelimit.conn_rate_limit=65536", "--set",
        "ratelimit.conn_flood_autoban=false", "--set",
        "server.pending_per_ip=64", "--set", "server.multiclient_limit=64",
        "--set", "ratelimit.prefix_conn_rate_limit=65536"};
    for (const std::string& a : DbArgs()) args.push_back(a);
    for (const std::string& e : extra) {
      args.push_back("--set");
      args.push_back(e);
    }
    ASSERT_TRUE(server.Start(BinaryPath("game-server"), args));
  }

  void StartConnect() {
    const std::string dir = MakeTempDir();
    std::vector<std::string> args = {
        "--bind", "127.0.0.1", "--set",
        absl::StrCat("security.ban_file=", dir, "/bans.txt")};
    for (const std::string& a : DbArgs()) args.push_back(a);
    // The list is polled from one address: Layer 1 is not under test here.
    for (const char* s : {"ratelimit.conn_rate_limit=65536",
                          "ratelimit.conn_flood_autoban=false",
                          "server.pending_per_ip=64"}) {
      args.push_back("--set");
      args.push_back(s);
    }
    ASSERT_TRUE(cs_.Start(BinaryPath("connect-server"), args));
  }

  // The login answer on a fresh connection to `server` (-1: none).
  static int LoginOnce(ServerProcess& server, const std::string& user,
                       const std::string& password, GameClient* keep = nullptr) {
    GameClient c;
    if (!c.Connect("127.0.0.1", server.port())) return -1;
    const int answer = c.Login(user, password);
    if (keep != nullptr) *keep = std::move(c);
    return answer;
  }

  // The ConnectServer's list as "id:load" items, sorted by id.
  std::string List() {
    absl::SleepFor(absl::Milliseconds(20));  // polled: not a flood
    RawClient c;
    if (!c.Connect("127.0.0.1", cs_.port())) return "no connect";
    if (c.ReadExactly(4, kIo).size() != 4) return "no hello";
    if (!c.Send(HexBytes("C1 04 F4 06"))) return "send";
    Bytes head = c.ReadExactly(7, kIo);
    if (head.size() != 7) return "short";
    const size_t count = static_cast<size_t>(head[5] << 8 | head[6]);
    Bytes body = c.ReadExactly(4 * count, kIo);
    if (body.size() != 4 * count) return "short body";
    std::string out;
    for (size_t i = 0; i < count; ++i) {
      const int id = body[4 * i] | body[4 * i + 1] << 8;
      absl::StrAppend(&out, out.empty() ? "" : " ", id, ":", body[4 * i + 2]);
    }
    return out;
  }

  // The server-info answer for `id` as "host:port".
  std::string Info(int id) {
    RawClient c;
    if (!c.Connect("127.0.0.1", cs_.port())) return "no connect";
    if (c.ReadExactly(4, kIo).size() != 4) return "no hello";
    if (!c.Send(Bytes{0xC1, 0x06, 0xF4, 0x03, static_cast<uint8_t>(id & 0xFF),
                      static_cast<uint8_t>(id >> 8)})) {
      return "send";
    }
    Bytes p = c.ReadExactly(22, kIo);
    if (p.size() != 22 || p[3] != 0x03) return "no info: " + Hex(p);
    return absl::StrCat(std::string(reinterpret_cast<const char*>(&p[4])), ":",
                        p[20] | p[21] << 8);
  }

  PostgresInstance pg_;
  ServerProcess gs1_, gs2_, cs_;
};

TEST_F(ClusterTest, AccountCommandWorksOnTheDatabase) {
  std::string out;
  const std::string cli = absl::StrCat(BinaryPath("game-server"),
                                       " --set database.url='", pg_.url(), "' ");
  ASSERT_EQ(RunCommand(cli + "account list", &out), 0) << out;
  EXPECT_NE(out.find("test0"), std::string::npos) << out;
  EXPECT_NE(out.find("other"), std::string::npos) << out;
  ASSERT_EQ(RunCommand(cli + "account block other", &out), 0) << out;
  // What the CLI wrote is what a server on the database enforces.
  StartGame(gs1_, 1);
  EXPECT_EQ(LoginOnce(gs1_, "other", "secret"), 5);
  EXPECT_EQ(LoginOnce(gs1_, "test0", "pass"), 1);
  // As with the SQLite file: a taken name (in any case) is a usage error.
  EXPECT_EQ(RunCommand("printf 'x\\n' | " + cli + "account add TEST0", &out), 2)
      << out;
  EXPECT_NE(out.find("is taken"), std::string::npos) << out;
  // The key=value form of the url works too.
  ASSERT_EQ(RunCommand(absl::StrCat(BinaryPath("game-server"),
                                    " --set database.url='", pg_.conninfo(),
                                    "' account show test0"),
                       &out),
            0)
      << out;
}

TEST_F(ClusterTest, OneSessionPerAccountAcrossServers) {
  StartGame(gs1_, 1);
  StartGame(gs2_, 2);
  GameClient first;
  ASSERT_EQ(LoginOnce(gs1_, "test0", "pass", &first), 1);
  // Online on server 1: a login anywhere else is answered 3, in any case.
  EXPECT_EQ(LoginOnce(gs2_, "test0", "pass"), 3);
  EXPECT_EQ(LoginOnce(gs2_, "TEST0", "pass"), 3);
  EXPECT_EQ(LoginOnce(gs1_, "test0", "pass"), 3);
  // A witness on the other account is not affected.
  EXPECT_EQ(LoginOnce(gs2_, "other", "secret"), 1);
  // Still held across several renewals.
  absl::SleepFor(kTimeout + kInterval);
  EXPECT_EQ(LoginOnce(gs2_, "test0", "pass"), 3);
  // The first player leaves: the other server lets the account in within
  // heartbeat_timeout.
  first.raw().Close();
  const absl::Time left = absl::Now();
  int answer = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        answer = LoginOnce(gs2_, "test0", "pass");
        return answer == 1;
      },
      kTimeout))
      << "last answer " << answer;
  EXPECT_LT(absl::Now() - left, kTimeout);
}

TEST_F(ClusterTest, LiveListShowsLoadAndADeadServerLeaves) {
  StartGame(gs1_, 1, {"game.max_players=4", "cluster.public_host=192.0.2.7",
                      "cluster.public_port=6001"});
  StartGame(gs2_, 2, {"game.max_players=10"});
  StartConnect();
  GameClient player;
  ASSERT_EQ(LoginOnce(gs1_, "test0", "pass", &player), 1);
  // 1 of 4 = 25 %, 0 of 10 = 0 %; only live servers (no static section).
  std::string list;
  EXPECT_TRUE(WaitFor(
      [&] {
        list = List();
        return list == "1:25 2:0";
      },
      kTimeout * 2))
      << list;
  EXPECT_EQ(Info(1), "192.0.2.7:6001");
  EXPECT_EQ(Info(2), absl::StrCat("127.0.0.1:", gs2_.port()));
  // SIGKILL: no clean leave; its row stops being renewed and expires.
  gs2_.Signal(SIGKILL);
  const absl::Time killed = absl::Now();
  EXPECT_TRUE(WaitFor(
      [&] {
        list = List();
        return list == "1:25";
      },
      kTimeout + 2 * kInterval + absl::Milliseconds(500)))
      << list;
  EXPECT_LT(absl::Now() - killed, kTimeout + 2 * kInterval + absl::Milliseconds(500));
  gs2_.Stop();  // reaps it; TearDown skips a reaped server
}

TEST_F(ClusterTest, AFloodAutobannedOnOneServerIsRefusedByTheOtherWithinASecond) {
  StartGame(gs1_, 1, {"ratelimit.conn_rate_limit=5",
                      "ratelimit.conn_flood_autoban=true",
                      "ratelimit.flood_ban_threshold=2"});
  StartGame(gs2_, 2);
  // Before the flood the other server serves this address.
  {
    GameClient before;
    ASSERT_TRUE(before.Connect("127.0.0.1", gs2_.port(), "127.0.0.60"));
  }
  // Bounded flood on server 1 until it autobans the address.
  for (int i = 0; i < 40 && !gs1_.WaitForLog("Auto-banned flooding IP",
                                              absl::ZeroDuration());
       ++i) {
    GameClient c;
    c.Connect("127.0.0.1", gs1_.port(), "127.0.0.60");
  }
  ASSERT_TRUE(gs1_.WaitForLog("Auto-banned flooding IP: 127.0.0.60", kIo))
      << gs1_.Log();
  const absl::Time banned = absl::Now();
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::SleepFor(absl::Milliseconds(20));  // polled: not a flood
        GameClient c;
        return !c.Connect("127.0.0.1", gs2_.port(), "127.0.0.60");
      },
      absl::Seconds(1)));
  EXPECT_LT(absl::Now() - banned, absl::Seconds(1));
  EXPECT_TRUE(gs2_.WaitForLog("Rejected banned IP: 127.0.0.60", kIo))
      << gs2_.Log();
  // A witness next door is served by both.
  GameClient witness;
  EXPECT_TRUE(witness.Connect("127.0.0.1", gs2_.port(), "127.0.0.61"));
  EXPECT_EQ(witness.Login("test0", "pass"), 1);
}

// Polled connects from `source` to `server` until one is refused (banned) or
// served, for at most `limit`: whether it came to `refused`.
bool BecomesRefused(ServerProcess& server, const char* source, bool refused,
                    absl::Duration limit) {
  return WaitFor(
      [&] {
        absl::SleepFor(absl::Milliseconds(20));  // polled: not a flood
        GameClient c;
        return c.Connect("127.0.0.1", server.port(), source) != refused;
      },
      limit);
}

TEST_F(ClusterTest, AnOperatorBanAndItsUnbanReachTheOtherServerWithinASecond) {
  const std::string sock = MakeTempDir() + "/gs1.sock";
  StartGame(gs1_, 1, {"control.socket=" + sock});
  StartGame(gs2_, 2);
  const std::string ctl = BinaryPath("muwarden-ctl") + " --socket " + sock + " ";
  std::string out;
  ASSERT_EQ(RunCommand(ctl + "ban 127.0.0.70 --for 600 --reason 'seen guessing'",
                       &out),
            0)
      << out;
  absl::Time made = absl::Now();
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.0.70", true, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - made, absl::Seconds(1));
  EXPECT_TRUE(gs2_.WaitForLog("Rejected banned IP: 127.0.0.70", kIo)) << gs2_.Log();
  // A CIDR ban too, and a witness outside both is served by both.
  ASSERT_EQ(RunCommand(ctl + "ban 127.0.7.0/24", &out), 0) << out;
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.7.200", true, absl::Seconds(1)));
  GameClient witness;
  ASSERT_TRUE(witness.Connect("127.0.0.1", gs2_.port(), "127.0.0.71"));
  EXPECT_EQ(witness.Login("test0", "pass"), 1);
  // The unban on server 1 serves the address on server 2 again.
  ASSERT_EQ(RunCommand(ctl + "unban 127.0.0.70", &out), 0) << out;
  made = absl::Now();
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.0.70", false, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - made, absl::Seconds(1));
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.7.200", true, absl::ZeroDuration()));
}

TEST_F(ClusterTest, ALoginBanOnOneServerIsRefusedByTheOtherWithinASecond) {
  StartGame(gs1_, 1, {"game.login_ip_fail_limit=3"});
  StartGame(gs2_, 2);
  for (int i = 0; i < 10 && !gs1_.WaitForLog("banned 127.0.0.90",
                                              absl::ZeroDuration());
       ++i) {
    GameClient c;
    if (c.Connect("127.0.0.1", gs1_.port(), "127.0.0.90")) c.Login("test0", "wrong");
  }
  ASSERT_TRUE(gs1_.WaitForLog("banned 127.0.0.90", kIo)) << gs1_.Log();
  const absl::Time banned = absl::Now();
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.0.90", true, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - banned, absl::Seconds(1));
  GameClient witness;
  ASSERT_TRUE(witness.Connect("127.0.0.1", gs2_.port(), "127.0.0.91"));
  EXPECT_EQ(witness.Login("other", "secret"), 1);
}

TEST_F(ClusterTest, APrefixBanSpreadsAndSparesABlockKnownOnAnotherServer) {
  // Two flooding blocks of 127.0.5.0/24 autobanned on server 1 ban the prefix.
  StartGame(gs1_, 1, {"ratelimit.conn_rate_limit=5",
                      "ratelimit.conn_flood_autoban=true",
                      "ratelimit.flood_ban_threshold=2",
                      "ratelimit.prefix_ban_threshold=2"});
  StartGame(gs2_, 2);
  // A player of that prefix logged in on server 2 before: a known block, in
  // the database for server 1 too.
  {
    GameClient player;
    ASSERT_TRUE(player.Connect("127.0.0.1", gs2_.port(), "127.0.5.9"));
    ASSERT_EQ(player.Login("test0", "pass"), 1);
  }
  absl::SleepFor(absl::Seconds(1));  // shared within a second
  for (const char* attacker : {"127.0.5.1", "127.0.5.2"}) {
    for (int i = 0; i < 40 && !gs1_.WaitForLog(
                                  absl::StrCat("Auto-banned flooding IP: ", attacker),
                                  absl::ZeroDuration());
         ++i) {
      GameClient c;
      c.Connect("127.0.0.1", gs1_.port(), attacker);
    }
  }
  ASSERT_TRUE(gs1_.WaitForLog("127.0.5.0/24", kIo)) << gs1_.Log();
  const absl::Time banned = absl::Now();
  // Server 2 refuses a newcomer of the prefix within a second...
  EXPECT_TRUE(BecomesRefused(gs2_, "127.0.5.77", true, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - banned, absl::Seconds(1));
  // ...and both serve the known player's block: server 1 knows it only from
  // the database.
  GameClient on1, on2;
  ASSERT_TRUE(on1.Connect("127.0.0.1", gs1_.port(), "127.0.5.9")) << gs1_.Log();
  EXPECT_EQ(on1.Login("other", "secret"), 1);
  ASSERT_TRUE(on2.Connect("127.0.0.1", gs2_.port(), "127.0.5.9")) << gs2_.Log();
  EXPECT_EQ(on2.Login("test0", "pass"), 1);
}

TEST_F(ClusterTest, DatabaseAwayLoginsAnswerSevenThenRecoverByThemselves) {
  StartGame(gs1_, 1);
  ASSERT_EQ(LoginOnce(gs1_, "other", "secret"), 1);
  pg_.Stop();
  const absl::Time start = absl::Now();
  EXPECT_EQ(LoginOnce(gs1_, "test0", "pass"), 7);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(LoginOnce(gs1_, "test0", "pass"), 7);
  // The process is up and still accepting: a newcomer gets its join packet.
  EXPECT_EQ(kill(gs1_.pid(), 0), 0);
  GameClient newcomer;
  EXPECT_TRUE(newcomer.Connect("127.0.0.1", gs1_.port()));
  ASSERT_EQ(pg_.Start(), "");
  int answer = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        answer = LoginOnce(gs1_, "test0", "pass");
        return answer == 1;
      },
      absl::Seconds(10)))
      << "last answer " << answer;
}

TEST_F(ClusterTest, UnreachableDatabaseAtStartIsExitOneWithTheReason) {
  pg_.Stop();
  std::string out;
  const int status = RunCommand(
      absl::StrCat(BinaryPath("game-server"), " --bind 127.0.0.1 --port 0",
                   " --set database.url='", pg_.url(), "' 2>&1"),
      &out);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("cannot connect to PostgreSQL"), std::string::npos) << out;
  const int cs_status = RunCommand(
      absl::StrCat(BinaryPath("connect-server"), " --bind 127.0.0.1 --port 0",
                   " --set database.url='", pg_.url(), "' 2>&1"),
      &out);
  EXPECT_EQ(cs_status, 1) << out;
  EXPECT_NE(out.find("cannot connect to PostgreSQL"), std::string::npos) << out;
}

}  // namespace
}  // namespace muwarden::testing
