// SimpleModulus: the block cipher of C3/C4 game-server packets (Season 6).
// Each 8-byte block is four u16 values put through a xor-chained modular
// multiplication, packed as four 18-bit results plus a size byte and a checksum
// into 11 bytes; a per-direction counter byte prefixes every packet body.
// Block functions are pure and thread-safe; an Encryptor/Decryptor holds one
// direction's counter and must be used by one thread at a time.
#ifndef MUWARDEN_COMMON_CRYPTO_SIMPLE_MODULUS_H_
#define MUWARDEN_COMMON_CRYPTO_SIMPLE_MODULUS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace muwarden::crypto {

// One direction's keys. `encrypt` and `decrypt` are inverse modulo `modulus`.
struct SimpleModulusKeys {
  std::array<uint32_t, 4> modulus;
  std::array<uint32_t, 4> encrypt;
  std::array<uint32_t, 4> decrypt;
  std::array<uint32_t, 4> xor_key;
};

// The Season 6 client encrypts with kClientToServerKeys.encrypt, the server
// decrypts with kClientToServerKeys.decrypt; kServerToClientKeys the other way.
inline constexpr SimpleModulusKeys kClientToServerKeys = {
    .modulus = {128079, 164742, 70235, 106898},
    .encrypt = {23489, 11911, 19816, 13647},
    .decrypt = {31544, 2047, 57011, 10183},
    .xor_key = {48413, 46165, 15171, 37433},
};
inline constexpr SimpleModulusKeys kServerToClientKeys = {
    .modulus = {73326, 109989, 98843, 171058},
    .encrypt = {13169, 19036, 35482, 29587},
    .decrypt = {18035, 30340, 24701, 11141},
    .xor_key = {62004, 64409, 35374, 64599},
};

inline constexpr size_t kSimpleModulusPlainBlockSize = 8;
inline constexpr size_t kSimpleModulusEncryptedBlockSize = 11;

using SimpleModulusPlainBlock =
    std::array<uint8_t, kSimpleModulusPlainBlockSize>;
using SimpleModulusEncryptedBlock =
    std::array<uint8_t, kSimpleModulusEncryptedBlockSize>;

struct SimpleModulusDecodedBlock {
  // All 8 decrypted bytes; only the first `size` are data.
  SimpleModulusPlainBlock bytes;
  size_t size;  // 1..8
};

// Encrypts one block whose first `size` bytes (1..8) are data. The checksum
// covers all 8 bytes, padding included, as the client computes it.
// kInvalidArgument for a size outside 1..8 or a zero modulus.
absl::StatusOr<SimpleModulusEncryptedBlock> SimpleModulusEncryptBlock(
    const SimpleModulusKeys& keys, const SimpleModulusPlainBlock& plain,
    size_t size);

// kInvalidArgument when the size byte decodes outside 1..8 (or a zero
// modulus), kDataLoss when the checksum does not match.
absl::StatusOr<SimpleModulusDecodedBlock> SimpleModulusDecryptBlock(
    const SimpleModulusKeys& keys, const SimpleModulusEncryptedBlock& block);

// Encrypted size of a plain C3/C4 packet of `plain_len` bytes with a
// `header`-byte header: header + 11 * ceil((plain_len - header + 1) / 8).
// A plain_len below header counts as an empty body.
size_t SimpleModulusEncryptedSize(size_t plain_len, size_t header);

// Packet level, one direction of one connection. The counter starts at 0 and
// advances (mod 256) only when a call succeeds; on failure the state is as
// before and the contents of `out` are unspecified.
class SimpleModulusEncryptor {
 public:
  // Aborts on a zero modulus (a programming error, not peer input).
  explicit SimpleModulusEncryptor(const SimpleModulusKeys& keys);

  // `plain_packet` is a whole C3/C4 packet (header, code, payload) whose
  // length field equals its size. Writes the header with the new length and
  // the blocks of counter + code + payload into `out`, which must hold
  // SimpleModulusEncryptedSize(plain_packet.size(), header) bytes and must not
  // overlap the input. Returns that size.
  // kInvalidArgument: not C3/C4, no code byte, length field != size.
  // kOutOfRange: the result exceeds 255 (C3) / 65535 (C4) or `out`.
  absl::StatusOr<size_t> Encrypt(absl::Span<const uint8_t> plain_packet,
                                 absl::Span<uint8_t> out);

  uint8_t next_counter() const { return counter_; }

 private:
  SimpleModulusKeys keys_;
  uint8_t counter_ = 0;
};

class SimpleModulusDecryptor {
 public:
  // Aborts on a zero modulus (a programming error, not peer input).
  explicit SimpleModulusDecryptor(const SimpleModulusKeys& keys);

  // `encrypted_packet` is a whole C3/C4 packet as received. Writes the plain
  // packet (header with the decrypted length, code, payload; the counter is
  // dropped) into `out` and returns its size, which is always smaller than
  // the input: out.size() >= encrypted_packet.size() always suffices. `out`
  // may be the input itself (in-place); partial overlap is not allowed.
  // kInvalidArgument: not C3/C4, length field != size, body empty or not a
  //   multiple of 11, a size byte outside 1..8, a short block before the
  //   last, or nothing after the counter.
  // kDataLoss: a block checksum mismatch.
  // kAborted: the counter byte is not the expected one (replay or reorder).
  // kOutOfRange: `out` too small.
  absl::StatusOr<size_t> Decrypt(absl::Span<const uint8_t> encrypted_packet,
                                 absl::Span<uint8_t> out);

  uint8_t expected_counter() const { return counter_; }

 private:
  SimpleModulusKeys keys_;
  uint8_t counter_ = 0;
};

}  // namespace muwarden::crypto

#endif  // MUWARDEN_COMMON_CRYPTO_SIMPLE_MODULUS_H_
