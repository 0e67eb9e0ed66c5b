#include "common/crypto/simple_modulus.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/crypto/xor32.h"

namespace muwarden::crypto {
namespace {

constexpr uint8_t kBlockSizeXor = 0x3D;
constexpr uint8_t kChecksumXor = 0xF8;
constexpr size_t kBitsPerResult = 18;
constexpr size_t kMaxC3Length = 0xFF;
constexpr size_t kMaxC4Length = 0xFFFF;

bool HasZeroModulus(const SimpleModulusKeys& keys) {
  return std::find(keys.modulus.begin(), keys.modulus.end(), 0u) !=
         keys.modulus.end();
}

const SimpleModulusKeys& KeysOrDie(const SimpleModulusKeys& keys) {
  if (HasZeroModulus(keys)) {
    std::fprintf(stderr, "SimpleModulus keys with a zero modulus\n");
    std::abort();
  }
  return keys;
}

uint8_t Checksum(const SimpleModulusPlainBlock& plain) {
  uint8_t sum = kChecksumXor;
  for (uint8_t b : plain) sum ^= b;
  return sum;
}

// The stream is MSB-first; result i takes 18 bits from bit 18*i: its low byte,
// then bits 8-15, then bits 17 and 16. Those 18 bits always lie within the 3
// bytes starting at byte (18*i)/8, so one 24-bit big-endian window per result.
void PackResult(uint32_t r, size_t index, uint8_t* out) {
  const uint32_t chunk =
      ((r & 0xFF) << 10) | (((r >> 8) & 0xFF) << 2) | ((r >> 16) & 0x3);
  const size_t bit = kBitsPerResult * index;
  const uint32_t window = chunk << (6 - bit % 8);
  uint8_t* p = out + bit / 8;
  p[0] |= static_cast<uint8_t>(window >> 16);
  p[1] |= static_cast<uint8_t>(window >> 8);
  p[2] |= static_cast<uint8_t>(window);
}

uint32_t UnpackResult(const uint8_t* in, size_t index) {
  const size_t bit = kBitsPerResult * index;
  const uint8_t* p = in + bit / 8;
  const uint32_t window = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
  const uint32_t chunk = (window >> (6 - bit % 8)) & 0x3FFFF;
  return ((chunk >> 10) & 0xFF) | (((chunk >> 2) & 0xFF) << 8) |
         ((chunk & 0x3) << 16);
}

// Callers guarantee size in 1..8 and non-zero moduli.
SimpleModulusEncryptedBlock EncryptBlockUnchecked(
    const SimpleModulusKeys& keys, const SimpleModulusPlainBlock& plain,
    size_t size) {
  uint32_t v[4];
  for (size_t i = 0; i < 4; ++i) {
    v[i] = uint32_t{plain[2 * i]} | (uint32_t{plain[2 * i + 1]} << 8);
  }
  // u32 products wrap as in the client; with the real keys they never do.
  uint32_t r[4];
  r[0] = ((keys.xor_key[0] ^ v[0]) * keys.encrypt[0]) % keys.modulus[0];
  for (size_t i = 1; i < 4; ++i) {
    r[i] = ((keys.xor_key[i] ^ v[i] ^ (r[i - 1] & 0xFFFF)) * keys.encrypt[i]) %
           keys.modulus[i];
  }
  for (size_t i = 0; i < 3; ++i) {
    r[i] ^= keys.xor_key[i] ^ (r[i + 1] & 0xFFFF);
  }
  SimpleModulusEncryptedBlock out{};
  for (size_t i = 0; i < 4; ++i) PackResult(r[i], i, out.data());
  const uint8_t checksum = Checksum(plain);
  out[9] = static_cast<uint8_t>(size) ^ kBlockSizeXor ^ checksum;
  out[10] = checksum;
  return out;
}

// Returns the block size (1..8) or 0 for a bad size byte or checksum, so the
// packet loop needs no StatusOr per block; `bad_checksum` tells which.
size_t DecryptBlockUnchecked(const SimpleModulusKeys& keys, const uint8_t* in,
                             SimpleModulusPlainBlock& plain,
                             bool& bad_checksum) {
  bad_checksum = false;
  const uint8_t size = in[9] ^ in[10] ^ kBlockSizeXor;
  if (size < 1 || size > kSimpleModulusPlainBlockSize) return 0;
  uint32_t r[4];
  for (size_t i = 0; i < 4; ++i) r[i] = UnpackResult(in, i);
  for (size_t i = 3; i > 0; --i) {
    r[i - 1] ^= keys.xor_key[i - 1] ^ (r[i] & 0xFFFF);
  }
  for (size_t i = 0; i < 4; ++i) {
    uint32_t v = keys.xor_key[i] ^ ((r[i] * keys.decrypt[i]) % keys.modulus[i]);
    if (i > 0) v ^= r[i - 1] & 0xFFFF;
    plain[2 * i] = static_cast<uint8_t>(v);
    plain[2 * i + 1] = static_cast<uint8_t>(v >> 8);
  }
  if (Checksum(plain) != in[10]) {
    bad_checksum = true;
    return 0;
  }
  return size;
}

}  // namespace

absl::StatusOr<SimpleModulusEncryptedBlock> SimpleModulusEncryptBlock(
    const SimpleModulusKeys& keys, const SimpleModulusPlainBlock& plain,
    size_t size) {
  if (size < 1 || size > kSimpleModulusPlainBlockSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("SimpleModulus block size ", size, " outside 1..8"));
  }
  if (HasZeroModulus(keys)) {
    return absl::InvalidArgumentError("SimpleModulus keys with a zero modulus");
  }
  return EncryptBlockUnchecked(keys, plain, size);
}

absl::StatusOr<SimpleModulusDecodedBlock> SimpleModulusDecryptBlock(
    const SimpleModulusKeys& keys, const SimpleModulusEncryptedBlock& block) {
  if (HasZeroModulus(keys)) {
    return absl::InvalidArgumentError("SimpleModulus keys with a zero modulus");
  }
  SimpleModulusDecodedBlock decoded{};
  bool bad_checksum = false;
  decoded.size =
      DecryptBlockUnchecked(keys, block.data(), decoded.bytes, bad_checksum);
  if (bad_checksum) {
    return absl::DataLossError("SimpleModulus block checksum mismatch");
  }
  if (decoded.size == 0) {
    return absl::InvalidArgumentError("SimpleModulus block size byte invalid");
  }
  return decoded;
}

size_t SimpleModulusEncryptedSize(size_t plain_len, size_t header) {
  const size_t body = (plain_len > header ? plain_len - header : 0) + 1;
  const size_t blocks =
      (body + kSimpleModulusPlainBlockSize - 1) / kSimpleModulusPlainBlockSize;
  return header + blocks * kSimpleModulusEncryptedBlockSize;
}

SimpleModulusEncryptor::SimpleModulusEncryptor(const SimpleModulusKeys& keys)
    : keys_(KeysOrDie(keys)) {}

absl::StatusOr<size_t> SimpleModulusEncryptor::Encrypt(
    absl::Span<const uint8_t> plain_packet, absl::Span<uint8_t> out) {
  if (plain_packet.empty()) {
    return absl::InvalidArgumentError("empty packet");
  }
  const uint8_t type = plain_packet[0];
  if (type != 0xC3 && type != 0xC4) {
    return absl::InvalidArgumentError("SimpleModulus encrypts C3/C4 only");
  }
  const size_t header = PacketHeaderSize(type);
  if (plain_packet.size() < header + 1) {
    return absl::InvalidArgumentError("packet without a code byte");
  }
  const size_t declared =
      header == 2 ? plain_packet[1]
                  : (size_t{plain_packet[1]} << 8) | plain_packet[2];
  if (declared != plain_packet.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "length field ", declared, " != packet size ", plain_packet.size()));
  }
  const size_t total = SimpleModulusEncryptedSize(plain_packet.size(), header);
  if (total > (header == 2 ? kMaxC3Length : kMaxC4Length)) {
    return absl::OutOfRangeError(
        absl::StrCat("encrypted size ", total, " does not fit the header"));
  }
  if (out.size() < total) {
    return absl::OutOfRangeError("output buffer too small");
  }

  // Body stream: counter, then code + payload.
  const absl::Span<const uint8_t> payload = plain_packet.subspan(header);
  const size_t body = payload.size() + 1;
  size_t pos = header;
  for (size_t start = 0; start < body; start += kSimpleModulusPlainBlockSize) {
    const size_t size = std::min(kSimpleModulusPlainBlockSize, body - start);
    SimpleModulusPlainBlock plain{};
    for (size_t k = 0; k < size; ++k) {
      const size_t index = start + k;
      plain[k] = index == 0 ? counter_ : payload[index - 1];
    }
    const SimpleModulusEncryptedBlock block =
        EncryptBlockUnchecked(keys_, plain, size);
    std::copy(block.begin(), block.end(), out.begin() + pos);
    pos += block.size();
  }
  out[0] = type;
  if (header == 2) {
    out[1] = static_cast<uint8_t>(total);
  } else {
    out[1] = static_cast<uint8_t>(total >> 8);
    out[2] = static_cast<uint8_t>(total);
  }
  ++counter_;
  return total;
}

SimpleModulusDecryptor::SimpleModulusDecryptor(const SimpleModulusKeys& keys)
    : keys_(KeysOrDie(keys)) {}

absl::StatusOr<size_t> SimpleModulusDecryptor::Decrypt(
    absl::Span<const uint8_t> encrypted_packet, absl::Span<uint8_t> out) {
  const absl::Span<const uint8_t> in = encrypted_packet;
  if (in.empty()) {
    return absl::InvalidArgumentError("empty packet");
  }
  const uint8_t type = in[0];
  if (type != 0xC3 && type != 0xC4) {
    return absl::InvalidArgumentError("SimpleModulus decrypts C3/C4 only");
  }
  const size_t header = PacketHeaderSize(type);
  if (in.size() < header) {
    return absl::InvalidArgumentError("truncated header");
  }
  const size_t declared = header == 2 ? in[1] : (size_t{in[1]} << 8) | in[2];
  if (declared != in.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("length field ", declared, " != packet size ", in.size()));
  }
  const size_t body = in.size() - header;
  if (body == 0 || body % kSimpleModulusEncryptedBlockSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "encrypted body of ", body, " bytes is not a multiple of 11"));
  }
  if (out.size() < header) {
    return absl::OutOfRangeError("output buffer too small");
  }

  // Blocks are copied out before anything is written, and plain block j ends
  // before encrypted block j + 1 starts, so out may alias in.
  const size_t blocks = body / kSimpleModulusEncryptedBlockSize;
  size_t pos = header;
  for (size_t j = 0; j < blocks; ++j) {
    uint8_t encrypted[kSimpleModulusEncryptedBlockSize];
    const uint8_t* src = in.data() + header + j * sizeof(encrypted);
    std::copy(src, src + sizeof(encrypted), encrypted);
    SimpleModulusPlainBlock plain;
    bool bad_checksum = false;
    const size_t size =
        DecryptBlockUnchecked(keys_, encrypted, plain, bad_checksum);
    if (bad_checksum) {
      return absl::DataLossError(
          absl::StrCat("SimpleModulus checksum mismatch in block ", j));
    }
    if (size == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("SimpleModulus size byte invalid in block ", j));
    }
    if (size < kSimpleModulusPlainBlockSize && j + 1 != blocks) {
      return absl::InvalidArgumentError(
          absl::StrCat("short SimpleModulus block ", j, " before the last"));
    }
    size_t skip = 0;
    if (j == 0) {
      if (plain[0] != counter_) {
        return absl::AbortedError(absl::StrCat("packet counter ", int{plain[0]},
                                               ", expected ", int{counter_}));
      }
      skip = 1;
    }
    const size_t n = size - skip;
    if (out.size() - pos < n) {
      return absl::OutOfRangeError("output buffer too small");
    }
    std::copy(plain.begin() + skip, plain.begin() + size, out.begin() + pos);
    pos += n;
  }
  if (pos < header + 1) {
    return absl::InvalidArgumentError("decrypted packet without a code byte");
  }
  out[0] = type;
  if (header == 2) {
    out[1] = static_cast<uint8_t>(pos);
  } else {
    out[1] = static_cast<uint8_t>(pos >> 8);
    out[2] = static_cast<uint8_t>(pos);
  }
  ++counter_;
  return pos;
}

}  // namespace muwarden::crypto
