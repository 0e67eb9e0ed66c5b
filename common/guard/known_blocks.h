// KnownBlocks: client blocks (an IPv4 address or an IPv6 /64) that completed
// a good visit within keep_days (SPEC 4a), so Layer 1 can spare them from the
// prefix limits, prefix bans and eviction by unknown arrivals, and the login
// throttle can consult IsKnown. A hash map from IpKey to the last visit plus
// an ordered index by visit time, so the oldest entry goes first when the
// table is full and expired ones are dropped in order. The file holds one
// line per block, "<block> <last visit, ISO-8601 UTC>", rewritten atomically
// (durable_file) at most once a minute by SaveIfDue and at Save. Thread-safe.
#ifndef MUWARDEN_COMMON_GUARD_KNOWN_BLOCKS_H_
#define MUWARDEN_COMMON_GUARD_KNOWN_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

struct KnownBlocksConfig {
  // [security] known_file as given: a relative name is taken beside the ban
  // file (runtime::ServerConfig resolves it into `path`).
  std::string file = "known.txt";
  // Empty: known blocks live in memory only.
  std::string path;
  // How long a block stays known after its last good visit.
  int keep_days = 30;
  // Cap of the table; the block with the oldest visit makes room.
  size_t max_entries = 65536;
  // The least time between two rewrites by SaveIfDue.
  absl::Duration save_interval = absl::Minutes(1);
  // A block's visit is passed to the observer (the shared database) when it
  // was not known, or its last shared visit is older than this: a block that
  // visits every second costs one database write an hour, not 3,600.
  absl::Duration share_interval = absl::Hours(1);

  // [security] known_file (default known.txt beside the ban file),
  // known_days. max_entries follows server.max_tracked_ips.
  void Describe(config::Schema& schema);
};

struct KnownLoadResult {
  size_t entries = 0;  // loaded and still in force
  size_t expired = 0;  // older than keep: dropped
  size_t bad_lines = 0;
};

class KnownBlocks {
 public:
  KnownBlocks(const KnownBlocksConfig& config, Clock& clock);
  KnownBlocks(const KnownBlocks&) = delete;
  KnownBlocks& operator=(const KnownBlocks&) = delete;

  // Replaces the table with the file; a missing file is an empty table. Bad
  // lines are skipped and counted.
  absl::StatusOr<KnownLoadResult> Load() ABSL_LOCKS_EXCLUDED(mu_);

  // A good visit of ip's block now (wall clock).
  void Record(const IpAddress& ip) ABSL_LOCKS_EXCLUDED(mu_);
  // A visit another server shared (SPEC section 11): kept when it is newer
  // than the one held and still within keep; never passed to the observer.
  void Merge(const IpKey& key, absl::Time visit) ABSL_LOCKS_EXCLUDED(mu_);

  // Told, outside the table's lock, of the visits to share (see
  // share_interval). Must not block. Set before the server starts; nullptr =
  // none.
  using Observer = std::function<void(const IpKey&, absl::Time)>;
  void SetObserver(Observer observer) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether ip's block had a good visit within keep.
  bool IsKnown(const IpAddress& ip) const ABSL_LOCKS_EXCLUDED(mu_);

  // Rewrites the file (expired entries dropped) when it changed since the
  // last write and save_interval has passed since then. Cheap otherwise.
  absl::Status SaveIfDue() ABSL_LOCKS_EXCLUDED(mu_);
  // Rewrites the file now if it changed (at stop).
  absl::Status Save() ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // How long a block stays known after its last good visit (known_days).
  absl::Duration keep() const { return absl::Hours(24) * config_.keep_days; }

 private:
  using Order = std::tuple<absl::Time, IpFamily, uint64_t>;

  void PutLocked(const IpKey& key, absl::Time visit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropExpiredLocked(absl::Time wall_now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string FormatLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const KnownBlocksConfig config_;
  Clock& clock_;
  mutable Mutex mu_;
  absl::flat_hash_map<IpKey, absl::Time> visits_ ABSL_GUARDED_BY(mu_);
  // When each block's visit was last passed to the observer.
  absl::flat_hash_map<IpKey, absl::Time> shared_ ABSL_GUARDED_BY(mu_);
  Observer observer_ ABSL_GUARDED_BY(mu_);
  std::set<Order> by_visit_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_save_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The block of key as text: "a.b.c.d" or "x:y::/64".
std::string KnownBlockText(const IpKey& key);
// The block KnownBlockText wrote (any address inside it is taken as its block).
absl::StatusOr<IpKey> ParseKnownBlock(absl::string_view text);

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_KNOWN_BLOCKS_H_
