#include "tests/integration/game/game_client.h"

#include <algorithm>

#include "common/crypto/client_cipher.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);

}  // namespace

Bytes LoginPacket(const std::string& user, const std::string& password,
                  game::LoginVariant variant, const std::string& version,
                  const std::string& serial) {
  game::LoginRequest request;
  request.variant = variant;
  request.username = user;
  request.password = password;
  request.version = version;
  request.serial = serial;
  return game::BuildLogin(request);
}

Bytes ServerChat(uint8_t code, const std::string& name,
                 const std::string& message) {
  return ChatPacket(code, name, message);
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
                      game::LoginVariant variant) {
  if (!Send(LoginPacket(user, password, variant))) return -1;
  std::optional<Bytes> answer = ReadPacket(kIo);
  if (!answer.has_value() || answer->size() != 5 || (*answer)[0] != 0xC1 ||
      (*answer)[2] != 0xF1 || (*answer)[3] != 0x01) {
    return -1;
  }
  return (*answer)[4];
}

}  // namespace muwarden::testing
