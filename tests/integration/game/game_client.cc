#include "tests/integration/game/game_client.h"

#include <algorithm>

#include "common/crypto/client_cipher.h"
#include "common/crypto/xor3.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);

void PutField(Bytes& p, size_t at, size_t size, const std::string& text,
              bool xor3) {
  Bytes field(size, 0);
  std::copy_n(text.begin(), std::min(text.size(), size), field.begin());
  if (xor3) crypto::Xor3(absl::MakeSpan(field));
  std::copy(field.begin(), field.end(), p.begin() + static_cast<long>(at));
}

}  // namespace

Bytes LoginPacket(const std::string& user, const std::string& password,
                  size_t length, const std::string& version,
                  const std::string& serial) {
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
  at += password_size + 4;  // tick count 0
  PutField(p, at, version_size, version, false);
  at += version_size;
  PutField(p, at, 16, serial, false);
  return p;
}

Bytes ChatPacket(uint8_t code, const std::string& name,
                 const std::string& message) {
  Bytes p(13, 0);
  p[0] = 0xC1;
  p[2] = code;
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 10), p.begin() + 3);
  p.insert(p.end(), message.begin(), message.end());
  p.push_back(0);
  p[1] = static_cast<uint8_t>(p.size());
  return p;
}

Bytes ServerChat(uint8_t code, const std::string& name,
                 const std::string& message) {
  return ChatPacket(code, name, message);
}

Bytes PingPacket(uint32_t tick) {
  Bytes p = {0xC3, 0x0C, 0x0E, 0x00, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00};
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(tick >> (8 * i));
  return p;
}

GameClient::GameClient()
    : enc_(crypto::kClientToServerKeys), dec_(crypto::kServerToClientKeys) {}

bool GameClient::Connect(const std::string& host, int port,
                         const std::string& source, int rcvbuf) {
  if (!raw_.Connect(host, port, source, rcvbuf)) return false;
  join_ = raw_.ReadExactly(12, kIo);
  return join_.size() == 12 && join_[0] == 0xC1 && join_[2] == 0xF1;
}

Bytes GameClient::Encrypt(const Bytes& plain) {
  auto wire = crypto::EncryptLikeClient(plain, enc_);
  return wire.ok() ? *wire : Bytes();
}

bool GameClient::Send(const Bytes& plain) {
  Bytes wire = Encrypt(plain);
  return !wire.empty() && raw_.Send(wire);
}

std::optional<Bytes> GameClient::ReadPacket(absl::Duration timeout,
                                            ReadEnd* end) {
  const absl::Time deadline = absl::Now() + timeout;
  Bytes head = raw_.ReadExactly(2, timeout, end);
  if (head.size() != 2) return std::nullopt;
  size_t length = head[1];
  if (head[0] == 0xC2 || head[0] == 0xC4) {
    Bytes low = raw_.ReadExactly(1, deadline - absl::Now(), end);
    if (low.size() != 1) return std::nullopt;
    head.push_back(low[0]);
    length = size_t{head[1]} << 8 | head[2];
  }
  if (length < head.size()) return std::nullopt;
  Bytes body =
      raw_.ReadExactly(length - head.size(), deadline - absl::Now(), end);
  if (body.size() != length - head.size()) return std::nullopt;
  head.insert(head.end(), body.begin(), body.end());
  Bytes out(head.size());
  auto n = crypto::DecryptFromServer(head, dec_, absl::MakeSpan(out));
  if (!n.ok()) return std::nullopt;
  out.resize(*n);
  return out;
}

int GameClient::Login(const std::string& user, const std::string& password,
                      size_t length) {
  if (!Send(LoginPacket(user, password, length))) return -1;
  std::optional<Bytes> answer = ReadPacket(kIo);
  if (!answer.has_value() || answer->size() != 5 || (*answer)[0] != 0xC1 ||
      (*answer)[2] != 0xF1 || (*answer)[3] != 0x01) {
    return -1;
  }
  return (*answer)[4];
}

}  // namespace muwarden::testing
