#include "server/game/game_config.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/runtime/server_config.h"

namespace muwarden::game {
namespace {

absl::Status CheckVersion(absl::string_view v) {
  if (v.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be 5 characters, like 10404 (got '", v, "')"));
  }
  return config::CheckPrintable(v, 5);
}

// A non-empty comma-separated list whose every item passes `check`.
std::function<absl::StatusOr<std::vector<std::string>>(absl::string_view)>
ListParser(std::function<absl::Status(absl::string_view)> check) {
  return
      [check](absl::string_view v) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> items = SplitList(v);
        if (items.empty())
          return absl::InvalidArgumentError("must not be empty");
        for (const std::string& item : items) {
          absl::Status status = check(item);
          if (!status.ok()) return status;
        }
        return items;
      };
}

std::string JoinList(const std::vector<std::string>& items) {
  return absl::StrJoin(items, ", ");
}

}  // namespace

std::vector<std::string> SplitList(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view item :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

void GameConfig::Describe(config::Schema& s) {
  s.Integer("game", "max_players", &max_players, 1, 100000,
            "logged-in players; unjoined sockets never take a player slot");
  s.String("game", "join_version", &join_version,
           "client version sent in the join packet (5 characters)",
           CheckVersion);
  s.Custom<std::vector<std::string>>(
      "game", "accepted_versions", &accepted_versions,
      "comma-separated client versions allowed to log in",
      ListParser([](absl::string_view item) -> absl::Status {
        if (item.size() != 5 && item.size() != 3) {
          return absl::InvalidArgumentError(absl::StrCat(
              "each version must be 5 characters (3 for 0.75 clients): '", item,
              "'"));
        }
        return config::CheckPrintable(item, 5);
      }),
      JoinList);
  s.Custom<std::vector<std::string>>(
      "game", "accepted_serials", &accepted_serials,
      "comma-separated client serials (16 characters) allowed to log in",
      ListParser([](absl::string_view item) -> absl::Status {
        if (item.size() != 16) {
          return absl::InvalidArgumentError(
              absl::StrCat("each serial must be 16 characters: '", item, "'"));
        }
        return config::CheckPrintable(item, 16);
      }),
      JoinList);
  throttle.Describe(s);
  s.Integer("game", "login_queue_per_prefix", &login_gate.max_queued_per_key,
            1, 4096,
            "logins from one prefix waiting for a password check; more are "
            "answered 7 at once");
  s.Integer("game", "login_queue_max", &login_gate.max_queued, 1, 65536,
            "logins waiting for a password check in all; when full, the "
            "prefix with the longest queue gives up its newest");
  s.Seconds("game", "login_answer_timeout", &login_answer_timeout, 0.1, 60,
            "longest time from a login packet to its answer; a login whose "
            "check cannot finish in time is answered 7 (connection error)");
  s.Seconds("game", "login_ip_ban_duration", &ip_ban_duration, 0, 315360000,
            "ban length for an IP that reached login_ip_fail_limit, written to "
            "the ban file; 0 = permanent");
  runtime::DescribeChatWindows(s, &chat, &whisper);
  world.Describe(s);
}

}  // namespace muwarden::game
