// GameSession: the runtime Session of the GameServer. Sends the join packet on
// accept; until a login completes the handshake, only encrypted (C3) frames may
// arrive (login and ping). Per connection; not thread-safe.
#ifndef MUWARDEN_SERVER_GAME_GAME_SESSION_H_
#define MUWARDEN_SERVER_GAME_GAME_SESSION_H_

#include <atomic>
#include <cstdint>

#include "common/config/settings.h"
#include "common/runtime/session.h"

namespace muwarden::game {

// The GameServer's Layer-2 rules: the largest handshake frame is the encrypted
// 60-byte login (90 bytes on the wire); a client gets a few tries and pings
// before it must have logged in.
runtime::HandshakeConfig GameHandshake();

class GameSession final : public runtime::Session {
 public:
  GameSession(const config::ServerSettings& settings, uint16_t player_id)
      : settings_(settings), player_id_(player_id) {}

  absl::Status OnOpen(runtime::Connection& conn) override;
  bool AllowedBeforeHandshake(const protocol::Frame& frame) const override;
  absl::Status OnFrame(runtime::Connection& conn,
                       const protocol::Frame& frame) override;

 private:
  const config::ServerSettings& settings_;
  const uint16_t player_id_;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_SESSION_H_
