#include "server/connect/connect_settings.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/connect/connect_session.h"

namespace muwarden::connect {
namespace {

constexpr int kMaxGameServers = 256;
// The client gets the host as 16 zero-padded ASCII bytes: at most 15
// characters fit.
constexpr size_t kMaxHostLength = 15;

absl::Status CheckHost(absl::string_view v) {
  if (v.empty()) return absl::InvalidArgumentError("must not be empty");
  for (char c : v) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != ':' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("not an address: '", v, "'"));
    }
  }
  if (v.size() > kMaxHostLength) {
    return absl::OutOfRangeError(
        "longer than the 15 characters the client accepts");
  }
  return absl::OkStatus();
}

absl::Status ApplyEntryKey(GameServerEntry& e, absl::string_view key,
                           absl::string_view value) {
  absl::StatusOr<int64_t> n;
  if (key == "id" || key == "port" || key == "load") {
    const int64_t min = key == "port" ? 1 : 0;
    const int64_t max = key == "load" ? 100 : 65535;
    n = config::ParseInteger(value, min, max);
    if (!n.ok()) return n.status();
    (key == "id"     ? e.id
     : key == "port" ? e.port
                     : e.load) = static_cast<int>(*n);
    return absl::OkStatus();
  }
  const std::string t(absl::StripAsciiWhitespace(value));
  if (key == "name") {
    absl::Status st = config::CheckPrintable(t, 64);
    if (st.ok()) e.name = t;
    return st;
  }
  if (key == "host") {
    absl::Status st = CheckHost(t);
    if (st.ok()) e.host = t;
    return st;
  }
  return absl::NotFoundError(
      "unknown key (allowed id, name, host, port, load)");
}

}  // namespace

ConnectSettings::ConnectSettings() {
  base.control.default_name = "connect-server.sock";
  runtime::ServerConfig& s = base.server;
  s.name = "ConnectServer";
  s.bans.default_name = "connect-server-bans.txt";
  s.port = 44405;
  s.connection.handshake = ConnectHandshake();
  s.connection.handshake.timeout = absl::Seconds(20);
  s.connection.max_frame_size = 255;
  GameServerEntry entry;
  entry.name = "GameServer";
  gameservers.push_back(entry);
}

void ConnectSettings::Describe(config::Schema& schema) {
  base.Describe(schema);
  runtime::DescribeChatWindows(schema, &unused_chat, &unused_whisper);
  cluster.Describe(schema, /*game=*/false);
  schema.OnLoaded([this](config::SettingsErrors& errors) {
    if (cluster.enabled() && !gameservers_from_config_) gameservers.clear();
    if (cluster.heartbeat_timeout <= cluster.heartbeat_interval) {
      errors.Add(
          "cluster.heartbeat_timeout: must be longer than heartbeat_interval");
    }
  });
  config::Schema::Family family;
  family.prefix = "gameserver.";
  family.apply = [this](int index, absl::string_view key,
                        absl::string_view value) -> absl::Status {
    if (!gameservers_from_config_) {
      // Configured game servers replace the built-in default entry.
      gameservers.clear();
      gameservers_from_config_ = true;
    }
    auto it = std::find_if(
        gameservers.begin(), gameservers.end(),
        [index](const GameServerEntry& e) { return e.section_index == index; });
    if (it == gameservers.end()) {
      if (gameservers.size() >= kMaxGameServers) {
        return absl::OutOfRangeError(
            absl::StrCat("too many [gameserver.N] sections (allowed ",
                         kMaxGameServers, ")"));
      }
      GameServerEntry entry;
      entry.section_index = index;
      entry.id = index;
      entry.name = absl::StrCat("Server ", index);
      gameservers.push_back(entry);
      it = gameservers.end() - 1;
    }
    return ApplyEntryKey(*it, key, value);
  };
  family.print = [this] {
    std::vector<GameServerEntry> sorted = gameservers;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.section_index < b.section_index;
    });
    std::string out;
    for (const auto& g : sorted) {
      absl::StrAppend(
          &out,
          "\n; A game server listed to clients: id (0..65535), name, host the "
          "client connects to (IPv4 or name, up to 15 characters), port, load "
          "(0..100 %)\n[gameserver.",
          g.section_index, "]\nid = ", g.id, "\nname = ", g.name,
          "\nhost = ", g.host, "\nport = ", g.port, "\nload = ", g.load, "\n");
    }
    return out;
  };
  schema.AddFamily(std::move(family));
  schema.OnLoaded([this](config::SettingsErrors& errors) {
    std::set<int> ids;
    for (const auto& g : gameservers) {
      if (!ids.insert(g.id).second) {
        errors.Add(absl::StrCat("gameserver.", g.section_index, ".id: id ",
                                g.id,
                                " is used by another [gameserver.N] section"));
      }
    }
  });
}

const config::Program& ConnectProgram() {
  static const config::Program* program = new config::Program{
      "connect-server",
      "muwarden ConnectServer: hello, server list, server info", false};
  return *program;
}

}  // namespace muwarden::connect
