#include "common/crypto/xor32.h"

namespace muwarden::crypto {

size_t PacketHeaderSize(uint8_t first_byte) {
  switch (first_byte) {
    case 0xC1:
    case 0xC3:
      return 2;
    case 0xC2:
    case 0xC4:
      return 3;
    default:
      return 0;
  }
}

void Xor32Encrypt(absl::Span<uint8_t> packet) {
  if (packet.empty()) return;
  const size_t header = PacketHeaderSize(packet[0]);
  if (header == 0) return;
  // Ascending: each byte chains on its already-encrypted predecessor.
  for (size_t i = header + 1; i < packet.size(); ++i) {
    packet[i] ^= packet[i - 1] ^ kXor32Key[i % kXor32Key.size()];
  }
}

void Xor32Decrypt(absl::Span<uint8_t> packet) {
  if (packet.empty()) return;
  const size_t header = PacketHeaderSize(packet[0]);
  if (header == 0) return;
  // Descending, so that packet[i - 1] is still the ciphertext byte.
  for (size_t i = packet.size(); i > header + 1; --i) {
    packet[i - 1] ^= packet[i - 2] ^ kXor32Key[(i - 1) % kXor32Key.size()];
  }
}

}  // namespace muwarden::crypto
