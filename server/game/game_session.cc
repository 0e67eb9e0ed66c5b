#include "server/game/game_session.h"

#include "common/protocol/frame.h"
#include "server/game/join.h"

namespace muwarden::game {

runtime::HandshakeConfig GameHandshake() {
  runtime::HandshakeConfig h;
  h.max_frame_size = 128;
  h.max_packets = 10;
  return h;
}

absl::Status GameSession::OnOpen(runtime::Connection& conn) {
  auto join = BuildJoin(player_id_, settings_.game.join_version);
  return conn.Send(join);
}

bool GameSession::AllowedBeforeHandshake(const protocol::Frame& frame) const {
  // Login and ping are SimpleModulus-encrypted (C3); their codes are checked
  // once decrypted.
  return frame.header.type == protocol::kC3;
}

absl::Status GameSession::OnFrame(runtime::Connection& conn,
                                  const protocol::Frame& frame) {
  (void)conn;
  (void)frame;
  // Login is not handled yet: the client stays before the handshake, where the
  // gate's deadline and limits hold it.
  return absl::OkStatus();
}

}  // namespace muwarden::game
