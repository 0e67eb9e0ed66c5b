// BanList: the persistent IP ban file (SPEC section 6) and the lookup the
// accept thread runs first. Entries live in a CidrMap (one hash probe per
// prefix length in use); Add appends and fsyncs before returning, Rewrite
// replaces the file atomically (common/base/durable_file.h); the line format
// is in ban_line.h. Several lines for one block merge: the latest until wins
// (permanent beats any time) and the last non-empty reason is kept; Add
// follows the same rule, so the file and memory always agree. Thread-safe:
// Check takes a shared lock, so lookups run side by side and wait only for
// the brief in-memory updates; file work is serialised by a second mutex so
// Check never waits on a disk.
#ifndef MUWARDEN_COMMON_GUARD_BAN_LIST_H_
#define MUWARDEN_COMMON_GUARD_BAN_LIST_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/guard/ban_line.h"
#include "common/guard/cidr_map.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

// Refuses to read a larger file rather than take the memory.
inline constexpr size_t kMaxBanFileBytes = 256 << 20;

struct BanListConfig {
  // Empty: bans live in memory only; Load/Rewrite do nothing.
  std::string path;
  // Autobans grow the list; past this, Add drops expired entries and then
  // refuses, and Load skips further lines with a warning.
  size_t max_entries = 1 << 20;

  // [security] ban_file (default bans.txt beside the config file).
  void Describe(config::Schema& schema);
};

struct BanFileWarning {
  int line_number = 0;  // 1-based
  std::string text;     // the line, cut to 200 bytes
  std::string why;
};

struct BanLoadResult {
  size_t entries = 0;  // distinct blocks in force after the load
  size_t expired = 0;  // well-formed lines already expired (not loaded)
  std::vector<BanFileWarning> warnings;
};

struct BanCheck {
  bool banned = false;
  Cidr matched;                     // the block that matched
  std::optional<absl::Time> until;  // nullopt = permanent
  std::string reason;
};

class BanList {
 public:
  BanList(const BanListConfig& config, Clock& clock);
  BanList(const BanList&) = delete;
  BanList& operator=(const BanList&) = delete;

  // Replaces the in-memory list with the file. A missing file is an empty
  // list. Bad lines are skipped and reported, never fatal. An unreadable file
  // is an error and leaves the current list untouched. Entries that were only
  // in memory (an Add whose write failed) are dropped.
  absl::StatusOr<BanLoadResult> Load() ABSL_LOCKS_EXCLUDED(file_mu_, mu_);
  // For SIGHUP; the same as Load.
  absl::StatusOr<BanLoadResult> Reload() ABSL_LOCKS_EXCLUDED(file_mu_, mu_) {
    return Load();
  }

  // Whether ip is inside a block in force at wall_now (until > wall_now).
  BanCheck Check(const IpAddress& ip, absl::Time wall_now) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The same at the clock's WallNow().
  BanCheck Check(const IpAddress& ip) const ABSL_LOCKS_EXCLUDED(mu_);

  // Bans cidr until `until` (nullopt or InfiniteFuture = permanent; rounded
  // up to a whole second). The line is appended and fsynced (and, when the
  // file is created, its directory) before this returns, so the caller logs
  // afterwards. The ban applies in memory even when the write fails; a
  // non-OK status then means "not durable". Control characters and '#' in
  // the reason become ' ' and '_'. kResourceExhausted (and no ban) when
  // max_entries blocks are in force.
  absl::Status Add(const Cidr& cidr, std::optional<absl::Time> until,
                   absl::string_view reason) ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Writes the in-memory list over the file atomically (temp file, fsync,
  // rename, directory fsync) and drops expired entries from file and memory.
  // Comment and blank lines (and bad lines, for the operator to fix) are kept
  // in place; entry lines are written in canonical form, so trailing
  // comments on entry lines are lost. Edits made to the file since the last
  // Load are overwritten: Reload first if the file may have been edited.
  absl::Status Rewrite() ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Lines of the file as last loaded or written, comments included; compared
  // with size() it tells when repeated bans of the same blocks have made the
  // file worth a Rewrite.
  size_t file_lines() const ABSL_LOCKS_EXCLUDED(file_mu_);

  // Blocks held in memory, expired ones included until the next Rewrite.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct BanInfo {
    std::optional<absl::Time> until;
    std::string reason;
  };
  // A file line kept for Rewrite: either verbatim text or the block whose
  // current entry is written at this position.
  struct FileLine {
    std::string text;
    std::optional<Cidr> cidr;
  };

  static void Merge(BanInfo& into, const std::optional<absl::Time>& until,
                    const std::string& reason);

  const BanListConfig config_;
  Clock& clock_;
  // Serialises file access (Load, Add, Rewrite); taken before mu_. Only its
  // holder changes bans_, so it may read bans_ under a shared lock.
  mutable Mutex file_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<FileLine> lines_ ABSL_GUARDED_BY(file_mu_);
  // Lines physically in the file (duplicates and expired entries included), as
  // loaded, appended and rewritten.
  size_t physical_lines_ ABSL_GUARDED_BY(file_mu_) = 0;
  // Shared for lookups (Check, size, Rewrite's formatting), exclusive for
  // changes.
  mutable SharedMutex mu_;
  CidrMap<BanInfo> bans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_BAN_LIST_H_
