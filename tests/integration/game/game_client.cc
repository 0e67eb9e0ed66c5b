#include "tests/integration/game/game_client.h"

#include <algorithm>

#include "common/crypto/client_cipher.h"
#include "tests/support/hex.h"

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

Bytes NameBytes(const std::string& name) {
  Bytes b(10, 0);
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 10), b.begin());
  return b;
}

namespace {
Bytes WithName(Bytes head, const std::string& name) {
  Bytes n = NameBytes(name);
  head.insert(head.end(), n.begin(), n.end());
  return head;
}
uint16_t U16LE(const Bytes& p, size_t at) {
  return static_cast<uint16_t>(p[at] | p[at + 1] << 8);
}
uint64_t U64BE(const Bytes& p, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | p[at + i];
  return v;
}
}  // namespace

Bytes CharacterListRequest() { return {0xC1, 0x05, 0xF3, 0x00, 0x00}; }

Bytes CreatePacket(const std::string& name, uint8_t class_byte) {
  Bytes p = WithName({0xC1, 0x0F, 0xF3, 0x01}, name);
  p.push_back(class_byte);
  return p;
}

Bytes DeletePacket(const std::string& name, const std::string& code) {
  Bytes p = WithName({0xC1, 0x18, 0xF3, 0x02}, name);
  Bytes c = NameBytes(code);
  p.insert(p.end(), c.begin(), c.end());
  return p;
}

Bytes SelectPacket(const std::string& name) {
  return WithName({0xC1, 0x0E, 0xF3, 0x03}, name);
}

Bytes WalkPacket(uint8_t x, uint8_t y, uint8_t rotation,
                 const std::vector<uint8_t>& directions) {
  const size_t n = std::min<size_t>(directions.size(), 15);
  Bytes p = {0xC1, static_cast<uint8_t>(6 + (n + 1) / 2), 0xD4, x, y,
             static_cast<uint8_t>(rotation << 4 | n)};
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      p.push_back(static_cast<uint8_t>(directions[i] << 4));
    } else {
      p.back() = static_cast<uint8_t>(p.back() | (directions[i] & 0x0F));
    }
  }
  return p;
}

std::optional<CharacterInfo> ParseCharacterInfo(const Bytes& p) {
  if (p.size() != 72 || p[0] != 0xC3 || p[2] != 0xF3 || p[3] != 0x03) {
    return std::nullopt;
  }
  CharacterInfo i;
  i.x = p[4];
  i.y = p[5];
  i.map = p[6];
  i.direction = p[7];
  i.experience = U64BE(p, 8);
  i.next_experience = U64BE(p, 16);
  i.strength = U16LE(p, 26);
  i.agility = U16LE(p, 28);
  i.vitality = U16LE(p, 30);
  i.energy = U16LE(p, 32);
  i.health = U16LE(p, 34);
  i.max_health = U16LE(p, 36);
  i.mana = U16LE(p, 38);
  i.max_mana = U16LE(p, 40);
  return i;
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
  if (log_ != nullptr) log_->push_back(tag_ + " >  " + Hex(plain));
  Bytes wire = Encrypt(plain);
  if (log_ != nullptr) log_->push_back(tag_ + " >> " + Hex(wire));
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
  if (log_ != nullptr) {
    if (head[0] == 0xC3 || head[0] == 0xC4) {
      log_->push_back(tag_ + " << " + Hex(head));
    }
    log_->push_back(tag_ + " <  " + Hex(out));
  }
  return out;
}

std::optional<Bytes> GameClient::ReadUntil(
    const std::function<bool(const Bytes&)>& match, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Bounded by the deadline: each read waits at most what is left.
  while (absl::Now() < deadline) {
    std::optional<Bytes> p = ReadPacket(deadline - absl::Now());
    if (!p.has_value()) return std::nullopt;
    if (match(*p)) return p;
  }
  return std::nullopt;
}

std::optional<Bytes> GameClient::ReadCode(uint8_t code, int sub,
                                          absl::Duration timeout) {
  return ReadUntil(
      [&](const Bytes& p) {
        const size_t h = (p[0] == 0xC2 || p[0] == 0xC4) ? 3 : 2;
        if (p.size() <= h || p[h] != code) return false;
        return sub < 0 || (p.size() > h + 1 && p[h + 1] == sub);
      },
      timeout);
}

std::vector<Bytes> GameClient::Select(const std::string& name) {
  if (!Send(SelectPacket(name))) return {};
  std::vector<Bytes> out;
  for (int i = 0; i < 6; ++i) {
    std::optional<Bytes> p = ReadPacket(kIo);
    if (!p.has_value()) return {};
    out.push_back(*std::move(p));
  }
  info_ = ParseCharacterInfo(out[0]);
  return out;
}

bool GameClient::EnterWorld(const std::string& user,
                            const std::string& password,
                            const std::string& character) {
  if (Login(user, password) != 1) return false;
  if (!Send(CharacterListRequest())) return false;
  if (!ReadCode(0xF3, 0x00, kIo).has_value()) return false;
  if (!Send(CreatePacket(character, 0x10))) return false;
  if (!ReadCode(0xF3, 0x01, kIo).has_value()) return false;  // ok or taken
  return Select(character).size() == 6;
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
