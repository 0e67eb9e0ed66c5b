// Shared pieces of the GameServer unit tests: login packets built as a client
// builds them, the client's half of the ciphers, and a fake runtime Connection
// that records what is sent.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_GAME_GAME_TEST_UTIL_H_
#define MUWARDEN_TESTS_UNIT_SERVER_GAME_GAME_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/crypto/client_cipher.h"
#include "common/crypto/simple_modulus.h"
#include "common/guard/ip_address.h"
#include "common/protocol/frame.h"
#include "common/runtime/session.h"
#include "gtest/gtest.h"
#include "server/game/login.h"
#include "tests/support/hex.h"

namespace muwarden::game::testing {

using Bytes = std::vector<uint8_t>;
using ::muwarden::testing::HexBytes;

// The plain (decrypted) login packet a client of `variant` sends.
inline Bytes LoginPlain(const std::string& user, const std::string& password,
                        LoginVariant variant = LoginVariant::kLongPassword,
                        const std::string& version = "10404",
                        const std::string& serial = "k1Pk2jcET48mxL3b",
                        uint32_t tick = 123456) {
  LoginRequest request;
  request.variant = variant;
  request.username = user;
  request.password = password;
  request.tick_count = tick;
  request.version = version;
  request.serial = serial;
  return BuildLogin(request);
}

// A client's half of the ciphers: encrypts like the client, decrypts C3
// answers with the server-to-client keys.
class ClientCipher {
 public:
  Bytes Encrypt(const Bytes& plain) {
    auto wire = crypto::EncryptLikeClient(plain, enc_);
    EXPECT_TRUE(wire.ok()) << wire.status();
    return wire.ok() ? *wire : Bytes();
  }
  Bytes DecryptAnswer(const Bytes& wire) {
    Bytes out(wire.size());
    auto n = crypto::DecryptFromServer(wire, dec_, absl::MakeSpan(out));
    EXPECT_TRUE(n.ok()) << n.status();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  crypto::SimpleModulusEncryptor& encryptor() { return enc_; }

 private:
  crypto::SimpleModulusEncryptor enc_{crypto::kClientToServerKeys};
  crypto::SimpleModulusDecryptor dec_{crypto::kServerToClientKeys};
};

// A frame as the runtime hands it to a session.
inline protocol::Frame FrameOf(const Bytes& wire) {
  protocol::Frame frame;
  frame.header.type = wire[0];
  frame.header.header_size = protocol::HeaderSizeOf(wire[0]);
  frame.header.length = wire.size();
  frame.bytes = absl::MakeConstSpan(wire);
  return frame;
}

class FakeConnection final : public runtime::Connection {
 public:
  FakeConnection(Clock& clock, guard::IpAddress peer)
      : arena_(64 * 1024), clock_(clock), peer_(peer), ip_(peer.ToString()) {}

  absl::Status Send(absl::Span<const uint8_t> packet) override {
    sent.emplace_back(packet.begin(), packet.end());
    return absl::OkStatus();
  }
  void CompleteHandshake() override { handshake_ = true; }
  bool handshake_complete() const override { return handshake_; }
  std::shared_ptr<runtime::OutboundQueue> Outbound() override {
    if (!outbound_) {
      outbound_ =
          std::make_shared<runtime::OutboundQueue>(queue_config, clock_);
    }
    return outbound_;
  }
  const guard::IpAddress& peer() const override { return peer_; }
  const std::string& peer_ip() const override { return ip_; }
  runtime::Arena& arena() override { return arena_; }
  Clock& clock() override { return clock_; }
  uint64_t id() const override { return 1; }

  // Everything queued for this client by other threads, in order.
  std::vector<Bytes> TakeQueued() {
    std::vector<Bytes> out;
    if (!outbound_) return out;
    for (auto& m : outbound_->TakeAll()) out.push_back(std::move(m));
    return out;
  }

  std::vector<Bytes> sent;
  runtime::OutboundQueueConfig queue_config;

 private:
  runtime::Arena arena_;
  Clock& clock_;
  guard::IpAddress peer_;
  std::string ip_;
  bool handshake_ = false;
  std::shared_ptr<runtime::OutboundQueue> outbound_;
};

}  // namespace muwarden::game::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_GAME_GAME_TEST_UTIL_H_
