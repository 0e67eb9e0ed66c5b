// BanSync: the bans and known blocks of every server on one PostgreSQL
// database (SPEC section 11). Every ban this process puts in force (autoban,
// prefix ban, operator ban: all go through BanList::AddMany), every unban (an
// operator's, BanList::Remove) and every good visit of a client block that is
// due to be shared (KnownBlocks::Record) is queued by an observer and written
// by a publisher thread, followed by a NOTIFY. A listener thread on a
// connection of its own LISTENs and, on a notification or at least every
// `catch_up` interval, reads the ban rows after the last id it has seen and
// the known-block rows after the last stamp it has seen (so none is lost
// across a reconnect), and applies the other processes' ones in order: bans
// and unbans to the local list (memory and ban file; the file stays a local
// extra source), visits to the known blocks. Rows whose id was taken before
// the last one seen but that committed after it (two servers writing at
// once) are caught by re-reading the rows of the last `late_window`. While
// the database is away, queued changes wait (the oldest dropped past
// max_queued) and the bans already loaded stay enforced. Thread-safe.
#ifndef MUWARDEN_COMMON_DB_BAN_SYNC_H_
#define MUWARDEN_COMMON_DB_BAN_SYNC_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/db/pg.h"
#include "common/guard/ban_line.h"
#include "common/guard/ban_list.h"
#include "common/guard/ip_address.h"
#include "common/guard/known_blocks.h"

namespace muwarden::db {

struct BanSyncConfig {
  pg::ConnectionConfig db;
  // Unique per process, so a process skips its own rows.
  std::string origin;
  absl::Duration catch_up = absl::Milliseconds(500);
  // How long after its insert a row is still looked for by id (see above).
  absl::Duration late_window = absl::Seconds(5);
  size_t max_queued = 65536;
};

// "<name>/<host>/<pid>/<start ns>": an origin no other process has.
std::string ProcessOrigin(absl::string_view name);

// Starts the sync for a server whose cluster config names a database.
class BanSync;
absl::StatusOr<std::unique_ptr<BanSync>> StartBanSync(
    const struct ClusterConfig& cluster, absl::string_view server_name,
    guard::BanList& bans, guard::KnownBlocks* known);

class BanSync {
 public:
  // Reads every ban in force and every known block from the database into
  // `bans` and `known` (may be null: no known blocks shared), becomes their
  // observer and starts both threads; kUnavailable when the database cannot
  // be reached. Both must outlive this object.
  static absl::StatusOr<std::unique_ptr<BanSync>> Start(
      BanSyncConfig config, guard::BanList& bans, guard::KnownBlocks* known);
  // Stops observing and both threads (queued changes not yet written are
  // lost; they are in the local files).
  ~BanSync();
  BanSync(const BanSync&) = delete;
  BanSync& operator=(const BanSync&) = delete;

  // Queue changes for the database; never block on it.
  void Publish(const std::vector<guard::BanEntry>& entries)
      ABSL_LOCKS_EXCLUDED(mu_);
  void PublishUnban(const guard::Cidr& cidr) ABSL_LOCKS_EXCLUDED(mu_);
  void PublishVisit(const guard::IpKey& key, absl::Time visit)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Rows written (bans and unbans; visits) and applied from other processes.
  uint64_t published() const { return published_.load(); }
  uint64_t received() const { return received_.load(); }
  uint64_t visits_published() const { return visits_published_.load(); }
  uint64_t visits_received() const { return visits_received_.load(); }

 private:
  struct Change {
    guard::BanEntry entry;
    bool unban = false;
  };

  BanSync(BanSyncConfig config, guard::BanList& bans, guard::KnownBlocks* known);
  // Bans and unbans, then known blocks; the listener's connection.
  absl::Status CatchUp();
  absl::Status CatchUpBans();
  absl::Status CatchUpKnown();
  // Applies ban rows (id, cidr, until, reason, origin, unban) in id order:
  // all of them, or those whose row numbers `only` gives.
  void ApplyBanRows(const PGresult* rows, const std::vector<int>* only);
  absl::Status PublishBatch(std::vector<Change>& bans,
                            std::vector<std::pair<guard::IpKey, absl::Time>>& visits,
                            size_t* bans_done, size_t* visits_done);
  void PublishLoop();
  void ListenLoop();
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);

  const BanSyncConfig config_;
  guard::BanList& bans_;
  guard::KnownBlocks* const known_;
  pg::Connection publish_conn_;  // the publisher's
  pg::Connection listen_conn_;   // the listener's (and Start's)
  // The listener's: the last ban id and known-block stamp seen, and the ids
  // of the ban rows inside late_window at the last look (applied already).
  int64_t last_id_ = 0;
  int64_t last_seq_ = 0;
  absl::flat_hash_set<int64_t> recent_ids_;

  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Change> queue_ ABSL_GUARDED_BY(mu_);
  // The newest visit per block not yet written.
  absl::flat_hash_map<guard::IpKey, absl::Time> visits_ ABSL_GUARDED_BY(mu_);
  std::thread publisher_;
  std::thread listener_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> visits_published_{0};
  std::atomic<uint64_t> visits_received_{0};
};

}  // namespace muwarden::db

#endif  // MUWARDEN_COMMON_DB_BAN_SYNC_H_
