#include "common/runtime/server_config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/config/settings.h"

namespace muwarden::runtime {

absl::StatusOr<ServerConfig> ServerConfigFromSettings(
    const config::ServerSettings& s, const HandshakeConfig& handshake) {
  ServerConfig c;
  c.name = s.server.name;
  c.bind = s.server.bind;
  c.port = s.server.port;
  c.pool.stack_bytes = static_cast<size_t>(s.server.worker_stack_kib) * 1024;
  c.pool.arena_bytes = static_cast<size_t>(s.server.arena_kib) * 1024;
  // The guard caps live connections at max_clients; a worker goes back to the
  // pool a moment after its connection's slot is released, so a little headroom
  // keeps a connection admitted in that moment from finding no worker.
  c.pool.max_workers = static_cast<size_t>(s.server.max_clients) + 64;
  c.connection.read_timeout = s.server.read_timeout;
  c.connection.write_timeout = s.server.write_timeout;
  c.connection.max_frame_size = static_cast<size_t>(s.server.max_packet_size);
  c.connection.raw_packets = {s.ratelimit.raw_pkt_rate_limit,
                              s.ratelimit.raw_pkt_rate_window};
  c.connection.handshake = handshake;
  c.connection.handshake.timeout = s.server.handshake_timeout;
  c.connection.handshake.max_frame_size =
      std::min(handshake.max_frame_size, c.connection.max_frame_size);
  c.guard.conn_rate_limit = s.ratelimit.conn_rate_limit;
  c.guard.conn_rate_window = s.ratelimit.conn_rate_window;
  c.guard.flood_autoban = s.ratelimit.conn_flood_autoban;
  c.guard.flood_ban_threshold = s.ratelimit.flood_ban_threshold;
  c.guard.flood_ban_duration = s.ratelimit.flood_ban_duration;
  c.guard.multiclient_limit = s.server.multiclient_limit;
  c.guard.max_clients = s.server.max_clients;
  c.guard.max_tracked_ips = static_cast<size_t>(s.server.max_tracked_ips);
  auto allow = guard::CidrSet::Parse(s.security.allowlist);
  if (!allow.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("security.allowlist: ", allow.status().message()));
  }
  c.guard.allowlist = *std::move(allow);
  c.bans.path = s.security.ban_file;
  return c;
}

}  // namespace muwarden::runtime
