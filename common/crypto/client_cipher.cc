#include "common/crypto/client_cipher.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/xor32.h"

namespace muwarden::crypto {
namespace {

// Header size of a well-framed packet: known first byte, a code byte, and a
// length field equal to the span size.
absl::StatusOr<size_t> CheckFraming(absl::Span<const uint8_t> packet) {
  if (packet.empty()) return absl::InvalidArgumentError("empty packet");
  const size_t header = PacketHeaderSize(packet[0]);
  if (header == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown packet type ", int{packet[0]}));
  }
  if (packet.size() < header + 1) {
    return absl::InvalidArgumentError("packet without a code byte");
  }
  const size_t declared =
      header == 2 ? packet[1] : (size_t{packet[1]} << 8) | packet[2];
  if (declared != packet.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "length field ", declared, " != packet size ", packet.size()));
  }
  return header;
}

bool IsSimpleModulus(uint8_t first_byte) {
  return first_byte == 0xC3 || first_byte == 0xC4;
}

absl::StatusOr<size_t> CopyPlain(absl::Span<const uint8_t> wire,
                                 absl::Span<uint8_t> out) {
  absl::StatusOr<size_t> header = CheckFraming(wire);
  if (!header.ok()) return header.status();
  if (out.size() < wire.size()) {
    return absl::OutOfRangeError("output buffer too small");
  }
  // std::copy is fine for out == wire; partial overlap is excluded by contract.
  if (out.data() != wire.data()) {
    std::copy(wire.begin(), wire.end(), out.begin());
  }
  return wire.size();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncryptLikeClient(
    absl::Span<const uint8_t> plain_packet, SimpleModulusEncryptor& enc) {
  absl::StatusOr<size_t> header = CheckFraming(plain_packet);
  if (!header.ok()) return header.status();
  std::vector<uint8_t> xored(plain_packet.begin(), plain_packet.end());
  Xor32Encrypt(absl::MakeSpan(xored));
  if (!IsSimpleModulus(xored[0])) return xored;
  std::vector<uint8_t> wire(SimpleModulusEncryptedSize(xored.size(), *header));
  absl::StatusOr<size_t> n = enc.Encrypt(xored, absl::MakeSpan(wire));
  if (!n.ok()) return n.status();
  wire.resize(*n);
  return wire;
}

absl::StatusOr<size_t> DecryptFromClient(absl::Span<const uint8_t> wire,
                                         SimpleModulusDecryptor& dec,
                                         absl::Span<uint8_t> out) {
  absl::StatusOr<size_t> n = DecryptFromServer(wire, dec, out);
  if (!n.ok()) return n;
  Xor32Decrypt(out.first(*n));
  return n;
}

absl::StatusOr<size_t> DecryptFromServer(absl::Span<const uint8_t> wire,
                                         SimpleModulusDecryptor& dec,
                                         absl::Span<uint8_t> out) {
  if (!wire.empty() && IsSimpleModulus(wire[0])) {
    return dec.Decrypt(wire, out);
  }
  return CopyPlain(wire, out);
}

}  // namespace muwarden::crypto
