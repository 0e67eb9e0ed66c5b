// GameConfig: the GameServer's own settings (player cap, accepted clients,
// login throttle, chat limits), with the description of its [game] and chat
// keys. Plain value; thread-compatible.
#ifndef MUWARDEN_SERVER_GAME_GAME_CONFIG_H_
#define MUWARDEN_SERVER_GAME_GAME_CONFIG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/schema.h"
#include "common/guard/sliding_window.h"
#include "server/game/account/hash_gate.h"
#include "server/game/login_throttle.h"
#include "server/game/world.h"

namespace muwarden::game {

struct GameConfig {
  // Logged-in players; sockets that have not logged in never take a slot.
  int max_players = 1000;
  std::string join_version = "10404";
  // Compared byte for byte with the login packet's fields.
  std::vector<std::string> accepted_versions = {"10404"};
  std::vector<std::string> accepted_serials = {"k1Pk2jcET48mxL3b"};
  LoginThrottleConfig throttle;
  // The password checks of logins, queued per prefix and served fairly
  // (slots follow the hasher's max_concurrent_hashes, set by GameSettings).
  HashGateConfig login_gate;
  // From the login packet to its answer: a login still waiting for a check
  // when it could no longer finish in time is answered 7.
  absl::Duration login_answer_timeout = absl::Seconds(2);
  // Zero = permanent.
  absl::Duration ip_ban_duration = absl::Seconds(3600);
  guard::SlidingWindowConfig chat{20, absl::Seconds(10)};
  guard::SlidingWindowConfig whisper{4, absl::Seconds(1)};
  // The decryption buffer of a connection: the largest frame it can receive
  // (server.max_packet_size, set by GameSettings).
  size_t max_frame_size = 8192;
  // [game] max_characters, view_range, max_walk_steps, walk_tolerance.
  WorldConfig world;

  // [game] max_players, join_version, accepted_*, login_*; [ratelimit] chat_*
  // and whisper_*.
  void Describe(config::Schema& schema);
};

// "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(absl::string_view text);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_CONFIG_H_
