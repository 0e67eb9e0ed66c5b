// The real game-server binary on loopback with clients that encrypt and
// decrypt like the 10404 client: characters (list, create rules, delete,
// select and the packets of entering), two players seeing each other enter,
// walk, chat and leave, walks put back, positions that survive a restart,
// malformed world packets, and a stalled observer among walking players that
// is cut off at the write deadline while a witness keeps receiving every
// move.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/game/game_client.h"
#include "common/base/clock.h"
#include "server/game/account/account_store.h"
#include "tests/integration/harness.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);
constexpr int kWalkers = 20;
// 0..8 one test each, 9 the stalled observer, 10..29 the walkers, 30.. the
// malformed-packet test (one per packet).
constexpr int kShortsFirst = 10 + kWalkers;
constexpr int kAccounts = kShortsFirst + 8;

bool IsClosed(ReadEnd end) {
  return end == ReadEnd::kEof || end == ReadEnd::kReset;
}

Bytes Slice(const Bytes& b, size_t from, size_t n) {
  return Bytes(b.begin() + from, b.begin() + from + n);
}

uint16_t IdAt(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

class WorldTest : public ::testing::Test {
 protected:
  // The accounts are written in-process with libsodium's cheapest hash (the
  // server rehashes each with its own cost at the first login): the CLI would
  // pay a process start and a 64 MiB hash per account, in every test process.
  static void SetUpTestSuite() {
    db_dir_ = new std::string(MakeTempDir());
    game::AccountStoreConfig config;
    config.path = *db_dir_ + "/accounts.db";
    config.hasher.opslimit = game::kMinOpsLimit;
    config.hasher.memlimit = game::kMinMemLimit;
    auto store = game::AccountStore::Open(config, Clock::Real());
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < kAccounts; ++i) {
      ASSERT_TRUE((*store)->AddAccount(Account(i), Password(i)).ok());
    }
    ASSERT_TRUE((*store)->AddAccount("mwattack", "attack-pass").ok());
    ASSERT_TRUE((*store)->AddAccount("mwwitness", "witness-pass").ok());
  }
  static void TearDownTestSuite() {
    delete db_dir_;
    db_dir_ = nullptr;
  }
  void TearDown() override {
    if (server_.pid() <= 0) return;
    const int status = server_.Stop();
    const std::string log = server_.Log();
    EXPECT_EQ(status, 0) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
  }
  void Start(std::vector<std::string> extra = {}) {
    if (dir_.empty()) dir_ = MakeTempDir();
    std::vector<std::string> args = {
        "--bind", "127.0.0.1", "--set",
        absl::StrCat("game.database=", *db_dir_, "/accounts.db"), "--set",
        absl::StrCat("security.ban_file=", dir_, "/bans.txt"), "--set",
        "ratelimit.conn_rate_limit=1000", "--set",
        "server.multiclient_limit=64"};
    for (auto& e : extra) {
      args.push_back("--set");
      args.push_back(e);
    }
    ASSERT_TRUE(server_.Start(BinaryPath("game-server"), args));
  }
  GameClient Client(int octet) {
    GameClient c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server_.port(),
                          absl::StrCat("127.0.0.", octet)));
    return c;
  }
  static std::string Account(int i) { return absl::StrCat("acct", i); }
  static std::string Password(int i) { return absl::StrCat("pw", i); }

  static std::string* db_dir_;
  std::string dir_;
  ServerProcess server_;
};

std::string* WorldTest::db_dir_ = nullptr;

TEST_F(WorldTest, ListCreateListSelectAndTheEnteringPackets) {
  Start();
  GameClient c = Client(2);
  ASSERT_EQ(c.Login(Account(0), Password(0)), 1);
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 08 F3 00 0F 00 00 00");
  ASSERT_TRUE(c.Send(HexBytes("C1 0F F3 01 4B 6E 69 67 68 74 00 00 00 00 10")));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)),
            "C1 2A F3 01 01 4B 6E 69 67 68 74 00 00 00 00 00 01 00 20 00 FF "
            "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF");
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)),
            "C1 2A F3 00 0F 00 01 00 00 4B 6E 69 67 68 74 00 00 00 00 00 01 "
            "00 00 20 FF FF FF FF F3 00 00 00 F8 00 00 F0 FF FF FF 00 00 FF");
  std::vector<Bytes> entering = c.Select("Knight");
  ASSERT_EQ(entering.size(), 6u);
  std::optional<CharacterInfo> info = ParseCharacterInfo(entering[0]);
  ASSERT_TRUE(info.has_value()) << Hex(entering[0]);
  EXPECT_EQ(info->map, 0);
  EXPECT_GE(info->x, 133);
  EXPECT_LE(info->x, 151);
  EXPECT_GE(info->y, 118);
  EXPECT_LE(info->y, 135);
  EXPECT_EQ(info->experience, 0u);
  EXPECT_EQ(info->next_experience, 100u);
  EXPECT_EQ(info->strength, 28);
  EXPECT_EQ(info->agility, 20);
  EXPECT_EQ(info->vitality, 25);
  EXPECT_EQ(info->energy, 10);
  EXPECT_EQ(info->max_health, 110);
  EXPECT_EQ(info->max_mana, 20);
  EXPECT_EQ(Hex(entering[1]), "C4 00 06 F3 10 00");  // decrypted
  EXPECT_EQ(Hex(entering[2]), "C1 06 F3 11 00 00");
  EXPECT_EQ(Hex(entering[3]), "C1 06 A0 07 FF 3F");
  EXPECT_EQ(Hex(entering[4]), "C1 05 F6 1A 00");
  const Bytes& scope = entering[5];
  ASSERT_EQ(scope.size(), 41u) << Hex(scope);
  EXPECT_EQ(Hex(Slice(scope, 0, 5)), "C2 00 29 12 01");
  // The id the join packet gave, with bit 15: he just appeared.
  EXPECT_EQ(IdAt(scope, 5), c.id() | 0x8000);
  EXPECT_EQ(scope[7], info->x);
  EXPECT_EQ(scope[8], info->y);
  EXPECT_EQ(Hex(Slice(scope, 27, 10)), Hex(NameBytes("Knight")));
}

TEST_F(WorldTest, CreateRulesRefuseBadNamesTakenNamesAndTooMany) {
  Start({"game.max_characters=2"});
  GameClient c = Client(2);
  ASSERT_EQ(c.Login(Account(1), Password(1)), 1);
  // Create before the list is ignored: the next answer is the list's.
  ASSERT_TRUE(c.Send(CreatePacket("Early", 0x00)));
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 08 F3 00 0F 00 00 00");
  const std::string refused = "C1 05 F3 01 00";
  for (const char* bad : {"ab", "bad name", "bad_name"}) {
    ASSERT_TRUE(c.Send(CreatePacket(bad, 0x00)));
    EXPECT_EQ(Hex(*c.ReadPacket(kIo)), refused) << bad;
  }
  ASSERT_TRUE(c.Send(CreatePacket("Unknown", 0x70)));  // no class 7
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), refused);
  ASSERT_TRUE(c.Send(CreatePacket("First1", 0x00)));
  EXPECT_EQ((*c.ReadPacket(kIo))[4], 1);
  // Taken, in another case, and from another account too.
  ASSERT_TRUE(c.Send(CreatePacket("FIRST1", 0x00)));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), refused);
  GameClient other = Client(3);
  ASSERT_EQ(other.Login(Account(2), Password(2)), 1);
  ASSERT_TRUE(other.Send(CharacterListRequest()));
  ASSERT_TRUE(other.ReadPacket(kIo).has_value());
  ASSERT_TRUE(other.Send(CreatePacket("first1", 0x20)));
  EXPECT_EQ(Hex(*other.ReadPacket(kIo)), refused);
  // The second character takes slot 1; a third is one too many.
  ASSERT_TRUE(c.Send(CreatePacket("Second2", 0x20)));
  Bytes second = *c.ReadPacket(kIo);
  EXPECT_EQ(second[4], 1);
  EXPECT_EQ(second[15], 1);  // slot
  EXPECT_EQ(second[18], 0x40);  // Fairy Elf
  ASSERT_TRUE(c.Send(CreatePacket("Third3", 0x00)));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), refused);
}

TEST_F(WorldTest, DeleteNeedsTheAccountPasswordWithoutASecurityCode) {
  Start();
  GameClient c = Client(2);
  ASSERT_EQ(c.Login(Account(3), Password(3)), 1);
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  ASSERT_TRUE(c.ReadPacket(kIo).has_value());
  ASSERT_TRUE(c.Send(CreatePacket("Doomed", 0x00)));
  EXPECT_EQ((*c.ReadPacket(kIo))[4], 1);
  ASSERT_TRUE(c.Send(DeletePacket("Doomed", "wrong")));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 05 F3 02 02");
  ASSERT_TRUE(c.Send(DeletePacket("Doomed", Password(3))));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 05 F3 02 01");
  ASSERT_TRUE(c.Send(DeletePacket("Doomed", Password(3))));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 05 F3 02 00");  // gone
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  EXPECT_EQ(Hex(*c.ReadPacket(kIo)), "C1 08 F3 00 0F 00 00 00");
}

TEST_F(WorldTest, TwoPlayersSeeEachOtherWalkChatAndLeave) {
  Start({"game.view_range=255"});
  std::vector<std::string> log;
  GameClient a = Client(2);
  GameClient b = Client(3);
  a.set_log(&log, "A");
  b.set_log(&log, "B");
  ASSERT_TRUE(a.EnterWorld(Account(4), Password(4), "Alice"));
  ASSERT_TRUE(b.EnterWorld(Account(5), Password(5), "Bob"));
  // A sees Bob appear (bit 15), under the id Bob's join packet gave him.
  auto seen = a.ReadCode(0x12, -1, kIo);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(IdAt(*seen, 5), b.id() | 0x8000);
  EXPECT_EQ(Hex(Slice(*seen, 27, 10)), Hex(NameBytes("Bob")));
  // Bob walks two steps east from where the server has him.
  ASSERT_TRUE(b.Send(WalkPacket((*seen)[7], (*seen)[8], 3, {3, 3})));
  const std::string walk =
      Hex(Bytes{0xC1, 0x08, 0xD4, static_cast<uint8_t>(b.id() >> 8),
                static_cast<uint8_t>(b.id()),
                static_cast<uint8_t>((*seen)[7] + 2), (*seen)[8], 0x30});
  auto at_a = a.ReadCode(0xD4, -1, kIo);
  ASSERT_TRUE(at_a.has_value());
  EXPECT_EQ(Hex(*at_a), walk);
  auto at_b = b.ReadCode(0xD4, -1, kIo);  // the walker gets it too
  ASSERT_TRUE(at_b.has_value());
  EXPECT_EQ(Hex(*at_b), walk);
  // Public chat by character name, to the observer and back to the sender.
  ASSERT_TRUE(a.Send(ChatPacket(0x00, "acct4", "hi bob")));
  EXPECT_EQ(b.ReadCode(0x00, -1, kIo), ServerChat(0x00, "Alice", "hi bob"));
  EXPECT_EQ(a.ReadCode(0x00, -1, kIo), ServerChat(0x00, "Alice", "hi bob"));
  // A whisper to the character name.
  ASSERT_TRUE(b.Send(ChatPacket(0x02, "alice", "psst")));
  EXPECT_EQ(a.ReadCode(0x02, -1, kIo), ServerChat(0x02, "Bob", "psst"));
  // Bob goes back to character select: Alice sees him leave, he gets the
  // encrypted answer.
  ASSERT_TRUE(b.Send(HexBytes("C3 05 F1 02 01")));
  auto gone = a.ReadCode(0x14, -1, kIo);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(Hex(*gone), Hex(Bytes{0xC1, 0x06, 0x14, 0x01,
                                  static_cast<uint8_t>(b.id() >> 8),
                                  static_cast<uint8_t>(b.id())}));
  EXPECT_EQ(Hex(*b.ReadCode(0xF1, 0x02, kIo)), "C3 05 F1 02 01");
  ASSERT_TRUE(b.Send(CharacterListRequest()));
  auto list = b.ReadCode(0xF3, 0x00, kIo);
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ((*list)[6], 1);
  ASSERT_TRUE(a.Send(HexBytes("C3 05 F1 02 00")));
  EXPECT_EQ(Hex(*a.ReadCode(0xF1, 0x02, kIo)), "C3 05 F1 02 00");
  std::ofstream out(absl::StrCat(dir_, "/world-session.hex"));
  for (const std::string& line : log) out << line << "\n";
  if (const char* keep = std::getenv("MUWARDEN_WORLD_HEX")) {
    std::ofstream copy(keep);
    copy << "# WorldTest.TwoPlayersSeeEachOtherWalkChatAndLeave: clients A (Alice) "
            "and B (Bob) against the real game-server.\n# '>' plain sent, '>>' "
            "on the wire; '<<' on the wire (C3/C4), '<' plain received.\n";
    for (const std::string& line : log) copy << line << "\n";
  }
}

TEST_F(WorldTest, WalkFromFarAwayIsPutBack) {
  Start();
  GameClient c = Client(2);
  ASSERT_TRUE(c.EnterWorld(Account(6), Password(6), "Faraway"));
  // Wherever the server has him (Lorencia's spawn area), (10, 10) is far.
  ASSERT_TRUE(c.Send(WalkPacket(10, 10, 0, {3})));
  auto back = c.ReadCode(0x15, -1, kIo);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 8u);
  EXPECT_EQ(IdAt(*back, 3), c.id());
  EXPECT_GE((*back)[5], 133);
  EXPECT_LE((*back)[5], 151);
  // Sixteen steps cannot be sent; 15 with max_walk_steps 15 is fine.
  ASSERT_TRUE(c.Send(WalkPacket((*back)[5], (*back)[6], 0,
                                std::vector<uint8_t>(15, 1))));
  auto walked = c.ReadCode(0xD4, -1, kIo);
  ASSERT_TRUE(walked.has_value());
  EXPECT_EQ((*walked)[6], (*back)[6] - 15);
}

TEST_F(WorldTest, PositionSurvivesARestart) {
  Start();
  uint8_t x = 0, y = 0;
  {
    GameClient c = Client(2);
    ASSERT_TRUE(c.EnterWorld(Account(7), Password(7), "Stayer"));
  }
  ASSERT_TRUE(WaitFor([&] { return server_.CountInLog("left: acct7") >= 1; },
                      kIo));
  {
    GameClient c = Client(2);
    ASSERT_EQ(c.Login(Account(7), Password(7)), 1);
    ASSERT_TRUE(c.Send(CharacterListRequest()));
    ASSERT_TRUE(c.ReadPacket(kIo).has_value());
    auto entering = c.Select("Stayer");
    ASSERT_EQ(entering.size(), 6u);
    auto info = ParseCharacterInfo(entering[0]);
    ASSERT_TRUE(info.has_value());
    ASSERT_TRUE(c.Send(WalkPacket(info->x, info->y, 5, {5, 5, 5})));
    auto walked = c.ReadCode(0xD4, -1, kIo);
    ASSERT_TRUE(walked.has_value());
    x = (*walked)[5];
    y = (*walked)[6];
    // Disconnect without logout: the position is saved on close.
  }
  ASSERT_TRUE(WaitFor([&] { return server_.CountInLog("left: acct7") >= 2; },
                      kIo));
  ASSERT_EQ(server_.Stop(), 0);
  Start();
  GameClient c = Client(2);
  ASSERT_EQ(c.Login(Account(7), Password(7)), 1);
  ASSERT_TRUE(c.Send(CharacterListRequest()));
  ASSERT_TRUE(c.ReadPacket(kIo).has_value());
  auto entering = c.Select("Stayer");
  ASSERT_EQ(entering.size(), 6u);
  auto info = ParseCharacterInfo(entering[0]);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->x, x);
  EXPECT_EQ(info->y, y);
  EXPECT_EQ(info->direction, 5);
}

TEST_F(WorldTest, ShortWorldPacketsCloseAsMalformed) {
  Start();
  const std::vector<std::string> shorts = {
      "C1 04 D4 01",                             // walk without its count
      "C1 07 D4 8C 7D 44 44",                    // 4 steps in one byte
      "C1 04 15 01",                             // instant move
      "C1 04 18 01",                             // rotation
      "C1 0D F3 03 41 42 43 00 00 00 00 00 00",  // select
      "C1 0E F3 01 41 42 43 00 00 00 00 00 00 00",  // create
  };
  for (size_t i = 0; i < shorts.size(); ++i) {
    GameClient c = Client(2);
    const int k = kShortsFirst + static_cast<int>(i);
    ASSERT_TRUE(c.EnterWorld(Account(k), Password(k), absl::StrCat("Shorty", i)));
    ASSERT_TRUE(c.Send(HexBytes(shorts[i])));
    EXPECT_TRUE(IsClosed(c.raw().WaitClosed(kIo))) << shorts[i];
    EXPECT_TRUE(server_.WaitForLog(
        "Malformed packet", kIo,
        static_cast<int>(i) + 1))
        << shorts[i];
  }
}

TEST_F(WorldTest, StalledObserverIsCutOffWhileTheOthersGetEveryMove) {
  Start({"game.view_range=255", "server.write_timeout=1",
         "ratelimit.raw_pkt_rate_limit=65536", "ratelimit.raw_pkt_rate_window=1",
         "ratelimit.whisper_rate_limit=65536",
         "ratelimit.whisper_rate_window=1"});
  // The stalled one enters the world, then never reads again, with a tiny
  // receive buffer so its socket fills soon; walker 1 also whispers long
  // messages to it alone, so that its buffers fill in a few hundred rounds
  // rather than thousands (moves are 8 bytes) without adding to what the
  // witness receives.
  GameClient stalled;
  ASSERT_TRUE(stalled.Connect("127.0.0.1", server_.port(), "127.0.0.9", 2048));
  ASSERT_TRUE(stalled.EnterWorld(Account(9), Password(9), "Staller"));
  std::vector<GameClient> walkers(kWalkers);
  for (int i = 0; i < kWalkers; ++i) {
    ASSERT_TRUE(walkers[i].Connect("127.0.0.1", server_.port(),
                                   absl::StrCat("127.0.0.", 10 + i)));
    ASSERT_TRUE(walkers[i].EnterWorld(Account(10 + i), Password(10 + i),
                                      absl::StrCat("Walker", i)));
    ASSERT_TRUE(walkers[i].info().has_value());
  }
  // Walker 0 is the witness: it counts the others' moves it is sent. The
  // others drain their sockets so that none of them stalls too.
  std::atomic<bool> stop{false};
  std::atomic<int> witnessed{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kWalkers; ++i) {
    readers.emplace_back([&, i] {
      const absl::Time give_up = absl::Now() + absl::Seconds(60);
      while (!stop.load() && absl::Now() < give_up) {
        auto p = walkers[i].ReadPacket(absl::Milliseconds(100));
        if (i != 0 || !p.has_value()) continue;
        if (p->size() == 8 && (*p)[2] == 0xD4 &&
            IdAt(*p, 3) != walkers[0].id()) {
          witnessed.fetch_add(1);
        }
      }
    });
  }
  // Rounds of moves: each of walkers 1.. turns where it stands (a 0-step walk
  // from the server's position). Bounded by count and time; at most a few
  // rounds on the way to the witness, so its own queue never fills and every
  // loss would be the server's fault.
  const std::string cut = "Write timeout: 127.0.0.9";
  int sent = 0;
  int rounds_after_cut = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  for (int round = 0; round < 5000 && absl::Now() < deadline; ++round) {
    for (int i = 1; i < kWalkers; ++i) {
      const CharacterInfo& at = *walkers[i].info();
      ASSERT_TRUE(walkers[i].Send(
          WalkPacket(at.x, at.y, static_cast<uint8_t>(round % 8), {})));
      ++sent;
    }
    for (int k = 0; k < 4; ++k) {
      ASSERT_TRUE(walkers[1].Send(
          ChatPacket(0x02, "Staller", std::string(200, 'w'))))
          << server_.Log();
    }
    ASSERT_TRUE(WaitFor([&] { return sent - witnessed.load() <= 5 * kWalkers; },
                        absl::Seconds(10)))
        << witnessed.load() << " of " << sent;
    if (rounds_after_cut < 0 && server_.CountInLog(cut) > 0) {
      rounds_after_cut = 0;
    } else if (rounds_after_cut >= 0 && ++rounds_after_cut == 20) {
      break;
    }
  }
  EXPECT_GE(rounds_after_cut, 0) << "sent " << sent << "\n" << server_.Log();
  RecordProperty("moves_until_write_timeout", sent);
  EXPECT_TRUE(IsClosed(stalled.raw().WaitClosed(absl::Seconds(10))));
  EXPECT_TRUE(WaitFor([&] { return witnessed.load() == sent; },
                      absl::Seconds(20)))
      << witnessed.load() << " of " << sent;
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(witnessed.load(), sent);
}

// scripts/attack-walk-flood against the real server: DEFENDED with the walk
// checks and the chat limit on (the raw packet limit set high so that only
// they act), NOT DEFENDED with walk_tolerance 255 and no chat limit.
TEST_F(WorldTest, AttackWalkFloodScriptSaysDefendedThenNotDefendedWithTheChecksOff) {
  const std::string source = MUWARDEN_SOURCE_DIR;
  for (const bool on : {true, false}) {
    std::vector<std::string> settings = {"ratelimit.raw_pkt_rate_limit=65536",
                                         "ratelimit.raw_pkt_rate_window=1"};
    if (!on) {
      settings.push_back("game.walk_tolerance=255");
      settings.push_back("ratelimit.chat_rate_limit=65536");
    }
    Start(settings);
    std::string out;
    const int code = RunCommand(
        absl::StrCat("python3 ", source, "/scripts/attack-walk-flood --port ",
                     server_.port(), " --count 300 --max-seconds 60 2>&1"),
        &out);
    EXPECT_EQ(code, on ? 0 : 1) << out;
    EXPECT_NE(out.find(on ? "VERDICT: DEFENDED" : "VERDICT: NOT DEFENDED"),
              std::string::npos)
        << out;
    ASSERT_EQ(server_.Stop(), 0);
  }
}

}  // namespace
}  // namespace muwarden::testing
