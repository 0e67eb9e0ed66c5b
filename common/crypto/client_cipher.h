// Client-side view of the game-server ciphers, for test clients and the load
// tool, plus the matching server-side receive path. Client to server is Xor32
// then SimpleModulus (C3/C4) or Xor32 alone (C1/C2); server to client is
// SimpleModulus alone (C3/C4) or plain (C1/C2). Thread-safety is that of the
// Encryptor/Decryptor passed in.
#ifndef MUWARDEN_COMMON_CRYPTO_CLIENT_CIPHER_H_
#define MUWARDEN_COMMON_CRYPTO_CLIENT_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/crypto/simple_modulus.h"

namespace muwarden::crypto {

// Encrypts a plain packet as the client sends it. `enc` uses
// kClientToServerKeys; its counter advances only for C3/C4 packets.
// kInvalidArgument: unknown first byte, no code byte, length field != size;
// kOutOfRange: the encrypted C3/C4 packet does not fit its length field.
absl::StatusOr<std::vector<uint8_t>> EncryptLikeClient(
    absl::Span<const uint8_t> plain_packet, SimpleModulusEncryptor& enc);

// Server side: decrypts one whole framed packet from the client into `out`
// (out.size() >= wire.size() always suffices; `out` may be `wire` itself).
// `dec` uses kClientToServerKeys. Errors as SimpleModulusDecryptor::Decrypt;
// C1/C2 packets fail only on framing (kInvalidArgument) or a small `out`
// (kOutOfRange).
absl::StatusOr<size_t> DecryptFromClient(absl::Span<const uint8_t> wire,
                                         SimpleModulusDecryptor& dec,
                                         absl::Span<uint8_t> out);

// Test-client side: as DecryptFromClient without Xor32; `dec` uses
// kServerToClientKeys.
absl::StatusOr<size_t> DecryptFromServer(absl::Span<const uint8_t> wire,
                                         SimpleModulusDecryptor& dec,
                                         absl::Span<uint8_t> out);

}  // namespace muwarden::crypto

#endif  // MUWARDEN_COMMON_CRYPTO_CLIENT_CIPHER_H_
