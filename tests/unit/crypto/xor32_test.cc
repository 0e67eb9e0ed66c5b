#include "common/crypto/xor32.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/hex.h"

namespace muwarden::crypto {
namespace {

using ::muwarden::testing::HexBytes;

std::vector<uint8_t> Encrypted(const char* hex) {
  std::vector<uint8_t> packet = HexBytes(hex);
  Xor32Encrypt(absl::MakeSpan(packet));
  return packet;
}

std::vector<uint8_t> Decrypted(const char* hex) {
  std::vector<uint8_t> packet = HexBytes(hex);
  Xor32Decrypt(absl::MakeSpan(packet));
  return packet;
}

TEST(PacketHeaderSizeTest, ByFirstByte) {
  EXPECT_EQ(PacketHeaderSize(0xC1), 2u);
  EXPECT_EQ(PacketHeaderSize(0xC2), 3u);
  EXPECT_EQ(PacketHeaderSize(0xC3), 2u);
  EXPECT_EQ(PacketHeaderSize(0xC4), 3u);
  EXPECT_EQ(PacketHeaderSize(0x00), 0u);
  EXPECT_EQ(PacketHeaderSize(0x47), 0u);
  EXPECT_EQ(PacketHeaderSize(0xC5), 0u);
}

TEST(Xor32Test, EncryptVector) {
  EXPECT_EQ(Encrypted("C1 06 11 01 02 03"), HexBytes("C1 06 11 EE F4 D4"));
}

TEST(Xor32Test, DecryptVector) {
  EXPECT_EQ(Decrypted("C1 06 11 EE F4 D4"), HexBytes("C1 06 11 01 02 03"));
}

// Worked by hand: c[4] = 01 ^ 11 ^ K[4] (18) = 08, c[5] = 02 ^ 08 ^ K[5] (23)
// = 29. The key index is the absolute index, not the index in the body.
TEST(Xor32Test, C2KeyIndexIsAbsolute) {
  std::vector<uint8_t> packet = HexBytes("C2 00 06 11 01 02");
  Xor32Encrypt(absl::MakeSpan(packet));
  EXPECT_EQ(packet, HexBytes("C2 00 06 11 08 29"));
  Xor32Decrypt(absl::MakeSpan(packet));
  EXPECT_EQ(packet, HexBytes("C2 00 06 11 01 02"));
}

TEST(Xor32Test, RealClientPingBody) {
  EXPECT_EQ(Decrypted("C3 0C 0E F0 E9 F9 C2 46 8C BF 7E B2"),
            HexBytes("C3 0C 0E 00 01 33 FE 27 00 00 00 00"));
}

TEST(Xor32Test, RoundTripAllTypesAndLengths) {
  for (uint8_t type : {0xC1, 0xC2, 0xC3, 0xC4}) {
    const size_t header = PacketHeaderSize(type);
    for (size_t len = header + 1; len <= 300; ++len) {
      std::vector<uint8_t> plain(len);
      plain[0] = type;
      for (size_t i = 1; i < len; ++i) plain[i] = static_cast<uint8_t>(i * 7);
      std::vector<uint8_t> packet = plain;
      Xor32Encrypt(absl::MakeSpan(packet));
      // Header and code never change.
      for (size_t i = 0; i <= header; ++i) ASSERT_EQ(packet[i], plain[i]);
      if (len > header + 1) {
        ASSERT_NE(packet, plain) << len;
      }
      Xor32Decrypt(absl::MakeSpan(packet));
      ASSERT_EQ(packet, plain) << int{type} << " " << len;
    }
  }
}

TEST(Xor32Test, NothingToDoLeavesBytesAlone) {
  const std::vector<std::vector<uint8_t>> inputs = {
      {},
      {0xC1},
      {0xC1, 0x03},
      {0xC1, 0x03, 0x11},
      {0xC2, 0x00, 0x04, 0x11},
      {0x47, 0x45, 0x54, 0x20, 0x2F},  // "GET /": no frame
  };
  for (const auto& input : inputs) {
    std::vector<uint8_t> packet = input;
    Xor32Encrypt(absl::MakeSpan(packet));
    EXPECT_EQ(packet, input);
    Xor32Decrypt(absl::MakeSpan(packet));
    EXPECT_EQ(packet, input);
  }
}

}  // namespace
}  // namespace muwarden::crypto
