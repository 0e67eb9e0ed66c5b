// ClusterConfig: the settings of several servers on one database (SPEC
// sections 3 and 11): [database] url and the [cluster] keys. The game-server
// describes every key, the connect-server the url and the heartbeat timing.
// Plain value; thread-compatible.
#ifndef MUWARDEN_COMMON_DB_CLUSTER_CONFIG_H_
#define MUWARDEN_COMMON_DB_CLUSTER_CONFIG_H_

#include <string>

#include "absl/time/time.h"
#include "common/config/schema.h"
#include "common/db/pg.h"

namespace muwarden::db {

struct ClusterConfig {
  // Empty = no shared database (SQLite, a ban file per process).
  std::string url;
  // game-server: its id in the server list and what clients are told to
  // connect to (empty / 0 = the bind address and port).
  int server_id = 0;
  std::string public_host;
  int public_port = 0;
  absl::Duration heartbeat_interval = absl::Seconds(5);
  absl::Duration heartbeat_timeout = absl::Seconds(15);
  // The longest a database call waits (connect and statement) before the
  // caller treats the database as away.
  absl::Duration db_timeout = absl::Seconds(2);

  bool enabled() const { return !url.empty(); }
  pg::ConnectionConfig Connection() const;

  // `game`: also server_id, public_host, public_port.
  void Describe(config::Schema& schema, bool game);
};

}  // namespace muwarden::db

#endif  // MUWARDEN_COMMON_DB_CLUSTER_CONFIG_H_
