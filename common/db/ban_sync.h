// BanSync: the bans of every server on one PostgreSQL database (SPEC section
// 11). Every ban this process puts in force (autoban, prefix ban, login ban,
// operator ban: all go through BanList::AddMany) is queued by the list's
// observer and inserted into the bans table by a publisher thread, followed by
// a NOTIFY; a listener thread on a connection of its own LISTENs and, on a
// notification or at least every `catch_up` interval, reads the rows after the
// last id it has seen (by id, so none is lost across a reconnect) and adds the
// other processes' bans to the local list (memory and ban file; the file stays
// a local extra source). While the database is away, queued bans wait (the
// oldest dropped past max_queued) and the bans already loaded stay enforced.
// Thread-safe.
#ifndef MUWARDEN_COMMON_DB_BAN_SYNC_H_
#define MUWARDEN_COMMON_DB_BAN_SYNC_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/db/pg.h"
#include "common/guard/ban_line.h"
#include "common/guard/ban_list.h"

namespace muwarden::db {

struct BanSyncConfig {
  pg::ConnectionConfig db;
  // Unique per process, so a process skips its own rows.
  std::string origin;
  absl::Duration catch_up = absl::Milliseconds(500);
  size_t max_queued = 65536;
};

// "<name>/<host>/<pid>/<start ns>": an origin no other process has.
std::string ProcessOrigin(absl::string_view name);

// Starts the sync for a server whose cluster config names a database.
class BanSync;
absl::StatusOr<std::unique_ptr<BanSync>> StartBanSync(
    const struct ClusterConfig& cluster, absl::string_view server_name,
    guard::BanList& bans);

class BanSync {
 public:
  // Reads every ban in force from the database into `bans`, becomes its
  // observer and starts both threads; kUnavailable when the database cannot
  // be reached. `bans` must outlive this object.
  static absl::StatusOr<std::unique_ptr<BanSync>> Start(BanSyncConfig config,
                                                        guard::BanList& bans);
  // Stops observing and both threads (queued bans not yet written are lost;
  // they are in the local file).
  ~BanSync();
  BanSync(const BanSync&) = delete;
  BanSync& operator=(const BanSync&) = delete;

  // Queues bans for the database; never blocks on it.
  void Publish(const std::vector<guard::BanEntry>& entries)
      ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t published() const { return published_.load(); }
  uint64_t received() const { return received_.load(); }

 private:
  BanSync(BanSyncConfig config, guard::BanList& bans);
  absl::Status CatchUp();
  void PublishLoop();
  void ListenLoop();
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);

  const BanSyncConfig config_;
  guard::BanList& bans_;
  pg::Connection publish_conn_;  // the publisher's
  pg::Connection listen_conn_;   // the listener's (and Start's)
  int64_t last_id_ = 0;          // the listener's

  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<guard::BanEntry> queue_ ABSL_GUARDED_BY(mu_);
  std::thread publisher_;
  std::thread listener_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> received_{0};
};

}  // namespace muwarden::db

#endif  // MUWARDEN_COMMON_DB_BAN_SYNC_H_
