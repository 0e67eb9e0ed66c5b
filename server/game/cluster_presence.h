// ClusterPresence: a GameServer's part in a cluster on one PostgreSQL
// database (SPEC section 11). One lease row per online account: Claim takes
// it at login unless another server holds one that has not expired (a row of
// this server's own id is taken over: the caller's in-memory registry is the
// authority on its own players); Release gives it back. A background thread
// renews, every heartbeat_interval, the leases of the accounts the registry
// holds in one statement (an array parameter), and writes this server's row
// in the server list (public address, players, max_players). At start the
// server's own leases are cleared (those of an earlier run); on a clean stop
// its leases and row are removed so it leaves the list at once. Rows of a
// server that died expire after heartbeat_timeout. Thread-safe; no call
// waits longer than about the connection's statement timeout.
#ifndef MUWARDEN_SERVER_GAME_CLUSTER_PRESENCE_H_
#define MUWARDEN_SERVER_GAME_CLUSTER_PRESENCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/base/mutex.h"
#include "common/db/cluster_config.h"
#include "common/db/pg.h"

namespace muwarden::game {

struct PresenceConfig {
  db::ClusterConfig cluster;
  // What the server list shows (the public address already resolved).
  std::string host;
  int port = 0;
  int max_players = 0;
};

class ClusterPresence {
 public:
  // The account keys (lower case) held now; called from the renew thread.
  using HeldKeys = std::function<std::vector<std::string>()>;

  // Clears this server's old leases, writes its first row and starts the
  // renew thread; kUnavailable with the reason when the database cannot be
  // reached.
  static absl::StatusOr<std::unique_ptr<ClusterPresence>> Start(
      PresenceConfig config, HeldKeys held);
  ~ClusterPresence();
  ClusterPresence(const ClusterPresence&) = delete;
  ClusterPresence& operator=(const ClusterPresence&) = delete;

  // OK: the lease is ours; kAlreadyExists: the account is online on another
  // server (answer 3); kUnavailable: the database did not answer (answer 7).
  absl::Status Claim(absl::string_view key);
  // Gives the lease back; a failure is left to expiry.
  void Release(absl::string_view key);

  // Renew rounds that reached the database, and leases renewed in them.
  uint64_t renew_rounds() const { return renew_rounds_.load(); }
  uint64_t leases_renewed() const { return leases_renewed_.load(); }

  // One renew round now (the thread's body; tests and the benchmark call it).
  absl::Status RenewOnce();

 private:
  ClusterPresence(PresenceConfig config, HeldKeys held);
  void Loop();

  const PresenceConfig config_;
  const HeldKeys held_;
  pg::Pool pool_;               // Claim / Release
  pg::Connection renew_conn_;   // the thread's own

  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<uint64_t> renew_rounds_{0};
  std::atomic<uint64_t> leases_renewed_{0};
  std::atomic<bool> db_down_{false};
};

// "{a,b}": a text[] literal of keys (account keys are [a-z0-9_], quoted
// anyway).
std::string TextArray(const std::vector<std::string>& items);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_CLUSTER_PRESENCE_H_
