// ServerConfig: everything the runtime of one server needs (listening socket,
// worker pool, connection rules, Layer-1 guard, ban list), built from the
// units' own config structs; ServerSettings adds the logger, which both
// binaries load too. Describe() registers the [server] keys this file owns and
// lets every unit describe its own, so a key is added in one place. Plain
// values; thread-compatible.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_

#include <string>

#include "common/base/log.h"
#include "common/config/schema.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/guard/known_blocks.h"
#include "common/guard/security_log.h"
#include "common/ops/ops_config.h"
#include "common/runtime/connection.h"
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
  guard::KnownBlocksConfig known;
  // Greeted sockets wait for their first byte in the PendingWaiter, not on a
  // worker. Not a setting: false only for tests and benchmarks that compare
  // with a thread per socket.
  bool park_silent = true;

  // [server] name, bind, port, then the units' keys. Once loaded, the pool's
  // worker cap follows max_clients and the arena must hold a connection's
  // frame buffers.
  void Describe(config::Schema& schema);
};

struct ServerSettings {
  ServerConfig server;
  LogConfig log;
  guard::SecurityLogConfig security_log;
  ops::MetricsConfig metrics;
  ops::ControlConfig control;

  // The server's keys, then [log], the security log's burst, [metrics] and
  // [control]; once loaded,
  // the security log tracks as many client blocks as the guard.
  void Describe(config::Schema& schema);
};

// [ratelimit] chat_rate_* and whisper_rate_*: the GameServer's chat limits.
// The ConnectServer describes them too (unused: it has no chat), so one
// [ratelimit] section serves both binaries' files as it always has.
void DescribeChatWindows(config::Schema& schema,
                         guard::SlidingWindowConfig* chat,
                         guard::SlidingWindowConfig* whisper);

// [log] file and level of the process logger (base/log is a sink that knows
// nothing of settings).
void DescribeLog(config::Schema& schema, LogConfig* log);

// The listen address must be an IP literal: the server binds it as given,
// with no name lookup.
absl::Status CheckBindAddress(absl::string_view v);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_CONFIG_H_
