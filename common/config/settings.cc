#include "common/config/settings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ini.h"

namespace muwarden::config {
namespace {

using Setter = std::function<absl::Status(ServerSettings&, absl::string_view)>;
using Getter = std::function<std::string(const ServerSettings&)>;

struct KeySpec {
  std::string section;
  std::string key;
  std::string help;
  Setter set;
  Getter get;
};

// "0.05", "3600", "315360000": a range bound as an operator writes it.
std::string Num(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrCat(v);
}

absl::Status ParseInt(absl::string_view text, int64_t min, int64_t max,
                      int64_t* out) {
  int64_t v;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a whole number: '", text, "' (allowed ", min, "..", max, ")"));
  }
  if (v < min || v > max) {
    return absl::OutOfRangeError(
        absl::StrCat("out of range: ", v, " (allowed ", min, "..", max, ")"));
  }
  *out = v;
  return absl::OkStatus();
}

// Seconds, fractional allowed ("0.5"), or an Abseil duration ("500ms", "2m").
absl::Status ParseSeconds(absl::string_view text, double min_s, double max_s,
                          absl::Duration* out) {
  text = absl::StripAsciiWhitespace(text);
  absl::Duration d;
  double seconds;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a duration: '", text, "' (seconds, allowed ",
                     Num(min_s), "..", Num(max_s), ")"));
  }
  if (d < absl::Seconds(min_s) || d > absl::Seconds(max_s)) {
    return absl::OutOfRangeError(
        absl::StrCat("out of range: ", FormatSeconds(d), " s (allowed ",
                     Num(min_s), "..", Num(max_s), " s)"));
  }
  *out = d;
  return absl::OkStatus();
}

KeySpec IntKey(std::string section, std::string key, int64_t min, int64_t max,
               std::function<int&(ServerSettings&)> field, std::string help) {
  auto get = [field](const ServerSettings& s) {
    return absl::StrCat(field(const_cast<ServerSettings&>(s)));
  };
  auto set = [field, min, max](ServerSettings& s, absl::string_view v) {
    int64_t out;
    absl::Status status = ParseInt(v, min, max, &out);
    if (status.ok()) field(s) = static_cast<int>(out);
    return status;
  };
  return {std::move(section), std::move(key),
          absl::StrCat(help, " (", min, "..", max, ")"), set, get};
}

KeySpec SecondsKey(std::string section, std::string key, double min, double max,
                   std::function<absl::Duration&(ServerSettings&)> field,
                   std::string help) {
  auto get = [field](const ServerSettings& s) {
    return FormatSeconds(field(const_cast<ServerSettings&>(s)));
  };
  auto set = [field, min, max](ServerSettings& s, absl::string_view v) {
    absl::Duration out;
    absl::Status status = ParseSeconds(v, min, max, &out);
    if (status.ok()) field(s) = out;
    return status;
  };
  return {std::move(section), std::move(key),
          absl::StrCat(help, " (seconds, ", Num(min), "..", Num(max), ")"), set,
          get};
}

KeySpec BoolKey(std::string section, std::string key,
                std::function<bool&(ServerSettings&)> field, std::string help) {
  auto get = [field](const ServerSettings& s) -> std::string {
    return field(const_cast<ServerSettings&>(s)) ? "true" : "false";
  };
  auto set = [field](ServerSettings& s, absl::string_view v) {
    std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(v));
    if (t == "true" || t == "yes" || t == "on" || t == "1") {
      field(s) = true;
    } else if (t == "false" || t == "no" || t == "off" || t == "0") {
      field(s) = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("not a boolean: '", v, "' (allowed true, false)"));
    }
    return absl::OkStatus();
  };
  return {std::move(section), std::move(key),
          absl::StrCat(help, " (true/false)"), set, get};
}

using StringCheck = std::function<absl::Status(absl::string_view)>;

KeySpec StringKey(std::string section, std::string key,
                  std::function<std::string&(ServerSettings&)> field,
                  std::string help, StringCheck check = nullptr) {
  auto get = [field](const ServerSettings& s) {
    return field(const_cast<ServerSettings&>(s));
  };
  auto set = [field, check](ServerSettings& s, absl::string_view v) {
    std::string t(absl::StripAsciiWhitespace(v));
    if (check) {
      absl::Status status = check(t);
      if (!status.ok()) return status;
    }
    field(s) = t;
    return absl::OkStatus();
  };
  return {std::move(section), std::move(key), std::move(help), set, get};
}

absl::Status CheckNonEmpty(absl::string_view v) {
  if (v.empty()) return absl::InvalidArgumentError("must not be empty");
  return absl::OkStatus();
}

absl::Status CheckPrintable(absl::string_view v, size_t max_len) {
  if (v.size() > max_len) {
    return absl::OutOfRangeError(absl::StrCat(
        "too long: ", v.size(), " characters (allowed up to ", max_len, ")"));
  }
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("contains a control character");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAddress(absl::string_view v) {
  if (v.empty()) return absl::InvalidArgumentError("must not be empty");
  for (char c : v) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != ':' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("not an address: '", v, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckVersion(absl::string_view v) {
  if (v.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be 5 characters, like 10404 (got '", v, "')"));
  }
  return CheckPrintable(v, 5);
}

absl::Status CheckVersionList(absl::string_view v) {
  for (absl::string_view item :
       absl::StrSplit(v, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (item.size() != 5 && item.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(
          "each version must be 5 characters (3 for 0.75 clients): '", item,
          "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSerialList(absl::string_view v) {
  for (absl::string_view item :
       absl::StrSplit(v, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (item.size() != 16) {
      return absl::InvalidArgumentError(
          absl::StrCat("each serial must be 16 characters: '", item, "'"));
    }
  }
  return absl::OkStatus();
}

// Each comma-separated item is an IPv4/IPv6 address or CIDR (the guard parses
// it for use; this check lets --check-config name a bad entry without starting
// anything).
absl::Status CheckAllowlist(absl::string_view v) {
  for (absl::string_view item :
       absl::StrSplit(v, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::string address(item.substr(0, item.find('/')));
    unsigned char buf[sizeof(in6_addr)];
    const bool v4 = inet_pton(AF_INET, address.c_str(), buf) == 1;
    const bool v6 = !v4 && inet_pton(AF_INET6, address.c_str(), buf) == 1;
    int prefix = 0;
    const bool prefix_ok =
        item.find('/') == absl::string_view::npos ||
        (absl::SimpleAtoi(item.substr(item.find('/') + 1), &prefix) &&
         prefix >= 0 && prefix <= (v4 ? 32 : 128));
    if ((!v4 && !v6) || !prefix_ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("not an IP address or CIDR: '", item, "'"));
    }
  }
  return absl::OkStatus();
}

// The listen address must be an IP literal (the server binds it as given, no
// name lookup).
absl::Status CheckBindAddress(absl::string_view v) {
  std::string text(v);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1 ||
      inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "not an IPv4 or IPv6 address: '", v, "' (e.g. 0.0.0.0, ::, 127.0.0.1)"));
}

absl::Status CheckLevel(absl::string_view v) {
  LogLevel level;
  return ParseLogLevel(v, &level);
}

std::vector<KeySpec> BuildKeys(ServerKind kind) {
  std::vector<KeySpec> k;
  // [server]
  k.push_back(StringKey(
      "server", "name",
      [](ServerSettings& s) -> std::string& { return s.server.name; },
      "name used in logs",
      [](absl::string_view v) {
        absl::Status st = CheckNonEmpty(v);
        return st.ok() ? CheckPrintable(v, 64) : st;
      }));
  k.push_back(StringKey(
      "server", "bind",
      [](ServerSettings& s) -> std::string& { return s.server.bind; },
      "listen address, IPv4 or IPv6 (0.0.0.0, ::, 127.0.0.1)",
      CheckBindAddress));
  k.push_back(IntKey(
      "server", "port", 0, 65535,
      [](ServerSettings& s) -> int& { return s.server.port; },
      "TCP port; 0 = any free port (the log says which)"));
  k.push_back(IntKey(
      "server", "max_clients", 1, 100000,
      [](ServerSettings& s) -> int& { return s.server.max_clients; },
      "concurrent sockets, joined or not; more are rejected at accept"));
  k.push_back(IntKey(
      "server", "multiclient_limit", 1, 100000,
      [](ServerSettings& s) -> int& { return s.server.multiclient_limit; },
      "concurrent sockets from one IP (IPv6: one /64)"));
  k.push_back(SecondsKey(
      "server", "handshake_timeout", 0.05, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.server.handshake_timeout;
      },
      "total time from accept until the handshake is complete"));
  k.push_back(SecondsKey(
      "server", "read_timeout", 0.05, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.server.read_timeout;
      },
      "time to receive one whole packet once its first byte arrived; also the "
      "longest silence after the handshake"));
  k.push_back(SecondsKey(
      "server", "write_timeout", 0.05, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.server.write_timeout;
      },
      "time to hand one packet to the kernel"));
  k.push_back(IntKey(
      "server", "max_packet_size", 4, 65535,
      [](ServerSettings& s) -> int& { return s.server.max_packet_size; },
      "declared frame length cap in bytes, checked on the header"));
  k.push_back(IntKey(
      "server", "worker_stack_kib", 64, 8192,
      [](ServerSettings& s) -> int& { return s.server.worker_stack_kib; },
      "stack size of each worker thread in KiB"));
  k.push_back(IntKey(
      "server", "arena_kib", 4, 65536,
      [](ServerSettings& s) -> int& { return s.server.arena_kib; },
      "per-connection arena in KiB; a connection that needs more is closed"));
  k.push_back(IntKey(
      "server", "max_tracked_ips", 16, 10000000,
      [](ServerSettings& s) -> int& { return s.server.max_tracked_ips; },
      "cap of every per-IP table; the stalest entry is evicted when full"));
  // [ratelimit]
  k.push_back(IntKey(
      "ratelimit", "conn_rate_limit", 1, 100000,
      [](ServerSettings& s) -> int& { return s.ratelimit.conn_rate_limit; },
      "connection attempts per IP per conn_rate_window; refused attempts "
      "count"));
  k.push_back(SecondsKey(
      "ratelimit", "conn_rate_window", 0.1, 86400,
      [](ServerSettings& s) -> absl::Duration& {
        return s.ratelimit.conn_rate_window;
      },
      "sliding window of conn_rate_limit"));
  k.push_back(BoolKey(
      "ratelimit", "conn_flood_autoban",
      [](ServerSettings& s) -> bool& { return s.ratelimit.conn_flood_autoban; },
      "ban IPs that keep hitting the connection rate limit"));
  k.push_back(IntKey(
      "ratelimit", "flood_ban_threshold", 1, 100000,
      [](ServerSettings& s) -> int& { return s.ratelimit.flood_ban_threshold; },
      "rate-limit refusals within conn_rate_window that trigger the autoban"));
  k.push_back(SecondsKey(
      "ratelimit", "flood_ban_duration", 0, 315360000,
      [](ServerSettings& s) -> absl::Duration& {
        return s.ratelimit.flood_ban_duration;
      },
      "autoban length; 0 = permanent"));
  k.push_back(IntKey(
      "ratelimit", "raw_pkt_rate_limit", 1, 1000000,
      [](ServerSettings& s) -> int& { return s.ratelimit.raw_pkt_rate_limit; },
      "packets per client per raw_pkt_rate_window; exceeding disconnects"));
  k.push_back(SecondsKey(
      "ratelimit", "raw_pkt_rate_window", 0.1, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.ratelimit.raw_pkt_rate_window;
      },
      "sliding window of raw_pkt_rate_limit"));
  k.push_back(IntKey(
      "ratelimit", "chat_rate_limit", 1, 100000,
      [](ServerSettings& s) -> int& { return s.ratelimit.chat_rate_limit; },
      "public chat messages per client per chat_rate_window; excess dropped"));
  k.push_back(SecondsKey(
      "ratelimit", "chat_rate_window", 0.1, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.ratelimit.chat_rate_window;
      },
      "sliding window of chat_rate_limit"));
  k.push_back(IntKey(
      "ratelimit", "whisper_rate_limit", 1, 100000,
      [](ServerSettings& s) -> int& { return s.ratelimit.whisper_rate_limit; },
      "whispers per client per whisper_rate_window; excess dropped"));
  k.push_back(SecondsKey(
      "ratelimit", "whisper_rate_window", 0.1, 3600,
      [](ServerSettings& s) -> absl::Duration& {
        return s.ratelimit.whisper_rate_window;
      },
      "sliding window of whisper_rate_limit"));
  // [security]
  k.push_back(StringKey(
      "security", "ban_file",
      [](ServerSettings& s) -> std::string& { return s.security.ban_file; },
      "persistent ban list; empty = bans kept in memory only",
      [](absl::string_view v) { return CheckPrintable(v, 4096); }));
  k.push_back(StringKey(
      "security", "allowlist",
      [](ServerSettings& s) -> std::string& { return s.security.allowlist; },
      "comma-separated IPs/CIDRs exempt from rate and multiclient limits "
      "(never from bans)",
      [](absl::string_view v) {
        return CheckPrintable(v, 65536).ok() ? CheckAllowlist(v)
                                             : CheckPrintable(v, 65536);
      }));
  k.push_back(IntKey(
      "security", "log_burst", 1, 100000,
      [](ServerSettings& s) -> int& { return s.security.log_burst; },
      "security log lines per IP and event per minute before they are "
      "summarised"));
  // [log]
  k.push_back(StringKey(
      "log", "file",
      [](ServerSettings& s) -> std::string& { return s.log.file; },
      "log file; empty = stdout",
      [](absl::string_view v) { return CheckPrintable(v, 4096); }));
  k.push_back({"log", "level", "debug, info, warn or error",
               [](ServerSettings& s, absl::string_view v) {
                 return ParseLogLevel(absl::StripAsciiWhitespace(v),
                                      &s.log.level);
               },
               [](const ServerSettings& s) {
                 return absl::AsciiStrToLower(LogLevelName(s.log.level));
               }});
  (void)CheckLevel;
  if (kind == ServerKind::kGame) {
    k.push_back(StringKey(
        "game", "database",
        [](ServerSettings& s) -> std::string& { return s.game.database; },
        "account database (SQLite), created on first start",
        [](absl::string_view v) {
          absl::Status st = CheckNonEmpty(v);
          return st.ok() ? CheckPrintable(v, 4096) : st;
        }));
    k.push_back(IntKey(
        "game", "max_players", 1, 100000,
        [](ServerSettings& s) -> int& { return s.game.max_players; },
        "logged-in players; unjoined sockets never take a player slot"));
    k.push_back(StringKey(
        "game", "join_version",
        [](ServerSettings& s) -> std::string& { return s.game.join_version; },
        "client version sent in the join packet (5 characters)", CheckVersion));
    k.push_back(StringKey(
        "game", "accepted_versions",
        [](ServerSettings& s) -> std::string& {
          return s.game.accepted_versions;
        },
        "comma-separated client versions allowed to log in",
        [](absl::string_view v) {
          absl::Status st = CheckNonEmpty(v);
          return st.ok() ? CheckVersionList(v) : st;
        }));
    k.push_back(StringKey(
        "game", "accepted_serials",
        [](ServerSettings& s) -> std::string& {
          return s.game.accepted_serials;
        },
        "comma-separated client serials (16 characters) allowed to log in",
        [](absl::string_view v) {
          absl::Status st = CheckNonEmpty(v);
          return st.ok() ? CheckSerialList(v) : st;
        }));
    k.push_back(IntKey(
        "game", "login_ip_fail_limit", 1, 100000,
        [](ServerSettings& s) -> int& { return s.game.login_ip_fail_limit; },
        "failed logins per IP (IPv6: per /64) within login_ip_fail_window; the "
        "one that "
        "reaches it bans the IP"));
    k.push_back(SecondsKey(
        "game", "login_ip_fail_window", 1, 86400,
        [](ServerSettings& s) -> absl::Duration& {
          return s.game.login_ip_fail_window;
        },
        "sliding window of login_ip_fail_limit"));
    k.push_back(SecondsKey(
        "game", "login_ip_ban_duration", 0, 315360000,
        [](ServerSettings& s) -> absl::Duration& {
          return s.game.login_ip_ban_duration;
        },
        "ban length for an IP that reached login_ip_fail_limit, written to the "
        "ban file; 0 = permanent"));
    k.push_back(IntKey(
        "game", "login_account_fail_limit", 1, 100000,
        [](ServerSettings& s) -> int& {
          return s.game.login_account_fail_limit;
        },
        "failed logins per account within login_account_fail_window; the one "
        "that reaches "
        "it locks the account (answer 14); tracked accounts are capped by "
        "server.max_tracked_ips"));
    k.push_back(SecondsKey(
        "game", "login_account_fail_window", 1, 86400,
        [](ServerSettings& s) -> absl::Duration& {
          return s.game.login_account_fail_window;
        },
        "sliding window of login_account_fail_limit"));
    k.push_back(SecondsKey(
        "game", "login_account_lock_duration", 1, 86400,
        [](ServerSettings& s) -> absl::Duration& {
          return s.game.login_account_lock_duration;
        },
        "how long a locked account answers 'temporarily blocked' (14); "
        "attempts meanwhile do not extend it"));
  }
  return k;
}

const std::vector<KeySpec>& Keys(ServerKind kind) {
  static const auto* connect =
      new std::vector<KeySpec>(BuildKeys(ServerKind::kConnect));
  static const auto* game =
      new std::vector<KeySpec>(BuildKeys(ServerKind::kGame));
  return kind == ServerKind::kConnect ? *connect : *game;
}

// [gameserver.N] sections of the connect-server.
constexpr int kMaxGameServers = 256;

absl::Status ApplyGameServerKey(ServerSettings& s, int index,
                                absl::string_view key,
                                absl::string_view value) {
  auto it = std::find_if(
      s.gameservers.begin(), s.gameservers.end(),
      [index](const GameServerEntry& e) { return e.section_index == index; });
  if (it == s.gameservers.end()) {
    if (s.gameservers.size() >= kMaxGameServers) {
      return absl::OutOfRangeError(absl::StrCat(
          "too many [gameserver.N] sections (allowed ", kMaxGameServers, ")"));
    }
    GameServerEntry entry;
    entry.section_index = index;
    entry.id = index;
    entry.name = absl::StrCat("Server ", index);
    s.gameservers.push_back(entry);
    it = s.gameservers.end() - 1;
  }
  int64_t v;
  if (key == "id") {
    absl::Status st = ParseInt(value, 0, 65535, &v);
    if (st.ok()) it->id = static_cast<int>(v);
    return st;
  }
  if (key == "port") {
    absl::Status st = ParseInt(value, 1, 65535, &v);
    if (st.ok()) it->port = static_cast<int>(v);
    return st;
  }
  if (key == "load") {
    absl::Status st = ParseInt(value, 0, 100, &v);
    if (st.ok()) it->load = static_cast<int>(v);
    return st;
  }
  std::string t(absl::StripAsciiWhitespace(value));
  if (key == "name") {
    absl::Status st = CheckPrintable(t, 64);
    if (st.ok()) it->name = t;
    return st;
  }
  if (key == "host") {
    // The client gets this as 16 zero-padded ASCII bytes: at most 15 characters
    // fit.
    absl::Status st = CheckAddress(t);
    if (st.ok() && t.size() > 15) {
      st = absl::OutOfRangeError(
          "longer than the 15 characters the client accepts");
    }
    if (st.ok()) it->host = t;
    return st;
  }
  return absl::NotFoundError(
      "unknown key (allowed id, name, host, port, load)");
}

}  // namespace

std::string FormatSeconds(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000);
  std::string text = absl::StrFormat("%.3f", absl::ToDoubleSeconds(d));
  while (!text.empty() && text.back() == '0') text.pop_back();
  return text;
}

ServerSettings DefaultSettings(ServerKind kind) {
  ServerSettings s;
  s.kind = kind;
  if (kind == ServerKind::kConnect) {
    s.server.name = "ConnectServer";
    s.server.port = 44405;
    s.server.handshake_timeout = absl::Seconds(20);
    s.server.max_packet_size = 255;
    GameServerEntry entry;
    entry.section_index = 0;
    entry.id = 0;
    entry.name = "GameServer";
    s.gameservers.push_back(entry);
  } else {
    s.server.name = "GameServer";
    s.server.port = 55901;
    s.server.handshake_timeout = absl::Seconds(120);
    s.server.max_packet_size = 8192;
  }
  return s;
}

std::vector<Assignment> ParseIni(const std::string& text,
                                 const std::string& origin,
                                 SettingsErrors& errors) {
  struct Context {
    std::vector<Assignment> out;
    const std::string* origin;
  } ctx{{}, &origin};
  auto handler = [](void* user, const char* section, const char* name,
                    const char* value) -> int {
    auto* c = static_cast<Context*>(user);
    if (name == nullptr) return 1;  // a section header alone
    c->out.push_back({absl::AsciiStrToLower(section),
                      absl::AsciiStrToLower(name),
                      value == nullptr ? "" : value, *c->origin});
    return 1;
  };
  int rc = ini_parse_string(text.c_str(), handler, &ctx);
  if (rc > 0) {
    errors.Add(
        absl::StrCat(origin, ":", rc,
                     ": not INI syntax (expected [section] or key = value)"));
  } else if (rc < 0) {
    errors.Add(absl::StrCat(origin, ": could not be parsed"));
  }
  return std::move(ctx.out);
}

bool ParseSetFlag(absl::string_view text, Assignment* out,
                  SettingsErrors& errors) {
  size_t eq = text.find('=');
  absl::string_view name =
      eq == absl::string_view::npos ? text : text.substr(0, eq);
  size_t dot = name.rfind('.');
  if (eq == absl::string_view::npos || dot == absl::string_view::npos ||
      dot == 0 || dot + 1 == name.size()) {
    errors.Add(
        absl::StrCat("--set ", text,
                     ": expected SECTION.KEY=VALUE, e.g. server.port=44405"));
    return false;
  }
  out->section =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(name.substr(0, dot)));
  out->key =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(name.substr(dot + 1)));
  out->value = std::string(text.substr(eq + 1));
  out->origin = "--set";
  return true;
}

void Apply(const std::vector<Assignment>& assignments, ServerSettings& settings,
           SettingsErrors& errors) {
  const auto& keys = Keys(settings.kind);
  bool gameservers_from_config = false;
  for (const Assignment& a : assignments) {
    const std::string where = absl::StrCat(a.section, ".", a.key);
    absl::Status status;
    if (settings.kind == ServerKind::kConnect &&
        absl::StartsWith(a.section, "gameserver.")) {
      int index;
      if (!absl::SimpleAtoi(a.section.substr(11), &index) || index < 0 ||
          index > 65535) {
        status = absl::InvalidArgumentError(
            "unknown section (expected [gameserver.N] with N a number "
            "0..65535)");
      } else {
        if (!gameservers_from_config) {
          // Configured game servers replace the built-in default entry.
          settings.gameservers.clear();
          gameservers_from_config = true;
        }
        status = ApplyGameServerKey(settings, index, a.key, a.value);
      }
    } else {
      auto it = std::find_if(keys.begin(), keys.end(), [&](const KeySpec& k) {
        return k.section == a.section && k.key == a.key;
      });
      if (it == keys.end()) {
        status = absl::NotFoundError("unknown key");
      } else {
        status = it->set(settings, a.value);
      }
    }
    if (!status.ok()) {
      errors.Add(
          absl::StrCat(where, ": ", status.message(), " [", a.origin, "]"));
    }
  }
}

void ValidateWhole(const ServerSettings& s, SettingsErrors& errors) {
  // The connection's reassembly buffer and its outbound buffer both live in the
  // arena.
  const int64_t needed =
      2 * static_cast<int64_t>(s.server.max_packet_size) + 1024;
  if (static_cast<int64_t>(s.server.arena_kib) * 1024 < needed) {
    errors.Add(
        absl::StrCat("server.arena_kib: ", s.server.arena_kib,
                     " KiB cannot hold two frames of server.max_packet_size ",
                     s.server.max_packet_size, " (need at least ",
                     (needed + 1023) / 1024, " KiB)"));
  }
  if (s.kind == ServerKind::kConnect) {
    std::set<int> ids;
    for (const auto& g : s.gameservers) {
      if (!ids.insert(g.id).second) {
        errors.Add(absl::StrCat("gameserver.", g.section_index, ".id: id ",
                                g.id,
                                " is used by another [gameserver.N] section"));
      }
    }
  }
  if (s.server.multiclient_limit > s.server.max_clients) {
    // Not an error: the global cap simply applies first. Nothing to report.
  }
}

std::string PrintIni(const ServerSettings& settings) {
  std::string out = absl::StrCat(
      "; muwarden ",
      settings.kind == ServerKind::kConnect ? "connect-server" : "game-server",
      " settings. Every key is listed with a one-line comment and its range.\n"
      "; Durations are seconds (fractions allowed, e.g. 0.5).\n");
  std::string section;
  for (const KeySpec& k : Keys(settings.kind)) {
    if (k.section != section) {
      section = k.section;
      absl::StrAppend(&out, "\n[", section, "]\n");
    }
    absl::StrAppend(&out, "; ", k.help, "\n", k.key, " = ", k.get(settings),
                    "\n");
  }
  if (settings.kind == ServerKind::kConnect) {
    std::vector<GameServerEntry> sorted = settings.gameservers;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.section_index < b.section_index;
    });
    for (const auto& g : sorted) {
      absl::StrAppend(
          &out,
          "\n; A game server listed to clients: id (0..65535), name, host the "
          "client connects to (IPv4 or name, up to 15 characters), port, load "
          "(0..100 %)\n[gameserver.",
          g.section_index, "]\nid = ", g.id, "\nname = ", g.name,
          "\nhost = ", g.host, "\nport = ", g.port, "\nload = ", g.load, "\n");
    }
  }
  return out;
}

}  // namespace muwarden::config
