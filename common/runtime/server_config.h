// ServerConfig: everything one Server needs (listener, worker pool, connection
// limits, Layer-1 guard, ban file), and how it is built from the loaded
// settings. A plain value type; not thread-safe to mutate, safe to share once
// built.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/config/settings.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/runtime/connection.h"
#include "common/runtime/session.h"
#include "common/runtime/worker_pool.h"

namespace muwarden::runtime {

struct ServerConfig {
  std::string name = "server";
  std::string bind = "0.0.0.0";
  int port = 0;
  int backlog = 4096;
  WorkerPoolConfig pool;
  ConnectionConfig connection;
  guard::ConnGuardConfig guard;
  guard::BanListConfig bans;
};

// Builds the runtime's configuration from loaded settings and the server's
// handshake rules.
absl::StatusOr<ServerConfig> ServerConfigFromSettings(
    const config::ServerSettings& settings, const HandshakeConfig& handshake);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_
