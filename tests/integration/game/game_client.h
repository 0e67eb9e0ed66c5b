// A small GameServer test client that speaks like a real Season 6 client:
// C1/C3 packets encrypted with Xor32 (+ SimpleModulus with the client's
// counter for C3), server C3 answers decrypted with the server-to-client keys,
// login fields Xor3'd. Built on RawClient; every read has a deadline.
#ifndef MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_
#define MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_

#include <cstdint>
#include <functional>
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

// World packets as the 10404 client sends them (plain, before encryption).
Bytes NameBytes(const std::string& name);  // 10 bytes, zero-padded
Bytes CharacterListRequest();               // C1 05 F3 00 00
Bytes CreatePacket(const std::string& name, uint8_t class_byte);
Bytes DeletePacket(const std::string& name, const std::string& code);
Bytes SelectPacket(const std::string& name);
// C1 <6 + ceil(n/2)> D4 <x> <y> <rotation << 4 | n> <directions>.
Bytes WalkPacket(uint8_t x, uint8_t y, uint8_t rotation,
                 const std::vector<uint8_t>& directions);

// What CharacterInformation (C3 F3 03) says, read from its bytes.
struct CharacterInfo {
  uint8_t x = 0, y = 0, map = 0, direction = 0;
  uint64_t experience = 0, next_experience = 0;
  uint16_t strength = 0, agility = 0, vitality = 0, energy = 0;
  uint16_t health = 0, max_health = 0, mana = 0, max_mana = 0;
};
std::optional<CharacterInfo> ParseCharacterInfo(const Bytes& packet);

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

  // Reads packets until one satisfies `match` (the others are dropped);
  // nullopt on timeout or close.
  std::optional<Bytes> ReadUntil(const std::function<bool(const Bytes&)>& match,
                                 absl::Duration timeout);
  // Reads until a packet with this code (byte after the header) and, when
  // sub >= 0, this sub code.
  std::optional<Bytes> ReadCode(uint8_t code, int sub, absl::Duration timeout);

  // List, and the whole entering sequence of PROTOCOL.md 5.3 after a select:
  // returns the packets from CharacterInformation to the own scope entry,
  // or an empty vector when any is missing.
  std::vector<Bytes> Select(const std::string& name);
  // Login, list, create (Dark Knight), select. False when any step fails.
  bool EnterWorld(const std::string& user, const std::string& password,
                  const std::string& character);

  // Every packet sent is appended to `log` as "<tag> >  plain" then
  // "<tag> >> wire" (Xor32, + SimpleModulus for C3/C4); every packet read as
  // "<tag> << wire" (C3/C4 only) then "<tag> <  plain" (nullptr: off).
  void set_log(std::vector<std::string>* log, std::string tag) {
    log_ = log;
    tag_ = std::move(tag);
  }
  // The CharacterInformation of the last Select that entered the world.
  const std::optional<CharacterInfo>& info() const { return info_; }
  uint16_t id() const { return join_.size() == 12 ? (join_[5] << 8 | join_[6]) : 0; }

  RawClient& raw() { return raw_; }

 private:
  RawClient raw_;
  Bytes join_;
  crypto::SimpleModulusEncryptor enc_;
  crypto::SimpleModulusDecryptor dec_;
  std::optional<CharacterInfo> info_;
  std::vector<std::string>* log_ = nullptr;
  std::string tag_;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_INTEGRATION_GAME_GAME_CLIENT_H_
