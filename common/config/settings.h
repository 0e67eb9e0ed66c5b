// Settings of both servers: the sections and keys of SPEC section 3 as plain
// structs with in-class defaults, and one key table that loads them from INI
// text, applies `section.key=value` overrides, validates every key against its
// range, and prints them back as INI that loads to the same settings. Pure and
// thread-compatible (no globals).
#ifndef MUWARDEN_COMMON_CONFIG_SETTINGS_H_
#define MUWARDEN_COMMON_CONFIG_SETTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/log.h"

namespace muwarden::config {

enum class ServerKind { kConnect, kGame };

struct ServerSection {
  std::string name;
  std::string bind = "0.0.0.0";
  int port = 0;
  int max_clients = 1024;
  int multiclient_limit = 16;
  absl::Duration handshake_timeout;
  absl::Duration read_timeout = absl::Seconds(15);
  absl::Duration write_timeout = absl::Seconds(15);
  int max_packet_size = 0;
  int worker_stack_kib = 256;
  int arena_kib = 64;
  int max_tracked_ips = 65536;
};

struct RateLimitSection {
  int conn_rate_limit = 10;
  absl::Duration conn_rate_window = absl::Seconds(10);
  bool conn_flood_autoban = true;
  int flood_ban_threshold = 6;
  absl::Duration flood_ban_duration = absl::Seconds(3600);  // zero = permanent
  int raw_pkt_rate_limit = 20;
  absl::Duration raw_pkt_rate_window = absl::Seconds(2);
  int chat_rate_limit = 20;
  absl::Duration chat_rate_window = absl::Seconds(10);
  int whisper_rate_limit = 4;
  absl::Duration whisper_rate_window = absl::Seconds(1);
};

struct SecuritySection {
  // Effective path; empty = no ban file (bans live in memory only).
  std::string ban_file;
  std::string allowlist;  // comma-separated IPs/CIDRs
  int log_burst = 10;
};

struct LogSection {
  std::string file;  // empty = stdout
  LogLevel level = LogLevel::kInfo;
};

// connect-server: one per [gameserver.N] section.
struct GameServerEntry {
  int section_index = 0;  // N of [gameserver.N]
  int id = 0;
  std::string name;
  std::string host = "127.0.0.1";
  int port = 55901;
  int load = 0;
};

// game-server only.
struct GameSection {
  std::string database = "accounts.db";
  int max_players = 1000;
  std::string join_version = "10404";  // 5 ASCII bytes sent in the join packet
  std::string accepted_versions = "10404";            // comma-separated
  std::string accepted_serials = "k1Pk2jcET48mxL3b";  // comma-separated
  int login_ip_fail_limit = 10;
  absl::Duration login_ip_fail_window = absl::Seconds(600);
  absl::Duration login_ip_ban_duration = absl::Seconds(3600);
  int login_account_fail_limit = 5;
  absl::Duration login_account_fail_window = absl::Seconds(300);
  absl::Duration login_account_lock_duration = absl::Seconds(900);
};

struct ServerSettings {
  ServerKind kind = ServerKind::kConnect;
  ServerSection server;
  RateLimitSection ratelimit;
  SecuritySection security;
  LogSection log;
  std::vector<GameServerEntry> gameservers;  // connect-server
  GameSection game;                          // game-server
};

// The built-in defaults of one binary.
ServerSettings DefaultSettings(ServerKind kind);

// One `section.key=value` assignment with where it came from (for error
// messages).
struct Assignment {
  std::string section;
  std::string key;
  std::string value;
  std::string origin;  // "file.ini:12" or "--set"
};

// Collects every problem instead of stopping at the first, so an operator fixes
// all at once.
class SettingsErrors {
 public:
  void Add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
};

// Parses INI text into assignments (inih); syntax errors go to `errors` with
// their line.
std::vector<Assignment> ParseIni(const std::string& text,
                                 const std::string& origin,
                                 SettingsErrors& errors);
// Parses "section.key=value" (section may contain dots:
// "gameserver.1.port=55902").
bool ParseSetFlag(absl::string_view text, Assignment* out,
                  SettingsErrors& errors);

// Applies assignments in order; unknown keys, bad numbers and out-of-range
// values are errors naming `section.key`, the reason and the allowed range.
void Apply(const std::vector<Assignment>& assignments, ServerSettings& settings,
           SettingsErrors& errors);
// Checks rules that span keys (e.g. the arena must hold a maximum-size frame).
void ValidateWhole(const ServerSettings& settings, SettingsErrors& errors);

// INI text with every key and a one-line comment each; loading it gives the
// same settings.
std::string PrintIni(const ServerSettings& settings);

// "15", "0.5": seconds as the INI writes them.
std::string FormatSeconds(absl::Duration d);

}  // namespace muwarden::config

#endif  // MUWARDEN_COMMON_CONFIG_SETTINGS_H_
