// Xor3: the fixed 3-byte xor the client applies to the username and password
// fields of the login request. b[i] ^= key[i % 3] from the field start, so it
// is its own inverse. Pure function over caller-owned bytes; thread-safe.
#ifndef MUWARDEN_COMMON_CRYPTO_XOR3_H_
#define MUWARDEN_COMMON_CRYPTO_XOR3_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"

namespace muwarden::crypto {

inline constexpr std::array<uint8_t, 3> kXor3Key = {0xFC, 0xCF, 0xAB};

// Encrypts and decrypts alike. Pass exactly one field, padding included: the
// key index restarts at 0 for each call.
void Xor3(absl::Span<uint8_t> field);

}  // namespace muwarden::crypto

#endif  // MUWARDEN_COMMON_CRYPTO_XOR3_H_
