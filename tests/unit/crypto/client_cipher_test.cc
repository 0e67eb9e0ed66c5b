#include "common/crypto/client_cipher.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/crypto/simple_modulus.h"
#include "common/crypto/xor3.h"
#include "gtest/gtest.h"
#include "tests/support/hex.h"

namespace muwarden::crypto {
namespace {

using ::muwarden::testing::HexBytes;

// The 60-byte Season 6 login: "test0" / "pass" (fields Xor3'd), tick count
// 123456, version "10404", serial "k1Pk2jcET48mxL3b", last byte 0.
const std::vector<uint8_t> kLoginPlain = HexBytes(
    "C3 3C F1 01 88 AA D8 88 FF AB FC CF AB FC 8C AE D8 8F CF AB FC CF AB FC"
    "CF AB FC CF AB FC CF AB FC CF 40 E2 01 00 31 30 34 30 34 6B 31 50 6B 32"
    "6A 63 45 54 34 38 6D 78 4C 33 62 00");
// Xor32 then SimpleModulus (client to server keys), computed by an
// independent script from PROTOCOL.md section 4, at counters 0 and 1.
const std::vector<uint8_t> kLoginWire0 = HexBytes(
    "C3 5A 14 6B 15 DF C3 75 C0 F6 90 84 B1 70 AD 6B 1B C4 AC 70 4F 74 7A 4F"
    "7F 18 55 7E 65 0B 41 06 8C 1C 29 6E D4 37 C7 DD 82 E3 E1 B0 A7 92 F2 64"
    "0E D4 93 76 E1 A0 80 53 66 2E 67 65 A9 8A BB F5 CA 2C 7D 48 35 52 44 43"
    "9E D3 F0 A8 C1 1B 2E 0B 21 4D 64 C4 47 70 69 C9 4A 74");
const std::vector<uint8_t> kLoginWire1 = HexBytes(
    "C3 5A A4 8B 3E 71 8B D2 A1 AB 5C 85 B0 70 AD 6B 1B C4 AC 70 4F 74 7A 4F"
    "7F 18 55 7E 65 0B 41 06 8C 1C 29 6E D4 37 C7 DD 82 E3 E1 B0 A7 92 F2 64"
    "0E D4 93 76 E1 A0 80 53 66 2E 67 65 A9 8A BB F5 CA 2C 7D 48 35 52 44 43"
    "9E D3 F0 A8 C1 1B 2E 0B 21 4D 64 C4 47 70 69 C9 4A 74");
const std::vector<uint8_t> kLogoutPlain = HexBytes("C3 05 F1 02 00");
const std::vector<uint8_t> kLogoutWire0 =
    HexBytes("C3 0D C9 30 21 0A 56 2A 21 99 5D 28 11");
const std::vector<uint8_t> kLogoutWire1 =
    HexBytes("C3 0D F9 7A 3C E6 5F 2F 61 CA 94 29 10");

const std::vector<uint8_t> kPingWire = HexBytes(
    "C3 18 BC 9D 35 E2 A2 21 22 91 5C 2B 1E 18 63 47 28 C3 10 20 F1 C4 2A 14");
const std::vector<uint8_t> kPingPlain =
    HexBytes("C3 0C 0E 00 01 33 FE 27 00 00 00 00");

absl::StatusOr<std::vector<uint8_t>> FromClient(
    SimpleModulusDecryptor& dec, const std::vector<uint8_t>& wire) {
  std::vector<uint8_t> out(wire.size());
  absl::StatusOr<size_t> n = DecryptFromClient(wire, dec, absl::MakeSpan(out));
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

std::string Field(const std::vector<uint8_t>& packet, size_t offset,
                  size_t size) {
  std::vector<uint8_t> field(packet.begin() + offset,
                             packet.begin() + offset + size);
  Xor3(absl::MakeSpan(field));
  return std::string(field.begin(), field.end()).c_str();
}

TEST(ClientCipherTest, LoginPlainLayout) {
  ASSERT_EQ(kLoginPlain.size(), 60u);
  EXPECT_EQ(Field(kLoginPlain, 4, 10), "test0");
  EXPECT_EQ(Field(kLoginPlain, 14, 20), "pass");
  EXPECT_EQ(std::string(kLoginPlain.begin() + 38, kLoginPlain.begin() + 43),
            "10404");
  EXPECT_EQ(std::string(kLoginPlain.begin() + 43, kLoginPlain.begin() + 59),
            "k1Pk2jcET48mxL3b");
}

TEST(ClientCipherTest, EncryptLikeClientLoginAndLogoutVectors) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  EXPECT_EQ(EncryptLikeClient(kLoginPlain, enc).value(), kLoginWire0);
  EXPECT_EQ(EncryptLikeClient(kLoginPlain, enc).value(), kLoginWire1);
  SimpleModulusEncryptor enc2(kClientToServerKeys);
  EXPECT_EQ(EncryptLikeClient(kLogoutPlain, enc2).value(), kLogoutWire0);
  EXPECT_EQ(EncryptLikeClient(kLogoutPlain, enc2).value(), kLogoutWire1);
}

TEST(ClientCipherTest, DecryptFromClientLoginVectors) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(FromClient(dec, kLoginWire0).value(), kLoginPlain);
  EXPECT_EQ(FromClient(dec, kLoginWire1).value(), kLoginPlain);
  EXPECT_EQ(dec.expected_counter(), 2);
}

TEST(ClientCipherTest, DecryptFromClientLogoutVectors) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(FromClient(dec, kLogoutWire0).value(), kLogoutPlain);
  EXPECT_EQ(FromClient(dec, kLogoutWire1).value(), kLogoutPlain);
  // Out of order: the counter-0 packet again is refused.
  EXPECT_EQ(FromClient(dec, kLogoutWire0).status().code(),
            absl::StatusCode::kAborted);
}

TEST(ClientCipherTest, DecryptFromClientRealPingInPlace) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  std::vector<uint8_t> buffer = kPingWire;
  absl::StatusOr<size_t> n =
      DecryptFromClient(buffer, dec, absl::MakeSpan(buffer));
  ASSERT_TRUE(n.ok()) << n.status();
  buffer.resize(*n);
  EXPECT_EQ(buffer, kPingPlain);
}

TEST(ClientCipherTest, C1IsXor32OnlyAndLeavesTheCounter) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  EXPECT_EQ(EncryptLikeClient(HexBytes("C1 06 11 01 02 03"), enc).value(),
            HexBytes("C1 06 11 EE F4 D4"));
  EXPECT_EQ(enc.next_counter(), 0);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(FromClient(dec, HexBytes("C1 06 11 EE F4 D4")).value(),
            HexBytes("C1 06 11 01 02 03"));
  EXPECT_EQ(dec.expected_counter(), 0);
}

TEST(ClientCipherTest, ClientToServerRoundTripMixed) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  const std::vector<std::vector<uint8_t>> packets = {
      kLoginPlain, HexBytes("C1 05 F3 00 00"), kPingPlain,
      HexBytes("C2 00 07 00 61 62 00"), kLogoutPlain};
  for (int round = 0; round < 100; ++round) {
    for (const auto& plain : packets) {
      absl::StatusOr<std::vector<uint8_t>> wire = EncryptLikeClient(plain, enc);
      ASSERT_TRUE(wire.ok()) << wire.status();
      ASSERT_EQ(FromClient(dec, *wire).value(), plain);
    }
  }
}

TEST(ClientCipherTest, ServerToClientRoundTrip) {
  SimpleModulusEncryptor server(kServerToClientKeys);
  SimpleModulusDecryptor client(kServerToClientKeys);
  const std::vector<uint8_t> logout_answer = HexBytes("C3 05 F1 02 01");
  std::vector<uint8_t> wire(13);
  ASSERT_TRUE(server.Encrypt(logout_answer, absl::MakeSpan(wire)).ok());
  std::vector<uint8_t> out(wire.size());
  absl::StatusOr<size_t> n =
      DecryptFromServer(wire, client, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  out.resize(*n);
  EXPECT_EQ(out, logout_answer);

  // C1 from the server is plain.
  const std::vector<uint8_t> hello =
      HexBytes("C1 0C F1 00 01 02 00 31 30 34 30 34");
  std::vector<uint8_t> hello_out(hello.size());
  n = DecryptFromServer(hello, client, absl::MakeSpan(hello_out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(hello_out, hello);
  EXPECT_EQ(client.expected_counter(), 1);
}

TEST(ClientCipherTest, RefusesBadFraming) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      {0x47, 0x45, 0x54, 0x20},  // "GET "
      {0xC1},
      {0xC1, 0x02},
      {0xC1, 0x07, 0x11, 0x01},
      {0xC2, 0x00, 0x03},
  };
  for (const auto& packet : bad) {
    EXPECT_EQ(EncryptLikeClient(packet, enc).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(FromClient(dec, packet).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  std::vector<uint8_t> small(3);
  EXPECT_EQ(DecryptFromClient(HexBytes("C1 06 11 EE F4 D4"), dec,
                              absl::MakeSpan(small))
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(
      EncryptLikeClient(std::vector<uint8_t>(200, 0xC3), enc).status().code(),
      absl::StatusCode::kInvalidArgument);  // length field 0xC3 != 200
  EXPECT_EQ(enc.next_counter(), 0);
  EXPECT_EQ(dec.expected_counter(), 0);
}

}  // namespace
}  // namespace muwarden::crypto
