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
    packet[i] = static_cast<uint8_t>(packet[i] ^ packet[i - 1] ^
                                     kXor32Key[i % kXor32Key.size()]);
  }
}

void Xor32Decrypt(absl::Span<uint8_t> packet) {
  if (packet.empty()) return;
  const size_t header = PacketHeaderSize(packet[0]);
  if (header == 0) return;
  // Each byte chains on its predecessor's ciphertext, kept aside before it is
  // overwritten (the same as walking backwards, with no carried dependency).
  uint8_t previous = packet.size() > header ? packet[header] : 0;
  for (size_t i = header + 1; i < packet.size(); ++i) {
    const uint8_t cipher = packet[i];
    packet[i] = static_cast<uint8_t>(cipher ^ previous ^
                                     kXor32Key[i % kXor32Key.size()]);
    previous = cipher;
  }
}

}  // namespace muwarden::crypto
