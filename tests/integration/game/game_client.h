// A small GameServer test client that speaks like a real Season 6 client:
// C1/C3 packets encrypted with Xor32 (+ SimpleModulus with the client's
// counter for C3), server C3 answers decrypted with the server-to-client keys,
// login fields Xor3'd. Built on RawClient; every read has a deadline.
#ifndef MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_
#define MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/simple_modulus.h"
#include "server/game/login.h"
#include "tests/integration/harness.h"
#include "tests/support/client_packets.h"

namespace muwarden::testing {

// The plain login packet (server/game/login.h BuildLogin), tick count 0.
Bytes LoginPacket(
    const std::string& user, const std::string& password,
    game::LoginVariant variant = game::LoginVariant::kLongPassword,
    const std::string& version = "10404",
    const std::string& serial = "k1Pk2jcET48mxL3b");
// ChatPacket and PingPacket (plain, as the client sends them) come from
// tests/support/client_packets.h. The server's chat has the same shape (for
// comparing exact bytes).
Bytes ServerChat(uint8_t code, const std::string& name,
                 const std::string& message);

class GameClient {
 public:
  GameClient();

  // Connects from `source` and reads the 12-byte join packet. False if either
  // fails.
  bool Connect(const std::string& host, int port,
               const std::string& source = "", int rcvbuf = 0);
  const Bytes& join() const { return join_; }

  // Encrypts `plain` like the client (advancing the client's counter for
  // C3/C4) and sends it.
  bool Send(const Bytes& plain);
  // Encrypts without sending (to forge wrong counters and checksums).
  Bytes Encrypt(const Bytes& plain);
  bool SendRaw(const Bytes& wire) { return raw_.Send(wire); }

  // Reads one whole packet (C3/C4 decrypted). nullopt on timeout or close.
  std::optional<Bytes> ReadPacket(absl::Duration timeout,
                                  ReadEnd* end = nullptr);
  // Sends a login and returns the result byte, or -1 for no/odd answer.
  int Login(const std::string& user, const std::string& password,
            game::LoginVariant variant = game::LoginVariant::kLongPassword);

  RawClient& raw() { return raw_; }

 private:
  RawClient raw_;
  Bytes join_;
  crypto::SimpleModulusEncryptor enc_;
  crypto::SimpleModulusDecryptor dec_;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_
