#include "common/db/cluster_config.h"

#include "absl/status/status.h"

namespace muwarden::db {

pg::ConnectionConfig ClusterConfig::Connection() const {
  pg::ConnectionConfig c;
  c.url = url;
  c.connect_timeout = db_timeout;
  c.statement_timeout = db_timeout;
  return c;
}

void ClusterConfig::Describe(config::Schema& s, bool game) {
  // Printed (--print-config) with its password hidden: a url that holds one
  // is not meant to be copied around, and the printed INI says so.
  s.Custom<std::string>(
      "database", "url", &url,
      "database shared by several servers: empty = none; a postgresql:// URL "
      "or libpq key=value string (passwords belong in ~/.pgpass or "
      "PGPASSFILE; one in the url is printed as ********)",
      [](absl::string_view v) -> absl::StatusOr<std::string> {
        if (v.empty() || pg::IsPostgresUrl(v)) return std::string(v);
        return absl::InvalidArgumentError(
            "must be empty, a postgresql:// URL or a libpq key=value string");
      },
      [](const std::string& v) { return pg::HidePassword(v); });
  if (game) {
    s.Integer("cluster", "server_id", &server_id, 0, 65535,
              "this GameServer's id in the server list (with [database] url)");
    s.String("cluster", "public_host", &public_host,
             "address clients are told to connect to (IPv4 or name, up to 15 "
             "characters); empty = the bind address",
             [](absl::string_view v) -> absl::Status {
               if (v.size() <= 15) return absl::OkStatus();
               return absl::InvalidArgumentError("at most 15 characters");
             });
    s.Integer("cluster", "public_port", &public_port, 0, 65535,
              "port clients are told to connect to; 0 = the bind port");
  }
  s.Seconds("cluster", "heartbeat_interval", &heartbeat_interval, 0.1, 3600,
            game ? "how often this server renews its players' sessions and "
                   "writes its row to the server list"
                 : "how often the live server list is read again");
  s.Seconds("cluster", "heartbeat_timeout", &heartbeat_timeout, 0.3, 86400,
            game ? "a session or server row not renewed for this long is "
                   "gone (a dead server's players may log in elsewhere)"
                 : "a GameServer not heard from for this long leaves the list");
}

}  // namespace muwarden::db
