// BanList: the persistent IP ban file (SPEC section 6) and the lookup the
// accept thread runs first. Entries live in a CidrMap (one hash probe per
// prefix length in use) beside an expiry heap (soonest until first), so
// dropping expired bans and making room in a full list never scan the list.
// The file is the operator's too: every change to it is made under an
// advisory lock (flock on `<ban_file>.lock`, a sibling that is never renamed)
// and every rewrite re-reads the file first, so a line added by hand, or by
// another process, is never lost and a line deleted by hand un-bans. Several
// lines for one block merge: the latest until wins (permanent beats any time)
// and the last non-empty reason is kept. Thread-safe: Check takes a shared
// lock that writers hold only for a pointer swap or one insert or erase;
// parsing, formatting and disk work happen outside it, serialised by a second
// mutex the accept thread never takes.
#ifndef MUWARDEN_COMMON_GUARD_BAN_LIST_H_
#define MUWARDEN_COMMON_GUARD_BAN_LIST_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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
// Bad lines reported one by one; past this they are only counted.
inline constexpr size_t kMaxBanFileWarnings = 100;

struct BanListConfig {
  // Empty: bans live in memory only; Load/Rewrite do nothing.
  std::string path;
  // The bans in force are capped: past this, the bans that end soonest give
  // way to longer ones (permanent bans never give way), in memory at once and
  // in the file at its next rewrite; a list full of permanent bans refuses.
  size_t max_entries = 1 << 20;
  // The default file name beside the config file. Each server sets its own
  // (`connect-server-bans.txt`, `game-server-bans.txt`), so two servers never
  // share a file unless the operator says so.
  std::string default_name = "bans.txt";

  // [security] ban_file (default default_name beside the config file).
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
  // Well-formed blocks left out because max_entries blocks ending later are
  // in force.
  size_t over_cap = 0;
  // The first kMaxBanFileWarnings bad lines; more_warnings counts the rest.
  std::vector<BanFileWarning> warnings;
  size_t more_warnings = 0;
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
  ~BanList();
  BanList(const BanList&) = delete;
  BanList& operator=(const BanList&) = delete;

  // Replaces the in-memory list with the file (read under a shared advisory
  // lock). A missing file is an empty list. Bad lines are skipped and
  // reported, never fatal. An unreadable file is an error and leaves the
  // current list untouched. Bans whose append failed stay in force.
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
  // up to a whole second). The line is appended under the advisory lock and
  // fsynced (and, when the file is created, its directory) before this
  // returns, so the caller logs afterwards. The ban applies in memory even
  // when the write fails; a non-OK status then means "not durable" (the next
  // rewrite writes it). Control characters and '#' in the reason become ' '
  // and '_'. A full list drops its soonest-ending ban for a ban that ends
  // later; kResourceExhausted (and no ban) when none ends sooner.
  absl::Status Add(const Cidr& cidr, std::optional<absl::Time> until,
                   absl::string_view reason) ABSL_LOCKS_EXCLUDED(file_mu_, mu_);
  // Several bans with one append and one fsync. One status per entry.
  // `publish`: the bans in force are passed to the observer afterwards (a
  // ban that came from the shared database is added with false).
  std::vector<absl::Status> AddMany(const std::vector<BanEntry>& entries,
                                    bool publish = true)
      ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Told, after each Add/AddMany (outside every lock of the list), the bans
  // it put in force: the shared database's publisher (SPEC section 11). Must
  // not block. Set before the server starts; nullptr = none.
  using Observer = std::function<void(const std::vector<BanEntry>&)>;
  void SetObserver(Observer observer) ABSL_LOCKS_EXCLUDED(observer_mu_);
  // Told, after a Remove that found its block (outside every lock of the
  // list), the block un-banned. Same rules as SetObserver.
  using UnbanObserver = std::function<void(const Cidr&)>;
  void SetUnbanObserver(UnbanObserver observer)
      ABSL_LOCKS_EXCLUDED(observer_mu_);

  // Un-bans exactly this block (not the blocks inside or around it): every
  // line for it is removed from the file (re-read and rewritten under the
  // advisory lock, like Rewrite) and it stops applying at once. kNotFound when
  // neither the file nor memory has it; other errors when the file could not
  // be rewritten (the block then still stops applying until the next load).
  // `publish`: the unban is passed to the unban observer (one that came from
  // the shared database is removed with false).
  absl::Status Remove(const Cidr& cidr, bool publish = true)
      ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Compacts the file: under the advisory lock it re-reads the file, drops
  // expired lines and repeated lines of one block (the merged entry is
  // written in canonical form where the block first appears), keeps comment,
  // blank and bad lines in place, writes it atomically (temp file, fsync,
  // rename, directory fsync), and makes memory what the file now says: lines
  // added by hand apply, lines deleted by hand no longer do. Trailing comments
  // on entry lines are lost.
  absl::Status Rewrite() ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Looks at up to `budget` expired bans, soonest first, and drops them from
  // memory, each under its own brief exclusive lock; returns how many went. Expired bans never apply
  // either way: this only gives their memory back.
  size_t DropExpired(size_t budget) ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Lines of the file as last loaded or written plus the lines appended
  // since; compared with compact_lines() it tells when repeated bans of the
  // same blocks have made the file worth a Rewrite.
  size_t file_lines() const ABSL_LOCKS_EXCLUDED(file_mu_);
  // The lines a rewrite would leave: the blocks in force plus the lines it
  // keeps as they are (comments, bad lines, permanent bans over the cap).
  size_t compact_lines() const ABSL_LOCKS_EXCLUDED(file_mu_, mu_);

  // Blocks held in memory, expired ones included until dropped.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Bans whose line could not be appended (held for the next rewrite).
  size_t unwritten() const ABSL_LOCKS_EXCLUDED(file_mu_);
  // Bans dropped from a full list for one ending later, since construction.
  size_t displaced() const ABSL_LOCKS_EXCLUDED(file_mu_);
  // The advisory lock's path: `<ban_file>.lock`.
  std::string lock_path() const { return config_.path + ".lock"; }

  // Whole seconds since the epoch (rounded up); kPermanent for none.
  static constexpr int64_t kPermanent = INT64_MAX;
  // 16 bytes, so a million bans fit in well under 100 MB.
  struct BanInfo {
    int64_t until = kPermanent;
    uint32_t reason = 0;  // index into the table's Reasons
    // Set while a rewrite writes the block, so it is written once.
    bool written = false;
  };
  struct ExpiryItem {
    int64_t until;
    Cidr cidr;
  };
  // Each reason text once: a million autobans share a handful of reasons.
  // Id 0 is the empty reason. Not thread-safe; the owner locks.
  class Reasons {
   public:
    Reasons();
    uint32_t Intern(absl::string_view text);
    const std::string& Text(uint32_t id) const { return texts_[id]; }

   private:
    std::deque<std::string> texts_;  // stable addresses for ids_'s keys
    absl::flat_hash_map<absl::string_view, uint32_t> ids_;
  };
  using Map = CidrMap<BanInfo>;
  struct Table {
    Map map;
    Reasons reasons;
  };

 private:
  struct Parsed;

  std::vector<absl::Status> AddManyLocked(const std::vector<BanEntry>& entries,
                                          std::vector<BanEntry>& accepted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_);

  absl::StatusOr<std::string> ReadFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
      file_mu_);
  Parsed Parse(absl::string_view data, const Cidr* remove) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_);
  absl::Status RewriteLocked(const Cidr* remove, bool* found)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_);
  void Install(Parsed& parsed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Inserts or merges one entry into the live map; false when the list is full
  // of bans that end no sooner.
  bool ApplyLocked(const BanEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  void CompactHeapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t DropExpiredLocked(size_t budget)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_) ABSL_LOCKS_EXCLUDED(mu_);

  const BanListConfig config_;
  Clock& clock_;
  // Serialises every change (Load, Add, Remove, Rewrite, DropExpired); taken
  // before mu_. Only its holder changes bans_, so it reads bans_ under a shared
  // lock, which blocks no lookup.
  mutable Mutex observer_mu_;
  Observer observer_ ABSL_GUARDED_BY(observer_mu_);
  UnbanObserver unban_observer_ ABSL_GUARDED_BY(observer_mu_);
  mutable Mutex file_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Soonest until on top; an item whose until no longer matches its block's
  // entry is stale and skipped.
  std::vector<ExpiryItem> expiry_ ABSL_GUARDED_BY(file_mu_);
  // Bans in memory whose append failed, written by the next rewrite.
  std::vector<BanEntry> unwritten_ ABSL_GUARDED_BY(file_mu_);
  size_t physical_lines_ ABSL_GUARDED_BY(file_mu_) = 0;
  // Lines a rewrite keeps besides the blocks in force.
  size_t kept_lines_ ABSL_GUARDED_BY(file_mu_) = 0;
  size_t displaced_ ABSL_GUARDED_BY(file_mu_) = 0;
  // Shared for lookups, exclusive for a swap or one insert or erase.
  mutable SharedMutex mu_;
  std::unique_ptr<Table> bans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_BAN_LIST_H_
