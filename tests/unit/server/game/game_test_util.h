// Shared pieces of the GameServer unit tests: login packets built as a client
// builds them, a fake runtime Connection that records what is sent, and a
// world over a fast account store in a temp directory.
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
#include "common/crypto/xor3.h"
#include "common/guard/ip_address.h"
#include "common/protocol/frame.h"
#include "common/runtime/session.h"
#include "gtest/gtest.h"
#include "tests/unit/crypto/hex_bytes.h"

namespace muwarden::game::testing {

using Bytes = std::vector<uint8_t>;
using ::muwarden::crypto::testing::HexBytes;

inline void PutField(Bytes& p, size_t at, size_t size, const std::string& text,
                     bool xor3) {
  Bytes field(size, 0);
  std::copy_n(text.begin(), std::min(text.size(), size), field.begin());
  if (xor3) crypto::Xor3(absl::MakeSpan(field));
  std::copy(field.begin(), field.end(), p.begin() + at);
}

// The plain (decrypted) login packet of `length` 60, 50 or 48.
inline Bytes LoginPlain(const std::string& user, const std::string& password,
                        size_t length = 60,
                        const std::string& version = "10404",
                        const std::string& serial = "k1Pk2jcET48mxL3b",
                        uint32_t tick = 123456) {
  const size_t password_size = length == 60 ? 20 : 10;
  const size_t version_size = length == 48 ? 3 : 5;
  Bytes p(length, 0);
  p[0] = 0xC3;
  p[1] = static_cast<uint8_t>(length);
  p[2] = 0xF1;
  p[3] = 0x01;
  size_t at = 4;
  PutField(p, at, 10, user, true);
  at += 10;
  PutField(p, at, password_size, password, true);
  at += password_size;
  for (int i = 0; i < 4; ++i) p[at + i] = static_cast<uint8_t>(tick >> (8 * i));
  at += 4;
  PutField(p, at, version_size, version, false);
  at += version_size;
  PutField(p, at, 16, serial, false);
  return p;
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
