#include "server/game/game_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace muwarden::game {

std::vector<std::string> SplitList(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view item :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

GameConfig GameConfigFromSettings(const config::ServerSettings& s) {
  GameConfig c;
  c.max_players = s.game.max_players;
  c.join_version = s.game.join_version;
  c.accepted_versions = SplitList(s.game.accepted_versions);
  c.accepted_serials = SplitList(s.game.accepted_serials);
  c.throttle.ip_fail_limit = s.game.login_ip_fail_limit;
  c.throttle.ip_fail_window = s.game.login_ip_fail_window;
  c.throttle.account_fail_limit = s.game.login_account_fail_limit;
  c.throttle.account_fail_window = s.game.login_account_fail_window;
  c.throttle.account_lock_duration = s.game.login_account_lock_duration;
  c.throttle.max_tracked_ips = static_cast<size_t>(s.server.max_tracked_ips);
  c.throttle.max_tracked_accounts =
      static_cast<size_t>(s.server.max_tracked_ips);
  c.ip_ban_duration = s.game.login_ip_ban_duration;
  c.chat = {s.ratelimit.chat_rate_limit, s.ratelimit.chat_rate_window};
  c.whisper = {s.ratelimit.whisper_rate_limit, s.ratelimit.whisper_rate_window};
  c.max_frame_size = static_cast<size_t>(s.server.max_packet_size);
  return c;
}

AccountStoreConfig AccountStoreConfigFromSettings(
    const config::ServerSettings& s) {
  AccountStoreConfig c;
  c.path = s.game.database;
  return c;
}

}  // namespace muwarden::game
