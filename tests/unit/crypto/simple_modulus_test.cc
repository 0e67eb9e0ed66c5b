#include "common/crypto/simple_modulus.h"

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/support/hex.h"

namespace muwarden::crypto {
namespace {

using ::muwarden::testing::HexBytes;

const std::vector<uint8_t> kPingWire = HexBytes(
    "C3 18 BC 9D 35 E2 A2 21 22 91 5C 2B 1E 18 63 47 28 C3 10 20 F1 C4 2A 14");
const std::vector<uint8_t> kPingAfterSimpleModulus =
    HexBytes("C3 0C 0E F0 E9 F9 C2 46 8C BF 7E B2");

// A plain C3 (short) or C4 packet with a correct length field around `body`
// (code + payload).
std::vector<uint8_t> MakePacket(uint8_t type,
                                const std::vector<uint8_t>& body) {
  std::vector<uint8_t> packet;
  const size_t len = body.size() + (type == 0xC3 ? 2 : 3);
  packet.push_back(type);
  if (type == 0xC4) packet.push_back(static_cast<uint8_t>(len >> 8));
  packet.push_back(static_cast<uint8_t>(len));
  packet.insert(packet.end(), body.begin(), body.end());
  return packet;
}

std::vector<uint8_t> EncryptOrDie(SimpleModulusEncryptor& enc,
                                  const std::vector<uint8_t>& plain) {
  const size_t header = plain[0] == 0xC3 ? 2 : 3;
  std::vector<uint8_t> wire(SimpleModulusEncryptedSize(plain.size(), header));
  absl::StatusOr<size_t> n = enc.Encrypt(plain, absl::MakeSpan(wire));
  EXPECT_TRUE(n.ok()) << n.status();
  if (!n.ok()) return {};
  EXPECT_EQ(*n, wire.size());
  return wire;
}

absl::StatusOr<std::vector<uint8_t>> Decrypt(SimpleModulusDecryptor& dec,
                                             const std::vector<uint8_t>& wire) {
  std::vector<uint8_t> out(wire.size());
  absl::StatusOr<size_t> n = dec.Decrypt(wire, absl::MakeSpan(out));
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

// Builds a C3 packet from explicit blocks, for shapes the encryptor never
// produces (short middle blocks, odd padding, bad size bytes).
std::vector<uint8_t> C3FromBlocks(
    const std::vector<SimpleModulusEncryptedBlock>& blocks) {
  std::vector<uint8_t> wire = {0xC3, 0};
  for (const auto& block : blocks)
    wire.insert(wire.end(), block.begin(), block.end());
  wire[1] = static_cast<uint8_t>(wire.size());
  return wire;
}

SimpleModulusEncryptedBlock BlockOrDie(const SimpleModulusPlainBlock& plain,
                                       size_t size) {
  absl::StatusOr<SimpleModulusEncryptedBlock> block =
      SimpleModulusEncryptBlock(kClientToServerKeys, plain, size);
  EXPECT_TRUE(block.ok()) << block.status();
  return block.ok() ? *block : SimpleModulusEncryptedBlock{};
}

TEST(SimpleModulusKeysTest, EncryptAndDecryptKeysAreInverse) {
  for (const SimpleModulusKeys& keys :
       {kClientToServerKeys, kServerToClientKeys}) {
    for (size_t i = 0; i < 4; ++i) {
      // Every u16 xor input must stay below the modulus to survive the round.
      EXPECT_GT(keys.modulus[i], 0xFFFFu);
      EXPECT_EQ(uint64_t{keys.encrypt[i]} * keys.decrypt[i] % keys.modulus[i],
                1u);
    }
  }
}

TEST(SimpleModulusSizeTest, Formula) {
  EXPECT_EQ(SimpleModulusEncryptedSize(3, 2), 13u);   // counter + code
  EXPECT_EQ(SimpleModulusEncryptedSize(9, 2), 13u);   // exactly 8
  EXPECT_EQ(SimpleModulusEncryptedSize(10, 2), 24u);  // 9: two blocks
  EXPECT_EQ(SimpleModulusEncryptedSize(12, 2), 24u);  // the ping
  EXPECT_EQ(SimpleModulusEncryptedSize(60, 2), 90u);  // the S6 login
  EXPECT_EQ(SimpleModulusEncryptedSize(185, 2), 255u);
  EXPECT_EQ(SimpleModulusEncryptedSize(4, 3), 14u);
  EXPECT_EQ(SimpleModulusEncryptedSize(4096, 3), 3 + 11 * 512u);
  EXPECT_EQ(SimpleModulusEncryptedSize(0, 2), 13u);  // below header: empty body
}

TEST(SimpleModulusDecryptorTest, RealClientPing) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  absl::StatusOr<std::vector<uint8_t>> plain = Decrypt(dec, kPingWire);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, kPingAfterSimpleModulus);
  EXPECT_EQ(dec.expected_counter(), 1);
}

TEST(SimpleModulusDecryptorTest, RealClientPingInPlace) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  std::vector<uint8_t> buffer = kPingWire;
  absl::StatusOr<size_t> n = dec.Decrypt(buffer, absl::MakeSpan(buffer));
  ASSERT_TRUE(n.ok()) << n.status();
  buffer.resize(*n);
  EXPECT_EQ(buffer, kPingAfterSimpleModulus);
}

// The real client leaves garbage in the unused bytes of its last block and
// includes it in the checksum.
TEST(SimpleModulusBlockTest, RealClientPingBlocksHaveDirtyPadding) {
  SimpleModulusEncryptedBlock second;
  std::copy(kPingWire.begin() + 13, kPingWire.end(), second.begin());
  absl::StatusOr<SimpleModulusDecodedBlock> block =
      SimpleModulusDecryptBlock(kClientToServerKeys, second);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->size, 3u);
  EXPECT_EQ(std::vector<uint8_t>(block->bytes.begin(), block->bytes.end()),
            HexBytes("BF 7E B2 85 BE 91 75 40"));
}

TEST(SimpleModulusBlockTest, RoundTripEverySizeBothKeys) {
  const std::vector<SimpleModulusPlainBlock> patterns = {
      {0, 0, 0, 0, 0, 0, 0, 0},
      {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
      {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF},
      {0xC3, 0x0C, 0x0E, 0x00, 0x01, 0x33, 0xFE, 0x27},
  };
  for (const SimpleModulusKeys& keys :
       {kClientToServerKeys, kServerToClientKeys}) {
    for (const auto& plain : patterns) {
      for (size_t size = 1; size <= 8; ++size) {
        absl::StatusOr<SimpleModulusEncryptedBlock> block =
            SimpleModulusEncryptBlock(keys, plain, size);
        ASSERT_TRUE(block.ok()) << block.status();
        absl::StatusOr<SimpleModulusDecodedBlock> decoded =
            SimpleModulusDecryptBlock(keys, *block);
        ASSERT_TRUE(decoded.ok()) << decoded.status();
        EXPECT_EQ(decoded->size, size);
        EXPECT_EQ(decoded->bytes, plain);
      }
    }
  }
}

TEST(SimpleModulusBlockTest, EncryptRefusesBadSizeAndZeroModulus) {
  const SimpleModulusPlainBlock plain{};
  EXPECT_EQ(
      SimpleModulusEncryptBlock(kClientToServerKeys, plain, 0).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SimpleModulusEncryptBlock(kClientToServerKeys, plain, 9).status().code(),
      absl::StatusCode::kInvalidArgument);
  SimpleModulusKeys broken = kClientToServerKeys;
  broken.modulus[2] = 0;
  EXPECT_EQ(SimpleModulusEncryptBlock(broken, plain, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SimpleModulusDecryptBlock(broken, SimpleModulusEncryptedBlock{})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SimpleModulusBlockTest, DecryptRefusesSizeByteZeroAndNine) {
  SimpleModulusEncryptedBlock block = BlockOrDie({1, 2, 3, 4, 5, 6, 7, 8}, 1);
  SimpleModulusEncryptedBlock size0 = block;
  size0[9] ^= 1 ^ 0;  // size field 1 -> 0, checksum untouched
  SimpleModulusEncryptedBlock size9 = block;
  size9[9] ^= 1 ^ 9;
  EXPECT_EQ(
      SimpleModulusDecryptBlock(kClientToServerKeys, size0).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SimpleModulusDecryptBlock(kClientToServerKeys, size9).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(SimpleModulusBlockTest, DecryptRefusesAnyFlippedDataByte) {
  const SimpleModulusEncryptedBlock block =
      BlockOrDie({1, 2, 3, 4, 5, 6, 7, 8}, 8);
  for (size_t i = 0; i < 9; ++i) {
    SimpleModulusEncryptedBlock flipped = block;
    flipped[i] ^= 0x01;
    EXPECT_EQ(
        SimpleModulusDecryptBlock(kClientToServerKeys, flipped).status().code(),
        absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
}

TEST(SimpleModulusPacketTest, RoundTripEveryLengthBothKeys) {
  for (const SimpleModulusKeys& keys :
       {kClientToServerKeys, kServerToClientKeys}) {
    SimpleModulusEncryptor enc(keys);
    SimpleModulusDecryptor dec(keys);
    for (size_t body_len = 1; body_len <= 300; ++body_len) {
      const uint8_t type =
          SimpleModulusEncryptedSize(body_len + 2, 2) <= 255 ? 0xC3 : 0xC4;
      std::vector<uint8_t> body(body_len);
      for (size_t i = 0; i < body_len; ++i) {
        body[i] = static_cast<uint8_t>(i * 31 + body_len);
      }
      const std::vector<uint8_t> plain = MakePacket(type, body);
      const uint8_t counter = enc.next_counter();
      ASSERT_EQ(counter, static_cast<uint8_t>(body_len - 1));
      const std::vector<uint8_t> wire = EncryptOrDie(enc, plain);
      ASSERT_FALSE(wire.empty());
      ASSERT_EQ(wire[0], type);
      const size_t declared =
          type == 0xC3 ? wire[1] : (size_t{wire[1]} << 8) | wire[2];
      ASSERT_EQ(declared, wire.size());
      absl::StatusOr<std::vector<uint8_t>> back = Decrypt(dec, wire);
      ASSERT_TRUE(back.ok()) << body_len << ": " << back.status();
      ASSERT_EQ(*back, plain) << body_len;
    }
    // 300 packets: both counters went round once.
    EXPECT_EQ(enc.next_counter(), 300 % 256);
    EXPECT_EQ(dec.expected_counter(), 300 % 256);
  }
}

TEST(SimpleModulusPacketTest, CounterWrapsAt256) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  const std::vector<uint8_t> logout = HexBytes("C3 05 F1 02 00");
  std::vector<std::vector<uint8_t>> wires;
  for (int i = 0; i < 600; ++i) {
    wires.push_back(EncryptOrDie(enc, logout));
    absl::StatusOr<std::vector<uint8_t>> back = Decrypt(dec, wires.back());
    ASSERT_TRUE(back.ok()) << i << ": " << back.status();
    ASSERT_EQ(*back, logout);
    ASSERT_EQ(dec.expected_counter(), static_cast<uint8_t>(i + 1));
  }
  // Same plain and same counter give the same bytes; neighbours differ.
  EXPECT_EQ(wires[0], wires[256]);
  EXPECT_EQ(wires[255], wires[511]);
  EXPECT_NE(wires[0], wires[1]);
  EXPECT_NE(wires[0], wires[255]);
}

TEST(SimpleModulusPacketTest, C4HeaderCarriesBigEndianLengths) {
  SimpleModulusEncryptor enc(kServerToClientKeys);
  SimpleModulusDecryptor dec(kServerToClientKeys);
  std::vector<uint8_t> body(400, 0x5A);
  const std::vector<uint8_t> plain = MakePacket(0xC4, body);  // 403 bytes
  const std::vector<uint8_t> wire = EncryptOrDie(enc, plain);
  ASSERT_EQ(wire.size(), 3 + 11 * 51u);  // 401 bytes -> 51 blocks = 564
  EXPECT_EQ(wire[1], 0x02);
  EXPECT_EQ(wire[2], 0x34);
  absl::StatusOr<std::vector<uint8_t>> back = Decrypt(dec, wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)[1], 0x01);
  EXPECT_EQ((*back)[2], 0x93);
  EXPECT_EQ(*back, plain);
}

TEST(SimpleModulusEncryptorTest, C3LimitIs185PlainBytes) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  const std::vector<uint8_t> fits = MakePacket(0xC3, std::vector<uint8_t>(183));
  ASSERT_EQ(fits.size(), 185u);
  EXPECT_EQ(EncryptOrDie(enc, fits).size(), 255u);
  const std::vector<uint8_t> too_big =
      MakePacket(0xC3, std::vector<uint8_t>(184));
  std::vector<uint8_t> out(300);
  EXPECT_EQ(enc.Encrypt(too_big, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(enc.next_counter(), 1);  // only the first call counted
}

TEST(SimpleModulusEncryptorTest, C4LimitIsTheLengthField) {
  SimpleModulusEncryptor enc(kServerToClientKeys);
  const std::vector<uint8_t> plain =
      MakePacket(0xC4, std::vector<uint8_t>(65535 - 3));
  std::vector<uint8_t> out(SimpleModulusEncryptedSize(plain.size(), 3));
  EXPECT_EQ(enc.Encrypt(plain, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(enc.next_counter(), 0);
}

TEST(SimpleModulusEncryptorTest, RefusesBadInputWithoutCounting) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  std::vector<uint8_t> out(64);
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      {0xC3},
      {0xC3, 0x02},                    // no code byte
      {0xC4, 0x00, 0x03},              // no code byte
      {0xC1, 0x05, 0xF1, 0x02, 0x00},  // not SimpleModulus
      {0xC3, 0x06, 0xF1, 0x02, 0x00},  // length field too big
      {0xC3, 0x04, 0xF1, 0x02, 0x00},  // length field too small
  };
  for (const auto& packet : bad) {
    EXPECT_EQ(enc.Encrypt(packet, absl::MakeSpan(out)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  const std::vector<uint8_t> logout = HexBytes("C3 05 F1 02 00");
  std::vector<uint8_t> small(12);
  EXPECT_EQ(enc.Encrypt(logout, absl::MakeSpan(small)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(enc.next_counter(), 0);
}

TEST(SimpleModulusDecryptorTest, RefusesWrongLengthMultiple) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  std::vector<uint8_t> wire = EncryptOrDie(enc, HexBytes("C3 05 F1 02 00"));
  ASSERT_EQ(wire.size(), 13u);
  std::vector<uint8_t> shorter(wire.begin(), wire.end() - 1);
  shorter[1] = 12;
  std::vector<uint8_t> longer = wire;
  longer.push_back(0);
  longer[1] = 14;
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(Decrypt(dec, shorter).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decrypt(dec, longer).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dec.expected_counter(), 0);
  EXPECT_TRUE(Decrypt(dec, wire).ok());
}

TEST(SimpleModulusDecryptorTest, RefusesFlippedByteAndKeepsCounter) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  std::vector<uint8_t> wire = kPingWire;
  wire[5] ^= 0x40;
  EXPECT_EQ(Decrypt(dec, wire).status().code(), absl::StatusCode::kDataLoss);
  wire = kPingWire;
  wire[17] ^= 0x01;  // second block
  EXPECT_EQ(Decrypt(dec, wire).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(dec.expected_counter(), 0);
  EXPECT_TRUE(Decrypt(dec, kPingWire).ok());
}

TEST(SimpleModulusDecryptorTest, RefusesReplayedCounter) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  const std::vector<uint8_t> logout = HexBytes("C3 05 F1 02 00");
  const std::vector<uint8_t> first = EncryptOrDie(enc, logout);
  const std::vector<uint8_t> second = EncryptOrDie(enc, logout);
  const std::vector<uint8_t> third = EncryptOrDie(enc, logout);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  ASSERT_TRUE(Decrypt(dec, first).ok());
  EXPECT_EQ(Decrypt(dec, first).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Decrypt(dec, third).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(dec.expected_counter(), 1);
  EXPECT_TRUE(Decrypt(dec, second).ok());
  EXPECT_TRUE(Decrypt(dec, third).ok());
}

TEST(SimpleModulusDecryptorTest, RefusesSizeByteZeroAndNine) {
  for (uint8_t bad_size : {0, 9}) {
    SimpleModulusEncryptedBlock block =
        BlockOrDie({0x00, 0xF1, 0x02, 0x00, 0, 0, 0, 0}, 4);
    block[9] ^= 4 ^ bad_size;
    SimpleModulusDecryptor dec(kClientToServerKeys);
    EXPECT_EQ(Decrypt(dec, C3FromBlocks({block})).status().code(),
              absl::StatusCode::kInvalidArgument)
        << int{bad_size};
  }
}

TEST(SimpleModulusDecryptorTest, AcceptsDirtyPaddingInLastBlock) {
  const SimpleModulusEncryptedBlock block =
      BlockOrDie({0x00, 0xF1, 0x02, 0x00, 0xAA, 0xBB, 0xCC, 0xDD}, 4);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  absl::StatusOr<std::vector<uint8_t>> back =
      Decrypt(dec, C3FromBlocks({block}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, HexBytes("C3 05 F1 02 00"));
}

TEST(SimpleModulusDecryptorTest, RefusesShortBlockBeforeTheLast) {
  const SimpleModulusEncryptedBlock first =
      BlockOrDie({0x00, 0x0E, 1, 2, 3, 4, 5, 6}, 7);
  const SimpleModulusEncryptedBlock last =
      BlockOrDie({7, 8, 0, 0, 0, 0, 0, 0}, 2);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(Decrypt(dec, C3FromBlocks({first, last})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SimpleModulusDecryptorTest, RefusesCounterWithoutCode) {
  const SimpleModulusEncryptedBlock block = BlockOrDie({}, 1);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  EXPECT_EQ(Decrypt(dec, C3FromBlocks({block})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dec.expected_counter(), 0);
}

TEST(SimpleModulusDecryptorTest, RefusesBadFraming) {
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      {0xC3},
      {0xC3, 0x02},
      {0xC3, 0x00},
      {0xC4},
      {0xC4, 0x00},
      {0xC4, 0x00, 0x03},
      {0xC1, 0x05, 0xF1, 0x02, 0x00},
      {0x47, 0x45, 0x54, 0x20},
  };
  SimpleModulusDecryptor dec(kClientToServerKeys);
  for (const auto& packet : bad) {
    std::vector<uint8_t> out(16);
    EXPECT_EQ(dec.Decrypt(packet, absl::MakeSpan(out)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Truncated: the length field promises more than the span holds.
  std::vector<uint8_t> truncated(kPingWire.begin(), kPingWire.end() - 11);
  EXPECT_EQ(Decrypt(dec, truncated).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dec.expected_counter(), 0);
}

TEST(SimpleModulusDecryptorTest, OutputBufferTooSmall) {
  SimpleModulusDecryptor dec(kClientToServerKeys);
  std::vector<uint8_t> out(11);  // the plain ping needs 12
  EXPECT_EQ(dec.Decrypt(kPingWire, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kOutOfRange);
  std::vector<uint8_t> tiny(1);
  EXPECT_EQ(dec.Decrypt(kPingWire, absl::MakeSpan(tiny)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(dec.expected_counter(), 0);
  std::vector<uint8_t> exact(12);
  EXPECT_TRUE(dec.Decrypt(kPingWire, absl::MakeSpan(exact)).ok());
}

TEST(SimpleModulusDecryptorTest, RefusesTheOtherDirectionsKeys) {
  SimpleModulusEncryptor enc(kServerToClientKeys);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  const std::vector<uint8_t> wire =
      EncryptOrDie(enc, HexBytes("C3 0C 0E 00 01 33 FE 27 00 00 00 00"));
  EXPECT_FALSE(Decrypt(dec, wire).ok());
}

bool IsExpectedRefusal(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

// Garbage of every length, with and without a plausible C3/C4 header, must
// end in a status, and a refusal must not move the counter.
TEST(SimpleModulusDecryptorTest, GarbageNeverCrashes) {
  std::mt19937 rng(20240611);
  for (size_t len = 0; len <= 64; ++len) {
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<uint8_t> packet(len);
      for (auto& b : packet) b = static_cast<uint8_t>(rng());
      const int shape = trial % 3;
      if (shape >= 1 && len >= 1) packet[0] = shape == 1 ? 0xC3 : 0xC4;
      if (shape == 1 && len >= 2) packet[1] = static_cast<uint8_t>(len);
      if (shape == 2 && len >= 3) {
        packet[1] = 0;
        packet[2] = static_cast<uint8_t>(len);
      }
      SimpleModulusDecryptor dec(kClientToServerKeys);
      std::vector<uint8_t> out(len);
      absl::StatusOr<size_t> n = dec.Decrypt(packet, absl::MakeSpan(out));
      if (n.ok()) {
        EXPECT_LE(*n, len);
        EXPECT_EQ(dec.expected_counter(), 1);
      } else {
        EXPECT_TRUE(IsExpectedRefusal(n.status())) << n.status();
        EXPECT_EQ(dec.expected_counter(), 0);
      }
      // In place, into a too-small buffer, and into an empty one.
      (void)dec.Decrypt(packet, absl::MakeSpan(packet));
      std::vector<uint8_t> small(len / 2);
      (void)dec.Decrypt(packet, absl::MakeSpan(small));
      (void)dec.Decrypt(packet, absl::Span<uint8_t>());
    }
  }
}

// Valid packets with random bytes mutated behind the header.
TEST(SimpleModulusDecryptorTest, MutatedPacketsNeverCrash) {
  std::mt19937 rng(7);
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    SimpleModulusEncryptor enc(kClientToServerKeys);
    std::vector<uint8_t> body(1 + rng() % 120);
    for (auto& b : body) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> wire = EncryptOrDie(enc, MakePacket(0xC3, body));
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      wire[2 + rng() % (wire.size() - 2)] ^=
          static_cast<uint8_t>(1 + rng() % 255);
    }
    SimpleModulusDecryptor dec(kClientToServerKeys);
    absl::StatusOr<std::vector<uint8_t>> back = Decrypt(dec, wire);
    if (!back.ok()) {
      EXPECT_TRUE(IsExpectedRefusal(back.status())) << back.status();
      ++refused;
    }
  }
  // A mutation survives only if every touched block still checksums (and
  // the counter and size bytes still fit): rare.
  EXPECT_GT(refused, 1950);
}

}  // namespace
}  // namespace muwarden::crypto
