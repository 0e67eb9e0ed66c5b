#include "server/game/game_session.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/base/clock.h"
#include "common/guard/ban_list.h"
#include "gtest/gtest.h"
#include "server/game/game_packets.h"
#include "tests/support/client_packets.h"
#include "tests/unit/server/game/account/account_test_util.h"
#include "tests/unit/server/game/game_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::testing::ChatPacket;
using testing::Bytes;
using testing::ClientCipher;
using testing::FakeConnection;
using testing::FrameOf;
using testing::HexBytes;
using testing::LoginPlain;
using testing::OpenFastStore;
using testing::TempDir;

const Bytes kPing = HexBytes("C3 0C 0E 00 01 33 FE 27 00 00 00 00");

// One client: a fake connection, its session, and the client's ciphers.
struct Client {
  Client(PlayerRegistry& registry, Clock& clock, guard::IpAddress ip)
      : conn(clock, ip), session(registry) {
    EXPECT_TRUE(session.OnOpen(conn).ok());
  }
  absl::Status Send(const Bytes& plain) {
    Bytes wire = cipher.Encrypt(plain);
    return session.OnFrame(conn, FrameOf(wire));
  }
  absl::Status Login(const std::string& user, const std::string& password) {
    return Send(LoginPlain(user, password));
  }
  // The result byte of the last answer sent (-1 if it was not a login
  // answer).
  int LastResult() const {
    if (conn.sent.empty()) return -1;
    const Bytes& last = conn.sent.back();
    if (last.size() != 5 || last[0] != 0xC1 || last[2] != 0xF1 ||
        last[3] != 0x01) {
      return -1;
    }
    return last[4];
  }

  FakeConnection conn;
  GameSession session;
  ClientCipher cipher;
};

class GameSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenFastStore(dir_, clock_);
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->AddAccount("Test0", "pass").ok());
    ASSERT_TRUE(store_->AddAccount("other", "secret").ok());
    ASSERT_TRUE(store_->AddAccount("blocked1", "pw").ok());
    ASSERT_TRUE(store_->Block("blocked1", std::nullopt).ok());
    config_.throttle.ip_fail_limit = 100;
    config_.throttle.account_fail_limit = 100;
    config_.chat = {3, absl::Seconds(10)};
    config_.whisper = {2, absl::Seconds(1)};
    // The whole spawn area in view.
    config_.world.view_range = 255;
  }
  PlayerRegistry& Registry() {
    if (!registry_)
      registry_ = std::make_unique<PlayerRegistry>(config_, *store_, clock_);
    return *registry_;
  }
  std::unique_ptr<Client> NewClient(uint8_t last_octet = 1) {
    return std::make_unique<Client>(
        Registry(), clock_, guard::IpAddress::V4(192, 0, 2, last_octet));
  }
  std::unique_ptr<Client> LoggedIn(const std::string& user,
                                   const std::string& password,
                                   uint8_t last_octet = 1) {
    auto c = NewClient(last_octet);
    EXPECT_TRUE(c->Login(user, password).ok());
    EXPECT_EQ(c->LastResult(), 1);
    return c;
  }
  // Logged in, a Dark Knight `character` created and selected; what the
  // world pushed to its queue so far is taken.
  std::unique_ptr<Client> InWorld(const std::string& user,
                                  const std::string& password,
                                  const std::string& character,
                                  uint8_t last_octet = 1) {
    auto c = LoggedIn(user, password, last_octet);
    EXPECT_TRUE(c->Send(HexBytes("C1 05 F3 00 00")).ok());
    EXPECT_TRUE(c->Send(CreatePlain(character, 0x10)).ok());
    EXPECT_EQ(c->conn.sent.back()[4], 1) << "create " << character;
    EXPECT_TRUE(c->Send(SelectPlain(character)).ok());
    EXPECT_TRUE(c->session.in_world());
    c->conn.TakeQueued();
    return c;
  }
  static Bytes NameField(const std::string& name) {
    Bytes b(10, 0);
    std::copy_n(name.begin(), std::min<size_t>(name.size(), 10), b.begin());
    return b;
  }
  static Bytes CreatePlain(const std::string& name, uint8_t class_byte) {
    Bytes p = HexBytes("C1 0F F3 01");
    Bytes n = NameField(name);
    p.insert(p.end(), n.begin(), n.end());
    p.push_back(class_byte);
    return p;
  }
  static Bytes SelectPlain(const std::string& name) {
    Bytes p = HexBytes("C1 0E F3 03");
    Bytes n = NameField(name);
    p.insert(p.end(), n.begin(), n.end());
    return p;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<AccountStore> store_;
  GameConfig config_;
  std::unique_ptr<PlayerRegistry> registry_;
};

TEST_F(GameSessionTest, OpenSendsJoinWithTheObjectIdTheMapUses) {
  auto c = NewClient();
  auto d = NewClient(2);
  ASSERT_EQ(c->conn.sent.size(), 1u);
  // The first free object id of the world, then the next.
  EXPECT_EQ(c->conn.sent[0], HexBytes("C1 0C F1 00 01 00 01 31 30 34 30 34"));
  EXPECT_EQ(c->session.object_id(), 1);
  EXPECT_EQ(d->conn.sent[0], HexBytes("C1 0C F1 00 01 00 02 31 30 34 30 34"));
}

TEST_F(GameSessionTest, OnlyC3FramesBeforeHandshake) {
  auto c = NewClient();
  const Bytes c1 = HexBytes("C1 05 F3 00 00");
  const Bytes c3 = HexBytes("C3 05 F1 02 00");
  EXPECT_FALSE(c->session.AllowedBeforeHandshake(FrameOf(c1)));
  EXPECT_TRUE(c->session.AllowedBeforeHandshake(FrameOf(c3)));
}

TEST_F(GameSessionTest, GoodLoginAnswersOkAndCompletesTheHandshake) {
  auto c = NewClient();
  ASSERT_TRUE(c->Login("test0", "pass").ok());
  EXPECT_EQ(c->conn.sent.back(), HexBytes("C1 05 F1 01 01"));
  EXPECT_TRUE(c->conn.handshake_complete());
  EXPECT_TRUE(c->session.logged_in());
  EXPECT_EQ(Registry().players(), 1u);
  EXPECT_EQ(Registry().counters().logins_ok.load(), 1u);
  // Character list: an empty one.
  ASSERT_TRUE(c->Send(HexBytes("C1 05 F3 00 00")).ok());
  EXPECT_EQ(c->conn.sent.back(), HexBytes("C1 08 F3 00 0F 00 00 00"));
  c->session.OnClose(c->conn);
  EXPECT_EQ(Registry().players(), 0u);
}

TEST_F(GameSessionTest, ShortPasswordVariantLogsIn) {
  auto c = NewClient();
  ASSERT_TRUE(
      c->Send(LoginPlain("other", "secret", LoginVariant::kShortPassword))
          .ok());
  EXPECT_EQ(c->LastResult(), 1);
}

TEST_F(GameSessionTest, WrongPasswordAndUnknownAccountBothAnswerZero) {
  auto c = NewClient();
  for (const auto& [name, password] :
       {std::pair{"test0", "wrong"}, std::pair{"nobody", "pass"}}) {
    ASSERT_TRUE(c->Login(name, password).ok()) << name;
    EXPECT_EQ(c->LastResult(), 0) << name;
  }
  EXPECT_FALSE(c->conn.handshake_complete());
  EXPECT_EQ(c->session.failed_logins(), 2);
  EXPECT_EQ(Registry().counters().logins_failed.load(), 2u);
}

TEST_F(GameSessionTest, ThirdFailureAnswersEightAndCloses) {
  auto c = NewClient();
  ASSERT_TRUE(c->Login("test0", "x1").ok());
  ASSERT_TRUE(c->Login("test0", "x2").ok());
  absl::Status third = c->Login("test0", "x3");
  EXPECT_EQ(third.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(c->conn.sent.back(), HexBytes("C1 05 F1 01 08"));
}

TEST_F(GameSessionTest, InvalidNameAnswersTwoAndCountsAsFailure) {
  auto c = NewClient();
  for (const char* name : {"a b", ""}) {
    ASSERT_TRUE(c->Login(name, "pass").ok()) << name;
    EXPECT_EQ(c->LastResult(), 2) << name;
  }
  EXPECT_EQ(c->session.failed_logins(), 2);
}

TEST_F(GameSessionTest, BlockedAccountAnswersFive) {
  auto c = NewClient();
  ASSERT_TRUE(c->Login("blocked1", "pw").ok());
  EXPECT_EQ(c->LastResult(), 5);
  EXPECT_FALSE(c->session.logged_in());
  // A blocked account with a wrong password is just a wrong password.
  ASSERT_TRUE(c->Login("blocked1", "nope").ok());
  EXPECT_EQ(c->LastResult(), 0);
}

TEST_F(GameSessionTest, TemporaryBlockByTheOperatorAnswersFourteen) {
  ASSERT_TRUE(
      store_->Block("other", clock_.WallNow() + absl::Seconds(60)).ok());
  auto c = NewClient();
  ASSERT_TRUE(c->Login("other", "secret").ok());
  EXPECT_EQ(c->LastResult(), 14);
}

TEST_F(GameSessionTest, WrongVersionOrSerialAnswersSixAndCloses) {
  auto c = NewClient();
  EXPECT_EQ(
      c->Send(LoginPlain("test0", "pass", LoginVariant::kLongPassword, "10405"))
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c->LastResult(), 6);
  auto d = NewClient();
  EXPECT_EQ(d->Send(LoginPlain("test0", "pass", LoginVariant::kLongPassword,
                               "10404", "XXXXXXXXXXXXXXXX"))
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(d->LastResult(), 6);
  EXPECT_EQ(Registry().counters().logins_wrong_client.load(), 2u);
  EXPECT_EQ(Registry().players(), 0u);
}

TEST_F(GameSessionTest, SecondLoginOfTheSameAccountAnswersThree) {
  auto a = LoggedIn("test0", "pass");
  auto b = NewClient(2);
  ASSERT_TRUE(b->Login("TEST0", "pass").ok());
  EXPECT_EQ(b->LastResult(), 3);
  EXPECT_FALSE(b->conn.handshake_complete());
  // Once the first logs out, the second may log in.
  a->session.OnClose(a->conn);
  ASSERT_TRUE(b->Login("test0", "pass").ok());
  EXPECT_EQ(b->LastResult(), 1);
}

TEST_F(GameSessionTest, ServerFullAnswersFourAndUnjoinedSocketsTakeNoSlot) {
  config_.max_players = 1;
  auto idle1 = NewClient(5);  // connected, never logged in
  auto idle2 = NewClient(6);
  auto a = LoggedIn("test0", "pass");
  auto b = NewClient(2);
  ASSERT_TRUE(b->Login("other", "secret").ok());
  EXPECT_EQ(b->LastResult(), 4);
  a->session.OnClose(a->conn);
  ASSERT_TRUE(b->Login("other", "secret").ok());
  EXPECT_EQ(b->LastResult(), 1);
}

TEST_F(GameSessionTest, AccountUnderAttackIsLockedThenOpensAgain) {
  config_.throttle.account_fail_limit = 3;
  config_.throttle.account_lock_duration = absl::Seconds(60);
  // Three failures from three IPs lock the account.
  for (uint8_t ip = 10; ip < 13; ++ip) {
    auto attacker = NewClient(ip);
    ASSERT_TRUE(attacker->Login("test0", "guess").ok());
    EXPECT_EQ(attacker->LastResult(), 0);
  }
  EXPECT_EQ(Registry().counters().accounts_locked.load(), 1u);
  // The owner, with the right password, is told "temporarily blocked" and no
  // hash is spent.
  const uint64_t hashes = store_->hash_verifies();
  auto owner = NewClient(1);
  ASSERT_TRUE(owner->Login("test0", "pass").ok());
  EXPECT_EQ(owner->LastResult(), 14);
  EXPECT_EQ(store_->hash_verifies(), hashes);
  // Unknown names lock alike, so 14 reveals nothing.
  for (uint8_t ip = 20; ip < 23; ++ip) {
    ASSERT_TRUE(NewClient(ip)->Login("ghost", "x").ok());
  }
  auto probe = NewClient(30);
  ASSERT_TRUE(probe->Login("ghost", "x").ok());
  EXPECT_EQ(probe->LastResult(), 14);
  // The lock ends on time.
  clock_.Advance(absl::Seconds(60));
  ASSERT_TRUE(owner->Login("test0", "pass").ok());
  EXPECT_EQ(owner->LastResult(), 1);
}

TEST_F(GameSessionTest, IpReachingTheLimitIsBannedAndCloses) {
  config_.throttle.ip_fail_limit = 2;
  config_.ip_ban_duration = absl::Seconds(600);
  guard::BanList bans(guard::BanListConfig{}, clock_);
  Registry().SetBanList(&bans);
  auto c = NewClient(9);
  ASSERT_TRUE(c->Login("test0", "bad1").ok());
  EXPECT_EQ(c->Login("test0", "bad2").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c->LastResult(), 0);
  EXPECT_TRUE(bans.Check(guard::IpAddress::V4(192, 0, 2, 9)).banned);
  EXPECT_EQ(Registry().counters().ip_bans.load(), 1u);
  // Another connection from the banned IP (accepted before the ban) is closed
  // at its login without an answer, even with the right password.
  auto d = NewClient(9);
  const size_t sent_before = d->conn.sent.size();
  EXPECT_EQ(d->Login("test0", "pass").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(d->conn.sent.size(), sent_before);
  // Others log in as usual.
  LoggedIn("test0", "pass", 10);
}

TEST_F(GameSessionTest, PingBeforeLoginIsAccepted) {
  auto c = NewClient();
  EXPECT_TRUE(c->Send(kPing).ok());
  EXPECT_TRUE(c->Login("test0", "pass").ok());
  EXPECT_EQ(c->LastResult(), 1);
  EXPECT_TRUE(c->Send(kPing).ok());
}

TEST_F(GameSessionTest, OtherOpcodesBeforeLoginAreRefused) {
  auto c = NewClient();
  // Chat encrypted as C3 passes the frame gate but not the decrypted one.
  EXPECT_EQ(c->Send(ChatPacket(0x00, "x", "hi")).code(),
            absl::StatusCode::kFailedPrecondition);
  auto d = NewClient();
  EXPECT_EQ(d->Send(HexBytes("C3 05 F1 02 00")).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GameSessionTest, ChatEncryptedAsC3ParsesAfterLogin) {
  auto a = InWorld("test0", "pass", "Alpha");
  auto b = InWorld("other", "secret", "Bravo", 2);
  Bytes chat = ChatPacket(0x00, "test0", "hi");
  chat[0] = 0xC3;
  ASSERT_TRUE(a->Send(chat).ok());
  EXPECT_EQ(b->conn.TakeQueued().size(), 1u);
}

TEST_F(GameSessionTest, WrongCounterIsMalformed) {
  auto c = NewClient();
  // The client skipped counter 0: the server expects 0 and gets 1.
  c->cipher.Encrypt(kPing);
  EXPECT_EQ(c->Login("test0", "pass").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GameSessionTest, ReplayedPacketIsMalformed) {
  auto c = NewClient();
  // Writable, like the runtime's frame buffer: the session wipes a login's.
  Bytes wire = c->cipher.Encrypt(LoginPlain("test0", "nope"));
  Bytes replayed = wire;
  ASSERT_TRUE(c->session.OnFrame(c->conn, FrameOf(wire)).ok());
  EXPECT_EQ(c->session.OnFrame(c->conn, FrameOf(replayed)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GameSessionTest, BadChecksumIsMalformed) {
  auto c = NewClient();
  Bytes wire = c->cipher.Encrypt(LoginPlain("test0", "pass"));
  wire[2 + 10] ^= 0x01;  // the first block's checksum byte
  absl::Status status = c->session.OnFrame(c->conn, FrameOf(wire));
  EXPECT_TRUE(absl::IsDataLoss(status) || absl::IsInvalidArgument(status))
      << status;
  EXPECT_FALSE(c->conn.handshake_complete());
}

TEST_F(GameSessionTest, TruncatedLoginIsMalformed) {
  auto c = NewClient();
  Bytes login = LoginPlain("test0", "pass");
  login.resize(59);
  login[1] = 59;
  EXPECT_EQ(c->Send(login).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(GameSessionTest, LogoutCloseGameAnswersEncryptedAndFreesTheSlot) {
  auto c = LoggedIn("test0", "pass");
  EXPECT_EQ(c->Send(HexBytes("C3 05 F1 02 00")).code(),
            absl::StatusCode::kCancelled);
  const Bytes& wire = c->conn.sent.back();
  // Server-to-client keys at counter 0; the same bytes come out of an
  // independent script written from PROTOCOL.md section 4.
  EXPECT_EQ(wire, HexBytes("C3 0D C4 98 38 98 C4 9A 50 9A 44 32 0B"));
  EXPECT_EQ(c->cipher.DecryptAnswer(wire), HexBytes("C3 05 F1 02 00"));
  EXPECT_FALSE(c->session.logged_in());
  EXPECT_EQ(Registry().players(), 0u);
}

TEST_F(GameSessionTest, LogoutToCharacterSelectStaysLoggedIn) {
  auto c = LoggedIn("test0", "pass");
  ASSERT_TRUE(c->Send(HexBytes("C3 05 F1 02 01")).ok());
  EXPECT_EQ(c->cipher.DecryptAnswer(c->conn.sent.back()),
            HexBytes("C3 05 F1 02 01"));
  EXPECT_TRUE(c->session.logged_in());
  // The server's counter advanced: the next answer uses counter 1.
  EXPECT_EQ(c->Send(HexBytes("C3 05 F1 02 02")).code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(c->cipher.DecryptAnswer(c->conn.sent.back()),
            HexBytes("C3 05 F1 02 02"));
  EXPECT_EQ(Registry().players(), 0u);
}

TEST_F(GameSessionTest, BadLogoutTypeIsMalformed) {
  auto c = LoggedIn("test0", "pass");
  EXPECT_EQ(c->Send(HexBytes("C3 05 F1 02 07")).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GameSessionTest, LoginAfterLoginIsRefused) {
  auto c = LoggedIn("test0", "pass");
  EXPECT_EQ(c->Login("test0", "pass").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GameSessionTest, ChatReachesThoseInViewAndTheSenderByCharacterName) {
  auto a = InWorld("test0", "pass", "Alpha", 1);
  auto b = InWorld("other", "secret", "Bravo", 2);
  a->conn.TakeQueued();  // Bravo appearing
  // The name field claims to be someone else; the server uses "Alpha".
  ASSERT_TRUE(a->Send(ChatPacket(0x00, "admin", "hello")).ok());
  const Bytes expected(BuildChat(ChatKind::kPublic, "Alpha", "hello"));
  auto got = b->conn.TakeQueued();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], expected);
  auto echo = a->conn.TakeQueued();
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(echo[0], expected);
}

TEST_F(GameSessionTest, ChatBeforeEnteringTheWorldIsIgnored) {
  auto a = LoggedIn("test0", "pass", 1);
  auto b = InWorld("other", "secret", "Bravo", 2);
  ASSERT_TRUE(a->Send(ChatPacket(0x00, "", "hello")).ok());
  EXPECT_TRUE(b->conn.TakeQueued().empty());
  EXPECT_EQ(Registry().counters().world_requests_ignored.load(), 1u);
}

TEST_F(GameSessionTest, ChatFloodIsDroppedAboveTheLimit) {
  auto a = InWorld("test0", "pass", "Alpha", 1);
  auto b = InWorld("other", "secret", "Bravo", 2);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a->Send(ChatPacket(0x00, "", "spam")).ok());
  }
  EXPECT_EQ(b->conn.TakeQueued().size(), 3u);
  EXPECT_EQ(Registry().counters().chat_rate_dropped.load(), 7u);
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(a->Send(ChatPacket(0x00, "", "again")).ok());
  EXPECT_EQ(b->conn.TakeQueued().size(), 1u);
}

TEST_F(GameSessionTest, WhisperReachesOnlyTheNamedCharacterWithinItsLimit) {
  auto a = InWorld("test0", "pass", "Alpha", 1);
  auto b = InWorld("other", "secret", "Bravo", 2);
  ASSERT_TRUE(store_->AddAccount("third", "pw3").ok());
  auto d = InWorld("third", "pw3", "Delta", 4);
  b->conn.TakeQueued();
  // The account name does not reach anyone: whispers go to characters.
  ASSERT_TRUE(a->Send(ChatPacket(0x02, "other", "psst")).ok());
  EXPECT_TRUE(b->conn.TakeQueued().empty());
  EXPECT_EQ(Registry().counters().whisper_no_receiver.load(), 1u);
  clock_.Advance(absl::Seconds(1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a->Send(ChatPacket(0x02, "BRAVO", "psst")).ok());
  }
  auto got = b->conn.TakeQueued();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], Bytes(BuildChat(ChatKind::kWhisper, "Alpha", "psst")));
  EXPECT_TRUE(d->conn.TakeQueued().empty());
  EXPECT_EQ(Registry().counters().whisper_rate_dropped.load(), 3u);
}

TEST_F(GameSessionTest, OverlongChatIsCutAndEmptyChatIgnored) {
  auto a = InWorld("test0", "pass", "Alpha", 1);
  auto b = InWorld("other", "secret", "Bravo", 2);
  ASSERT_TRUE(a->Send(ChatPacket(0x00, "", std::string(230, 'x'))).ok());
  ASSERT_TRUE(a->Send(ChatPacket(0x00, "", "")).ok());
  auto got = b->conn.TakeQueued();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size(), 13 + kMaxChatMessageBytes + 1);
  EXPECT_EQ(got[0][1], got[0].size());
}

TEST_F(GameSessionTest, UnknownOpcodeAfterLoginIsIgnored) {
  auto a = LoggedIn("test0", "pass");
  EXPECT_TRUE(a->Send(HexBytes("C1 06 30 01 02 03")).ok());
  EXPECT_EQ(Registry().counters().frames_ignored.load(), 1u);
  EXPECT_EQ(a->Send(HexBytes("C1 06 F3 00 00 00")).code(),
            absl::StatusCode::kInvalidArgument);
}


TEST_F(GameSessionTest, KnownBlockLogsInWhileTheAccountIsLockedForOthers) {
  config_.throttle.account_fail_limit = 3;
  config_.throttle.account_lock_duration = absl::Seconds(600);
  {
    auto before = LoggedIn("test0", "pass", 1);  // 192.0.2.1 becomes known
    before->session.OnClose(before->conn);
  }
  for (uint8_t ip = 10; ip < 16; ++ip) {
    auto attacker = NewClient(ip);
    ASSERT_TRUE(attacker->Login("test0", "guess").ok());
  }
  EXPECT_EQ(Registry().counters().accounts_locked.load(), 1u);
  auto stranger = NewClient(20);
  ASSERT_TRUE(stranger->Login("test0", "pass").ok());
  EXPECT_EQ(stranger->LastResult(), 14);
  auto owner = NewClient(1);
  ASSERT_TRUE(owner->Login("test0", "pass").ok());
  EXPECT_EQ(owner->LastResult(), 1);
  EXPECT_EQ(Registry().counters().logins_known_block.load(), 1u);
  // Known means within known_for (30 days by default) of the last login.
  owner->session.OnClose(owner->conn);
  clock_.SetWallNow(clock_.WallNow() + absl::Hours(24 * 31));
  auto late = NewClient(1);
  ASSERT_TRUE(late->Login("test0", "pass").ok());
  EXPECT_EQ(late->LastResult(), 14);
}

TEST_F(GameSessionTest, LockKnownBlocksLocksTheOwnerOutToo) {
  config_.throttle.account_fail_limit = 3;
  config_.throttle.lock_known_blocks = true;
  {
    auto before = LoggedIn("test0", "pass", 1);
    before->session.OnClose(before->conn);
  }
  for (uint8_t ip = 10; ip < 13; ++ip) {
    ASSERT_TRUE(NewClient(ip)->Login("test0", "guess").ok());
  }
  auto owner = NewClient(1);
  ASSERT_TRUE(owner->Login("test0", "pass").ok());
  EXPECT_EQ(owner->LastResult(), 14);
}

TEST_F(GameSessionTest, LoginBytesAreWipedOnceChecked) {
  for (const char* password : {"pass", "wrong-password-20ch"}) {
    auto c = NewClient();
    // The decryption buffer is the arena's first allocation: the bytes up to
    // the next one are it.
    const size_t buffer_end = c->conn.arena().used();
    Bytes wire = c->cipher.Encrypt(LoginPlain("test0", password));
    ASSERT_TRUE(c->session.OnFrame(c->conn, FrameOf(wire)).ok());
    EXPECT_EQ(c->LastResult(), std::string(password) == "pass" ? 1 : 0);
    const absl::Span<uint8_t> after = c->conn.arena().Allocate(1);
    ASSERT_FALSE(after.empty());
    const uint8_t* end = after.data();
    const uint8_t* begin = end - buffer_end;
    EXPECT_EQ(std::count(begin, end, uint8_t{0}),
              static_cast<std::ptrdiff_t>(buffer_end))
        << "the decrypted login is left in the arena";
    EXPECT_EQ(std::count(wire.begin(), wire.end(), uint8_t{0}),
              static_cast<std::ptrdiff_t>(wire.size()))
        << "the encrypted login is left in the frame buffer";
    c->session.OnClose(c->conn);
  }
}

TEST_F(GameSessionTest, LoginThatCannotBeCheckedInTimeAnswersSeven) {
  config_.login_gate.slots = 1;
  config_.login_answer_timeout = absl::Seconds(2);
  // Another prefix's check holds the only slot.
  HashGate::Slot busy = Registry().login_gate().Acquire(
      guard::IpKey{guard::IpFamily::kV4, 1}, clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(busy.held());
  auto c = NewClient();
  std::atomic<bool> done{false};
  std::thread login([&] {
    EXPECT_TRUE(c->Login("test0", "pass").ok());
    done = true;
  });
  // The gate re-reads the (fake) clock while it waits; move it on until the
  // answer came (bounded).
  for (const absl::Time end = absl::Now() + absl::Seconds(10);
       !done.load() && absl::Now() < end;) {
    clock_.Advance(absl::Milliseconds(100));
    std::this_thread::yield();
  }
  login.join();
  EXPECT_EQ(c->LastResult(), 7);
  EXPECT_EQ(Registry().counters().logins_check_timeout.load(), 1u);
  // With the slot free again it logs in at once.
  busy = HashGate::Slot();
  ASSERT_TRUE(c->Login("test0", "pass").ok());
  EXPECT_EQ(c->LastResult(), 1);
}

}  // namespace
}  // namespace muwarden::game
