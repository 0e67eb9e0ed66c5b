// Xor32: the Season 6 client's chained xor over a packet body (client to
// server, C1/C2 bodies and C3/C4 bodies before SimpleModulus). Each body byte
// after the code is xored with its predecessor and key[absolute index % 32].
// Pure functions over caller-owned bytes; thread-safe.
#ifndef MUWARDEN_COMMON_CRYPTO_XOR32_H_
#define MUWARDEN_COMMON_CRYPTO_XOR32_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace muwarden::crypto {

inline constexpr std::array<uint8_t, 32> kXor32Key = {
    0xAB, 0x11, 0xCD, 0xFE, 0x18, 0x23, 0xC5, 0xA3, 0xCA, 0x33, 0xC1,
    0xCC, 0x66, 0x67, 0x21, 0xF3, 0x32, 0x12, 0x15, 0x35, 0x29, 0xFF,
    0xFE, 0x1D, 0x44, 0xEF, 0xCD, 0x41, 0x26, 0x3C, 0x4E, 0x4D};

// Header size of a framed packet from its first byte: 2 for C1/C3, 3 for
// C2/C4, 0 when the byte starts no frame.
size_t PacketHeaderSize(uint8_t first_byte);

// `packet` is one whole framed packet (header, code, payload); its size is
// taken from the span, the length field is not read. Header and code stay as
// they are. A packet with an unknown first byte or without any byte after the
// code is left unchanged, so these never fail and never read out of bounds.
void Xor32Encrypt(absl::Span<uint8_t> packet);
void Xor32Decrypt(absl::Span<uint8_t> packet);

}  // namespace muwarden::crypto

#endif  // MUWARDEN_COMMON_CRYPTO_XOR32_H_
