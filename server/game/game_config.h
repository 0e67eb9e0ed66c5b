// GameConfig: the GameServer's own settings (player cap, accepted clients,
// login throttle, chat limits) resolved from the loaded [game], [server] and
// [ratelimit] settings, plus the account store's config from [game] database.
// Pure; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_GAME_CONFIG_H_
#define MUWARDEN_SERVER_GAME_GAME_CONFIG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/settings.h"
#include "common/guard/sliding_window.h"
#include "server/game/account/account_store.h"
#include "server/game/login_throttle.h"

namespace muwarden::game {

struct GameConfig {
  // Logged-in players; sockets that have not logged in never take a slot.
  int max_players = 1000;
  std::string join_version = "10404";
  // Compared byte for byte with the login packet's fields.
  std::vector<std::string> accepted_versions = {"10404"};
  std::vector<std::string> accepted_serials = {"k1Pk2jcET48mxL3b"};
  LoginThrottleConfig throttle;
  // Zero = permanent.
  absl::Duration ip_ban_duration = absl::Seconds(3600);
  guard::SlidingWindowConfig chat{20, absl::Seconds(10)};
  guard::SlidingWindowConfig whisper{4, absl::Seconds(1)};
  // The decryption buffer of a connection: the largest frame it can receive.
  size_t max_frame_size = 8192;
};

GameConfig GameConfigFromSettings(const config::ServerSettings& settings);

// [game] database (already resolved against the config file's directory by
// the loader), with the store's default hash cost.
AccountStoreConfig AccountStoreConfigFromSettings(
    const config::ServerSettings& settings);

// "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(absl::string_view text);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_CONFIG_H_
