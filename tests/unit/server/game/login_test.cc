#include "server/game/login.h"

#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/crypto/client_cipher.h"
#include "common/crypto/simple_modulus.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/game_test_util.h"

namespace muwarden::game {
namespace {

using testing::Bytes;
using testing::HexBytes;
using testing::LoginPlain;

// The 60-byte Season 6 login "test0" / "pass", tick 123456, version "10404",
// serial "k1Pk2jcET48mxL3b" (PROTOCOL.md section 3; the same vector as the
// crypto tests), and its wire form at counter 0.
const Bytes kLoginPlain = HexBytes(
    "C3 3C F1 01 88 AA D8 88 FF AB FC CF AB FC 8C AE D8 8F CF AB FC CF AB FC"
    "CF AB FC CF AB FC CF AB FC CF 40 E2 01 00 31 30 34 30 34 6B 31 50 6B 32"
    "6A 63 45 54 34 38 6D 78 4C 33 62 00");
const Bytes kLoginWire0 = HexBytes(
    "C3 5A 14 6B 15 DF C3 75 C0 F6 90 84 B1 70 AD 6B 1B C4 AC 70 4F 74 7A 4F"
    "7F 18 55 7E 65 0B 41 06 8C 1C 29 6E D4 37 C7 DD 82 E3 E1 B0 A7 92 F2 64"
    "0E D4 93 76 E1 A0 80 53 66 2E 67 65 A9 8A BB F5 CA 2C 7D 48 35 52 44 43"
    "9E D3 F0 A8 C1 1B 2E 0B 21 4D 64 C4 47 70 69 C9 4A 74");

TEST(LoginTest, BuildLoginMatchesTheProtocolVector) {
  LoginRequest request;
  request.username = "test0";
  request.password = "pass";
  request.tick_count = 123456;
  request.version = "10404";
  request.serial = "k1Pk2jcET48mxL3b";
  EXPECT_EQ(BuildLogin(request), kLoginPlain);
  EXPECT_EQ(LoginPlain("test0", "pass"), kLoginPlain);
}

TEST(LoginTest, BuildThenParseRoundTripsEveryVariant) {
  struct Case {
    LoginVariant variant;
    size_t length;
    std::string password;
    std::string version;
  };
  const Case cases[] = {
      {LoginVariant::kLongPassword, 60, "12345678901234567890", "10404"},
      {LoginVariant::kShortPassword, 50, "0123456789", "10405"},
      {LoginVariant::kV075, 48, "pw", "075"},
  };
  for (const Case& c : cases) {
    LoginRequest request;
    request.variant = c.variant;
    request.username = "Ab_9012345";
    request.password = c.password;
    request.tick_count = 0xA1B2C3D4;
    request.version = c.version;
    request.serial = "ABCDEFGHIJKLMNOP";
    const Bytes packet = BuildLogin(request);
    ASSERT_EQ(packet.size(), c.length);
    EXPECT_EQ(packet[1], c.length);
    auto parsed = ParseLogin(packet);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->variant, request.variant);
    EXPECT_EQ(parsed->username, request.username);
    EXPECT_EQ(parsed->password, request.password);
    EXPECT_EQ(parsed->tick_count, request.tick_count);
    EXPECT_EQ(parsed->version, request.version);
    EXPECT_EQ(parsed->serial, request.serial);
  }
}

TEST(LoginTest, BuildLoginCutsAndPadsFieldsToTheLayout) {
  LoginRequest request;
  request.variant = LoginVariant::kShortPassword;
  request.username = "abcdefghijKLM";       // 13 bytes: cut to 10
  request.password = "0123456789abc";       // cut to 10
  request.version = "1";                    // zero-padded to 5
  request.serial = "0123456789ABCDEFGHIJ";  // cut to 16
  const Bytes packet = BuildLogin(request);
  ASSERT_EQ(packet.size(), 50u);
  auto parsed = ParseLogin(packet);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->username, "abcdefghij");
  EXPECT_EQ(parsed->password, "0123456789");
  EXPECT_EQ(parsed->version, std::string("1\0\0\0\0", 5));
  EXPECT_EQ(parsed->serial, "0123456789ABCDEF");
  EXPECT_EQ(packet.back(), 0);
}

TEST(LoginTest, ParsesTheDecryptedWireVector) {
  crypto::SimpleModulusDecryptor dec(crypto::kClientToServerKeys);
  Bytes out(kLoginWire0.size());
  auto n = crypto::DecryptFromClient(kLoginWire0, dec, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  out.resize(*n);
  auto login = ParseLogin(out);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->variant, LoginVariant::kLongPassword);
  EXPECT_EQ(login->username, "test0");
  EXPECT_EQ(login->password, "pass");
  EXPECT_EQ(login->tick_count, 123456u);
  EXPECT_EQ(login->version, "10404");
  EXPECT_EQ(login->serial, "k1Pk2jcET48mxL3b");
}

TEST(LoginTest, UsernameFieldFromTheProtocolExample) {
  // "test0" in a 10-byte field is 88 AA D8 88 FF AB FC CF AB FC.
  Bytes p = LoginPlain("x", "y");
  const Bytes field = HexBytes("88 AA D8 88 FF AB FC CF AB FC");
  std::copy(field.begin(), field.end(), p.begin() + 4);
  auto login = ParseLogin(p);
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->username, "test0");
}

TEST(LoginTest, LongPasswordVariantKeepsTwentyBytes) {
  auto login = ParseLogin(LoginPlain("abcdefghij", "12345678901234567890"));
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->username, "abcdefghij");
  EXPECT_EQ(login->password, "12345678901234567890");
}

TEST(LoginTest, ShortPasswordVariant) {
  Bytes p = LoginPlain("player1", "secret", LoginVariant::kShortPassword,
                       "10404", "k1Pk2jcET48mxL3b", 0x01020304);
  ASSERT_EQ(p.size(), 50u);
  auto login = ParseLogin(p);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->variant, LoginVariant::kShortPassword);
  EXPECT_EQ(login->username, "player1");
  EXPECT_EQ(login->password, "secret");
  EXPECT_EQ(login->tick_count, 0x01020304u);
  EXPECT_EQ(login->version, "10404");
  EXPECT_EQ(login->serial, "k1Pk2jcET48mxL3b");
}

TEST(LoginTest, V075VariantHasAThreeByteVersion) {
  Bytes p =
      LoginPlain("oldie", "pw", LoginVariant::kV075, "075", "ABCDEFGHIJKLMNOP");
  ASSERT_EQ(p.size(), 48u);
  auto login = ParseLogin(p);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->variant, LoginVariant::kV075);
  EXPECT_EQ(login->username, "oldie");
  EXPECT_EQ(login->password, "pw");
  EXPECT_EQ(login->version, "075");
  EXPECT_EQ(login->serial, "ABCDEFGHIJKLMNOP");
}

TEST(LoginTest, ShortPasswordCutAtTenBytes) {
  // A 10-byte field holds at most 10 characters; nothing leaks from the tick.
  auto login = ParseLogin(LoginPlain("player1", "0123456789",
                                     LoginVariant::kShortPassword, "10404",
                                     "k1Pk2jcET48mxL3b", 0xFFFFFFFF));
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->password, "0123456789");
}

TEST(LoginTest, EveryOtherLengthIsMalformed) {
  const Bytes full = LoginPlain("test0", "pass");
  for (size_t len = 0; len <= 80; ++len) {
    if (len == 60 || len == 50 || len == 48) continue;
    Bytes p(len, 0);
    std::copy_n(full.begin(), std::min(len, full.size()), p.begin());
    if (len >= 2) p[1] = static_cast<uint8_t>(len);
    auto login = ParseLogin(p);
    EXPECT_EQ(login.status().code(), absl::StatusCode::kInvalidArgument)
        << "length " << len;
  }
}

TEST(LoginTest, TruncatedPacketWithTheOriginalLengthFieldIsMalformed) {
  Bytes p = LoginPlain("test0", "pass");
  p.resize(59);  // length field still says 60
  EXPECT_EQ(ParseLogin(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoginTest, OverlongPacketIsMalformed) {
  Bytes p = LoginPlain("test0", "pass");
  p.push_back(0);
  p[1] = 61;
  EXPECT_EQ(ParseLogin(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoginTest, WrongCodeOrHeaderIsMalformed) {
  Bytes p = LoginPlain("test0", "pass");
  p[3] = 0x02;
  EXPECT_EQ(ParseLogin(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = LoginPlain("test0", "pass");
  p[0] = 0xC2;
  EXPECT_EQ(ParseLogin(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = LoginPlain("test0", "pass");
  p[1] = 50;
  EXPECT_EQ(ParseLogin(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoginTest, C1LoginParsesToo) {
  Bytes p = LoginPlain("test0", "pass");
  p[0] = 0xC1;
  EXPECT_TRUE(ParseLogin(p).ok());
}

TEST(LoginTest, AnswerBytes) {
  auto a = BuildLoginAnswer(LoginAnswer::kOk);
  EXPECT_EQ(Bytes(a.begin(), a.end()), HexBytes("C1 05 F1 01 01"));
  a = BuildLoginAnswer(LoginAnswer::kTemporarilyBlocked);
  EXPECT_EQ(Bytes(a.begin(), a.end()), HexBytes("C1 05 F1 01 0E"));
  a = BuildLoginAnswer(LoginAnswer::kTooManyFailures);
  EXPECT_EQ(Bytes(a.begin(), a.end()), HexBytes("C1 05 F1 01 08"));
}


// The bytes a LoginSecret occupied, after `use` ran on it and it was
// destroyed (or not).
template <typename F>
std::string LeftBehind(F use) {
  alignas(LoginSecret) unsigned char storage[sizeof(LoginSecret)];
  auto* secret = new (storage) LoginSecret("hunter2-password");
  use(*secret);
  secret->~LoginSecret();
  return std::string(reinterpret_cast<const char*>(storage), sizeof(storage));
}

TEST(LoginSecretTest, WipesItsBytesWhenReplacedAndWhenDestroyed) {
  EXPECT_EQ(LeftBehind([](LoginSecret&) {}).find("hunter2"),
            std::string::npos);
  EXPECT_EQ(LeftBehind([](LoginSecret& s) { s = "x"; }).find("hunter2"),
            std::string::npos);
  LoginSecret kept("abc");
  EXPECT_EQ(kept.view(), "abc");
  kept.Wipe();
  EXPECT_TRUE(kept.empty());
  // Cut to the longest password field, and never more.
  EXPECT_EQ(LoginSecret(std::string(30, 'x')).size(), LoginSecret::kCapacity);
}

}  // namespace
}  // namespace muwarden::game
