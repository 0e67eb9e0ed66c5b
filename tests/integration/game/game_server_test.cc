// The real game-server binary on loopback, driven by a client that encrypts
// like a Season 6 client: login answers, the brute-force throttle and bans,
// character list, logout, chat and whisper with their limits, a stalled
// reader, read deadlines and malformed packets. Each attack runs beside a
// witness client that must stay unharmed.
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/game/game_client.h"
#include "tests/integration/harness.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);
// Every class is open on the create screen (unlock flags 0F).
const Bytes kEmptyCharacterList = HexBytes("C1 08 F3 00 0F 00 00 00");
const Bytes kCharacterListRequest = HexBytes("C1 05 F3 00 00");

// A character list answer (C1 <len> F3 00 ...), whatever characters earlier
// tests of this process created.
bool IsCharacterList(const std::optional<Bytes>& p) {
  return p.has_value() && p->size() >= 8 && (*p)[0] == 0xC1 &&
         (*p)[2] == 0xF3 && (*p)[3] == 0x00;
}

bool IsClosed(ReadEnd end) {
  return end == ReadEnd::kEof || end == ReadEnd::kReset;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class GameServerTest : public ::testing::Test {
 protected:
  // One account database for the suite: accounts are created with the real
  // `game-server account` command (password on stdin) before any server runs.
  static void SetUpTestSuite() {
    db_dir_ = new std::string(MakeTempDir());
    const std::string bin = BinaryPath("game-server");
    const std::string db = *db_dir_ + "/accounts.db";
    for (const auto& [name, password] :
         std::vector<std::pair<std::string, std::string>>{
             {"test0", "pass"},
             {"other", "secret"},
             {"third", "pw3"},
             {"blocked1", "pw"},
             {"victim", "right"}}) {
      std::string out;
      ASSERT_EQ(RunCommand(absl::StrCat("printf '%s\\n' '", password, "' | ",
                                        bin, " --set game.database=", db,
                                        " account add ", name),
                           &out),
                0)
          << out;
    }
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat(bin, " --set game.database=", db,
                                      " account block blocked1"),
                         &out),
              0)
        << out;
  }
  static void TearDownTestSuite() {
    delete db_dir_;
    db_dir_ = nullptr;
  }

  // A clean exit proves the shutdown path, and under the sanitizers also that
  // the server process had no report (they make the exit status non-zero).
  void TearDown() override {
    if (server_.pid() <= 0) return;
    const int status = server_.Stop();
    const std::string log = server_.Log();
    EXPECT_EQ(status, 0) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
  }

  void Start(std::vector<std::string> extra = {}) {
    dir_ = MakeTempDir();
    std::vector<std::string> args = {
        "--bind", "127.0.0.1", "--set",
        absl::StrCat("game.database=", *db_dir_, "/accounts.db"), "--set",
        absl::StrCat("security.ban_file=", dir_, "/bans.txt"),
        // Many test clients come from few addresses: Layer 1 is not what
        // these tests are about.
        "--set", "ratelimit.conn_rate_limit=1000", "--set",
        "server.multiclient_limit=64"};
    for (auto& e : extra) {
      args.push_back("--set");
      args.push_back(e);
    }
    ASSERT_TRUE(server_.Start(BinaryPath("game-server"), args));
  }

  // A connected client from 127.0.0.<octet> that has read its join packet.
  GameClient Client(int octet, int rcvbuf = 0) {
    GameClient c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server_.port(),
                          absl::StrCat("127.0.0.", octet), rcvbuf));
    return c;
  }
  GameClient LoggedIn(int octet, const std::string& user,
                      const std::string& password) {
    GameClient c = Client(octet);
    EXPECT_EQ(c.Login(user, password), 1) << user;
    return c;
  }
  // Chat is spoken in the world: logged in with `character` selected.
  GameClient InWorld(int octet, const std::string& user,
                     const std::string& password,
                     const std::string& character, int rcvbuf = 0) {
    GameClient c = Client(octet, rcvbuf);
    EXPECT_TRUE(c.EnterWorld(user, password, character)) << user;
    return c;
  }

  static std::string* db_dir_;
  std::string dir_;
  ServerProcess server_;
};

std::string* GameServerTest::db_dir_ = nullptr;

TEST_F(GameServerTest, GoodLoginGetsOkThenTheCharacterList) {
  Start();
  GameClient c = Client(2);
  EXPECT_EQ(Hex(Bytes(c.join().begin(), c.join().begin() + 5)),
            "C1 0C F1 00 01");
  EXPECT_EQ(std::string(c.join().begin() + 7, c.join().end()), "10404");
  EXPECT_EQ(c.Login("test0", "pass"), 1);
  ASSERT_TRUE(c.Send(kCharacterListRequest));
  EXPECT_EQ(c.ReadPacket(kIo), kEmptyCharacterList);  // the first test: no characters yet
  EXPECT_TRUE(server_.WaitForLog("login: test0 from 127.0.0.2", kIo));
}

TEST_F(GameServerTest, ShortPasswordVariantLogsIn) {
  Start();
  GameClient c = Client(2);
  EXPECT_EQ(c.Login("other", "secret", game::LoginVariant::kShortPassword), 1);
}

TEST_F(GameServerTest, GoodLoginOverIpv6) {
  MUWARDEN_SKIP_WITHOUT_IPV6();
  dir_ = MakeTempDir();
  ASSERT_TRUE(server_.Start(
      BinaryPath("game-server"),
      {"--bind", "::1", "--set",
       absl::StrCat("game.database=", *db_dir_, "/accounts.db")}));
  GameClient c;
  ASSERT_TRUE(c.Connect("::1", server_.port()));
  EXPECT_EQ(c.Login("test0", "pass"), 1);
  ASSERT_TRUE(c.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(c.ReadPacket(kIo)));
}

TEST_F(GameServerTest, WrongPasswordAndUnknownAccountGetZero) {
  Start();
  GameClient c = Client(3);
  EXPECT_EQ(c.Login("test0", "wrong"), 0);
  EXPECT_EQ(c.Login("nosuchuser", "pass"), 0);
  EXPECT_TRUE(server_.WaitForLog(
      "WARN [security] Login failed: 127.0.0.3 (account test0)", kIo));
  EXPECT_TRUE(server_.WaitForLog(
      "WARN [security] Login failed: 127.0.0.3 (account nosuchuser)", kIo));
}

TEST_F(GameServerTest, ThreeFailuresGetEightAndADisconnect) {
  Start();
  GameClient witness = LoggedIn(10, "other", "secret");
  GameClient c = Client(4);
  EXPECT_EQ(c.Login("test0", "bad1"), 0);
  EXPECT_EQ(c.Login("test0", "bad2"), 0);
  EXPECT_EQ(c.Login("test0", "bad3"), 8);
  size_t extra = 0;
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo, &extra)));
  EXPECT_EQ(extra, 0u);
  EXPECT_EQ(server_.CountInLog("Login failed: 127.0.0.4"), 3);
  ASSERT_TRUE(witness.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(witness.ReadPacket(kIo)));
}

TEST_F(GameServerTest, BlockedAccountGetsFive) {
  Start();
  GameClient c = Client(5);
  EXPECT_EQ(c.Login("blocked1", "pw"), 5);
  // Still connected and may try another account.
  EXPECT_EQ(c.Login("test0", "pass"), 1);
}

TEST_F(GameServerTest, UnacceptedSerialGetsSixAndCloses) {
  Start({"game.accepted_serials=AAAAAAAAAAAAAAAA"});
  GameClient c = Client(6);
  ASSERT_TRUE(c.Send(LoginPacket("test0", "pass")));
  EXPECT_EQ(c.ReadPacket(kIo), HexBytes("C1 05 F1 01 06"));
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo)));
}

TEST_F(GameServerTest, SecondLoginOfTheSameAccountGetsThree) {
  Start();
  GameClient a = LoggedIn(2, "test0", "pass");
  GameClient b = Client(3);
  EXPECT_EQ(b.Login("TEST0", "pass"), 3);
}

TEST_F(GameServerTest, MaxPlayersCountsLoggedInOnly) {
  Start({"game.max_players=1"});
  GameClient idle1 = Client(7);  // joined sockets take no player slot
  GameClient idle2 = Client(8);
  GameClient a = LoggedIn(2, "test0", "pass");
  GameClient b = Client(3);
  EXPECT_EQ(b.Login("other", "secret"), 4);
  // Logging out frees the slot.
  ASSERT_TRUE(a.Send(HexBytes("C3 05 F1 02 00")));
  EXPECT_EQ(a.ReadPacket(kIo), HexBytes("C3 05 F1 02 00"));
  EXPECT_TRUE(IsClosed(a.raw().WaitClosed(kIo)));
  EXPECT_TRUE(WaitFor([&] { return b.Login("other", "secret") == 1; }, kIo));
}

TEST_F(GameServerTest, LogoutAnswerIsEncryptedAndClosesThenTheAccountIsFree) {
  Start();
  GameClient a = LoggedIn(2, "test0", "pass");
  ASSERT_TRUE(a.Send(HexBytes("C3 05 F1 02 01")));  // back to character select
  EXPECT_EQ(a.ReadPacket(kIo), HexBytes("C3 05 F1 02 01"));
  ASSERT_TRUE(a.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(a.ReadPacket(kIo)));
  // The raw answer is 13 bytes of SimpleModulus (counter 1 by now); ReadPacket
  // decrypted it with the server-to-client keys.
  ASSERT_TRUE(a.Send(HexBytes("C3 05 F1 02 00")));
  EXPECT_EQ(a.ReadPacket(kIo), HexBytes("C3 05 F1 02 00"));
  EXPECT_TRUE(IsClosed(a.raw().WaitClosed(kIo)));
  GameClient b = Client(3);
  EXPECT_TRUE(WaitFor([&] { return b.Login("test0", "pass") == 1; }, kIo));
}

TEST_F(GameServerTest, ChatFromOnePlayerReachesAnotherAndEchoes) {
  Start({"game.view_range=255"});
  GameClient a = InWorld(2, "test0", "pass", "Tzero");
  GameClient b = InWorld(3, "other", "secret", "Tother");
  // The name field is the client's claim; the server sends the character's.
  ASSERT_TRUE(a.Send(ChatPacket(0x00, "admin", "hello there")));
  EXPECT_EQ(b.ReadCode(0x00, -1, kIo),
            ServerChat(0x00, "Tzero", "hello there"));
  EXPECT_EQ(a.ReadCode(0x00, -1, kIo),
            ServerChat(0x00, "Tzero", "hello there"));
}

TEST_F(GameServerTest, WhisperReachesOnlyTheNamedCharacter) {
  Start({"game.view_range=255"});
  GameClient a = InWorld(2, "test0", "pass", "Tzero");
  GameClient b = InWorld(3, "other", "secret", "Tother");
  GameClient c = InWorld(4, "third", "pw3", "Tthird");
  ASSERT_TRUE(a.Send(ChatPacket(0x02, "TOTHER", "psst")));
  EXPECT_EQ(b.ReadCode(0x02, -1, kIo), ServerChat(0x02, "Tzero", "psst"));
  // The account name is nobody's character name.
  ASSERT_TRUE(a.Send(ChatPacket(0x02, "other", "psst")));
  EXPECT_FALSE(c.ReadCode(0x02, -1, absl::Milliseconds(300)).has_value());
  EXPECT_FALSE(b.ReadCode(0x02, -1, absl::Milliseconds(300)).has_value());
}

TEST_F(GameServerTest, ChatFloodIsDroppedAboveTheLimit) {
  Start({"ratelimit.chat_rate_limit=5", "ratelimit.chat_rate_window=60",
         "ratelimit.raw_pkt_rate_limit=1000", "game.view_range=255"});
  GameClient a = InWorld(2, "test0", "pass", "Tzero");
  GameClient b = InWorld(3, "other", "secret", "Tother");
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(a.Send(ChatPacket(0x00, "", absl::StrCat("spam ", i))));
  }
  // A's frames are handled in order: once A has its whisper to itself back,
  // every chat it sent has been broadcast or dropped.
  ASSERT_TRUE(a.Send(ChatPacket(0x02, "Tzero", "marker")));
  EXPECT_EQ(a.ReadCode(0x02, -1, kIo), ServerChat(0x02, "Tzero", "marker"));
  std::vector<Bytes> got;
  while (auto p = b.ReadCode(0x00, -1, absl::Milliseconds(500))) {
    got.push_back(*p);
  }
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i], ServerChat(0x00, "Tzero", absl::StrCat("spam ", i)));
  }
  // The flooder is not disconnected: excess chat is only dropped.
  ASSERT_TRUE(a.Send(ChatPacket(0x02, "Tzero", "marker")));
  EXPECT_EQ(a.ReadCode(0x02, -1, kIo), ServerChat(0x02, "Tzero", "marker"));
}

TEST_F(GameServerTest, StalledReaderIsDisconnectedWhileOthersKeepChatting) {
  Start({"server.write_timeout=1", "ratelimit.chat_rate_limit=65536",
         "ratelimit.chat_rate_window=1", "ratelimit.raw_pkt_rate_limit=65536",
         "ratelimit.raw_pkt_rate_window=1", "game.view_range=255"});
  GameClient a = InWorld(21, "test0", "pass", "Tzero");
  GameClient b = InWorld(22, "other", "secret", "Tother");
  GameClient c = InWorld(23, "third", "pw3", "Tthird", /*rcvbuf=*/4096);
  // Drain what entering brought (the others appearing).
  a.raw().ReadAvailable(absl::Milliseconds(200));
  // From here on C never reads.

  std::atomic<bool> stop{false};
  std::atomic<int> b_received{0};
  std::atomic<int> b_wrong{0};
  // A gets its own chat back: it drains it so that it never stalls itself.
  std::thread echoes([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (!stop.load() && absl::Now() < give_up) {
      a.ReadPacket(absl::Milliseconds(100));
    }
  });
  std::thread reader([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (!stop.load() && absl::Now() < give_up) {
      auto p = b.ReadPacket(absl::Milliseconds(100));
      if (!p.has_value()) continue;
      if (p->size() > 13 && (*p)[2] == 0x00) {
        b_received.fetch_add(1);
      } else if ((*p)[0] == 0xC2 || (*p)[2] == 0x14) {
        // C entering (12) and, once cut off, leaving (14) B's view.
      } else {
        b_wrong.fetch_add(1);
      }
    }
  });

  const std::string message(200, 'm');
  const std::string timeout_line = "Write timeout: 127.0.0.23";
  int sent = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  bool c_dropped = false;
  while (absl::Now() < deadline && sent < 200000) {
    ASSERT_TRUE(a.Send(ChatPacket(0x00, "", message)));
    ++sent;
    if (sent % 20 != 0) continue;
    // B reads as fast as it can, but its worker and reader share two busy
    // cores with everything else: keeping at most kInFlight messages on the
    // way to B keeps B's queue (256) from ever filling, so every loss below
    // would be the server's fault.
    constexpr int kInFlight = 100;
    ASSERT_TRUE(WaitFor([&] { return sent - b_received.load() <= kInFlight; },
                        absl::Seconds(10)))
        << b_received.load() << " of " << sent;
    if (server_.CountInLog(timeout_line) > 0) {
      c_dropped = true;
      break;
    }
  }
  EXPECT_TRUE(c_dropped) << "sent " << sent << "\n" << server_.Log();
  RecordProperty("messages_until_write_timeout", sent);
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(absl::Seconds(10))));
  // B saw every message, and A and B keep chatting after C is gone.
  ASSERT_TRUE(a.Send(ChatPacket(0x00, "", "still here")));
  ++sent;
  EXPECT_TRUE(
      WaitFor([&] { return b_received.load() == sent; }, absl::Seconds(20)))
      << b_received.load() << " of " << sent;
  stop.store(true);
  reader.join();
  echoes.join();
  EXPECT_EQ(b_wrong.load(), 0);
  ASSERT_TRUE(b.Send(ChatPacket(0x00, "", "reply")));
  const Bytes reply = ServerChat(0x00, "Tother", "reply");
  EXPECT_TRUE(
      a.ReadUntil([&](const Bytes& p) { return p == reply; }, kIo).has_value());
  EXPECT_EQ(server_.CountInLog("Write timeout: 127.0.0.21"), 0);
  EXPECT_EQ(server_.CountInLog("Write timeout: 127.0.0.22"), 0);
}

TEST_F(GameServerTest, LoginWithAWrongCounterClosesAsMalformed) {
  Start();
  GameClient witness = LoggedIn(10, "other", "secret");
  GameClient c = Client(11);
  c.Encrypt(PingPacket(1));  // counter 0 used but never sent
  ASSERT_TRUE(c.Send(LoginPacket("test0", "pass")));
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo)));
  EXPECT_TRUE(
      server_.WaitForLog("WARN [security] Malformed packet: 127.0.0.11", kIo));
  ASSERT_TRUE(witness.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(witness.ReadPacket(kIo)));
}

TEST_F(GameServerTest, LoginWithABadChecksumClosesAsMalformed) {
  Start();
  GameClient c = Client(12);
  Bytes wire = c.Encrypt(LoginPacket("test0", "pass"));
  wire[2 + 10] ^= 0x5A;  // the first block's checksum byte
  ASSERT_TRUE(c.SendRaw(wire));
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo)));
  EXPECT_TRUE(
      server_.WaitForLog("WARN [security] Malformed packet: 127.0.0.12", kIo));
}

TEST_F(GameServerTest, ChatOpcodeBeforeTheHandshakeClosesAsMalformed) {
  Start();
  // C1 chat: refused by the frame gate.
  GameClient c = Client(13);
  ASSERT_TRUE(c.Send(ChatPacket(0x00, "x", "hi")));
  EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo)));
  EXPECT_TRUE(server_.WaitForLog(
      "Malformed packet: 127.0.0.13 (opcode 0x00 before handshake)", kIo));
  // The same chat wrapped in C3: refused once decrypted.
  GameClient d = Client(14);
  Bytes chat = ChatPacket(0x00, "x", "hi");
  chat[0] = 0xC3;
  ASSERT_TRUE(d.Send(chat));
  EXPECT_TRUE(IsClosed(d.raw().WaitClosed(kIo)));
  EXPECT_TRUE(server_.WaitForLog(
      "Malformed packet: 127.0.0.14 (opcode 0x00 before login)", kIo));
}

TEST_F(GameServerTest, SilentClientIsClosedAtTheReadDeadlineAPingingOneIsNot) {
  Start({"server.read_timeout=1"});
  GameClient silent = LoggedIn(31, "test0", "pass");
  GameClient pinger = LoggedIn(32, "other", "secret");
  const absl::Time start = absl::Now();
  uint32_t tick = 0;
  while (absl::Now() - start < absl::Milliseconds(2500)) {
    ASSERT_TRUE(pinger.Send(PingPacket(++tick)));
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_TRUE(IsClosed(silent.raw().WaitClosed(absl::Seconds(1))));
  EXPECT_TRUE(server_.WaitForLog("Read timeout: 127.0.0.31 (silent)", kIo));
  EXPECT_EQ(server_.CountInLog("Read timeout: 127.0.0.32"), 0);
  ASSERT_TRUE(pinger.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(pinger.ReadPacket(kIo)));
}

TEST_F(GameServerTest, IpThatKeepsFailingIsBannedDurably) {
  Start({"game.login_ip_fail_limit=4", "game.login_ip_ban_duration=600"});
  GameClient witness = LoggedIn(40, "other", "secret");
  GameClient first = Client(41);
  EXPECT_EQ(first.Login("test0", "a"), 0);
  EXPECT_EQ(first.Login("test0", "b"), 0);
  EXPECT_EQ(first.Login("test0", "c"), 8);
  EXPECT_TRUE(IsClosed(first.raw().WaitClosed(kIo)));
  GameClient second = Client(41);
  EXPECT_EQ(second.Login("test0", "d"), 0);  // the fourth: banned, closed
  EXPECT_TRUE(IsClosed(second.raw().WaitClosed(kIo)));
  EXPECT_TRUE(server_.WaitForLog(
      "Login failed: 127.0.0.41 (account test0; banned 127.0.0.41 until ",
      kIo));
  EXPECT_NE(ReadFile(dir_ + "/bans.txt").find("127.0.0.41 until="),
            std::string::npos);
  // Layer 1 refuses the next connection before any join packet.
  RawClient third;
  ASSERT_TRUE(third.Connect("127.0.0.1", server_.port(), "127.0.0.41"));
  size_t got = 0;
  EXPECT_TRUE(IsClosed(third.WaitClosed(kIo, &got)));
  EXPECT_EQ(got, 0u);
  EXPECT_TRUE(server_.WaitForLog("Rejected banned IP: 127.0.0.41", kIo));
  // Everyone else is served.
  ASSERT_TRUE(witness.Send(kCharacterListRequest));
  EXPECT_TRUE(IsCharacterList(witness.ReadPacket(kIo)));
  GameClient other_ip = Client(42);
  EXPECT_EQ(other_ip.Login("test0", "pass"), 1);
}

TEST_F(GameServerTest, AccountUnderAttackIsLockedForAWhileOnly) {
  Start({"game.login_account_fail_limit=3",
         "game.login_account_lock_duration=1"});
  for (int octet = 51; octet < 54; ++octet) {
    GameClient attacker = Client(octet);
    EXPECT_EQ(attacker.Login("victim", "guess"), 0);
  }
  GameClient owner = Client(55);
  EXPECT_EQ(owner.Login("victim", "right"), 14);
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_EQ(owner.Login("victim", "right"), 1);
}

TEST_F(GameServerTest, AccountCommandExitCodes) {
  const std::string bin = BinaryPath("game-server");
  const std::string db = MakeTempDir() + "/a.db";
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat("printf 'pw\\n' | ", bin,
                                    " --set game.database=", db,
                                    " account add newbie"),
                       &out),
            0)
      << out;
  out.clear();
  EXPECT_EQ(RunCommand(absl::StrCat(bin, " --set game.database=", db,
                                    " account show newbie"),
                       &out),
            0);
  EXPECT_NE(out.find("newbie"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(absl::StrCat(bin, " --set game.database=", db,
                                    " account show ghost"),
                       &out),
            2);
}

}  // namespace
}  // namespace muwarden::testing
