// ServerDirectory: the game servers the ConnectServer lists: its static
// [gameserver.N] entries plus, with [database] url, the GameServers whose row
// in the shared database was written within heartbeat_timeout (load =
// players * 100 / max_players), re-read by a thread of its own every
// heartbeat_interval. A static entry with the id of a live server wins. A
// connection takes the current list with Snapshot(), an in-memory pointer
// copy, so the accept and worker threads never wait on the database; when the
// database cannot be read, the last list read stays until its rows would have
// expired. Thread-safe.
#ifndef MUWARDEN_SERVER_CONNECT_SERVER_DIRECTORY_H_
#define MUWARDEN_SERVER_CONNECT_SERVER_DIRECTORY_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/db/cluster_config.h"
#include "common/db/pg.h"
#include "server/connect/game_server_entry.h"

namespace muwarden::connect {

class ServerDirectory {
 public:
  // Only the static entries.
  explicit ServerDirectory(std::vector<GameServerEntry> fixed);
  // Reads the live rows once (kUnavailable with the reason when the database
  // cannot be reached, or FailedPrecondition for a newer schema), then keeps
  // reading them on its thread.
  static absl::StatusOr<std::unique_ptr<ServerDirectory>> Start(
      std::vector<GameServerEntry> fixed, const db::ClusterConfig& cluster);
  ~ServerDirectory();
  ServerDirectory(const ServerDirectory&) = delete;
  ServerDirectory& operator=(const ServerDirectory&) = delete;

  ServerList Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  // One read of the live rows now (the thread's body).
  absl::Status RefreshOnce();

 private:
  ServerDirectory(std::vector<GameServerEntry> fixed,
                  const db::ClusterConfig& cluster);
  void Loop();

  const std::vector<GameServerEntry> fixed_;
  const db::ClusterConfig cluster_;
  std::unique_ptr<pg::Connection> conn_;  // the thread's; null without a db
  absl::Time last_read_ = absl::InfinitePast();  // the thread's

  mutable Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  ServerList list_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace muwarden::connect

#endif  // MUWARDEN_SERVER_CONNECT_SERVER_DIRECTORY_H_
