#include "common/runtime/ban_writer.h"

#include <pthread.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {
namespace {

// How often the ban writer rewrites the ban file to drop expired entries.
constexpr absl::Duration kBanCompactionInterval = absl::Hours(1);
// Size-triggered rewrites are at least this far apart.
constexpr absl::Duration kMinCompactionSpacing = absl::Seconds(10);
// Bans written with one fsync.
constexpr size_t kMaxBatch = 4096;
// Expired bans dropped from memory per wake-up (each under its own lock).
constexpr size_t kExpiryBudget = 65536;

}  // namespace

BanWriter::BanWriter(BanWriterConfig config, guard::BanList& bans, Clock& clock)
    : config_(std::move(config)), bans_(bans), clock_(clock) {}

BanWriter::~BanWriter() { Stop(); }

void BanWriter::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-bans");
    Loop();
  });
}

void BanWriter::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

bool BanWriter::Queue(PendingBan ban) {
  MutexLock lock(&mu_);
  // Bounded like every per-IP table; past the cap the IP stays refused by the
  // rate limit (its refusals keep counting) and is banned once the writer has
  // caught up. After Stop() nothing would write it.
  if (stop_ || pending_.size() >= config_.max_pending) return false;
  if (!pending_blocks_.insert(ban.cidr.ToString()).second) return false;
  pending_.push_back(std::move(ban));
  cv_.Signal();
  return true;
}

void BanWriter::Loop() {
  absl::Time next_compaction = clock_.Now() + kBanCompactionInterval;
  absl::Time earliest_compaction = absl::InfinitePast();
  while (true) {
    std::deque<PendingBan> batch;
    {
      MutexLock lock(&mu_);
      if (!stop_ && pending_.empty()) {
        cv_.WaitWithTimeout(&mu_, absl::Seconds(1),
                            [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                              return stop_ || !pending_.empty();
                            });
      }
      if (pending_.empty() && stop_) return;
      batch.swap(pending_);
    }
    // This thread wakes at least once a second: it prints the log summaries
    // whose minute is over, so the accept thread never has to.
    guard::SecurityLog::Get().FlushSummaries();
    while (!batch.empty()) {
      // One append and one fsync for many bans: a flood of new addresses
      // costs one disk flush per batch, not one per address.
      const size_t n = std::min(batch.size(), kMaxBatch);
      Write(batch.begin(), batch.begin() + static_cast<ptrdiff_t>(n));
      batch.erase(batch.begin(), batch.begin() + static_cast<ptrdiff_t>(n));
    }
    bans_.DropExpired(kExpiryBudget);
    Compact(next_compaction, earliest_compaction);
  }
}

void BanWriter::Write(std::deque<PendingBan>::const_iterator begin,
                      std::deque<PendingBan>::const_iterator end) {
  std::vector<guard::BanEntry> entries;
  for (auto it = begin; it != end; ++it) {
    std::optional<absl::Time> until;
    if (it->duration > absl::ZeroDuration() &&
        it->duration != absl::InfiniteDuration()) {
      until = clock_.WallNow() + it->duration;
    }
    entries.push_back(guard::BanEntry{it->cidr, until, it->reason});
  }
  const std::vector<absl::Status> statuses = bans_.AddMany(entries);
  {
    MutexLock lock(&mu_);
    for (auto it = begin; it != end; ++it) {
      pending_blocks_.erase(it->cidr.ToString());
    }
  }
  size_t i = 0;
  for (auto it = begin; it != end; ++it, ++i) {
    const PendingBan& ban = *it;
    const absl::Status& status = statuses[i];
    const std::optional<absl::Time> until =
        guard::NormaliseBanUntil(entries[i].until);
    const std::string block = ban.cidr.ToString();
    if (absl::IsResourceExhausted(status)) {
      LogError("bans", absl::StrCat("not banning ", ban.ip.ToString(), ": ",
                                    status.message()));
      continue;
    }
    if (!status.ok()) {
      LogError("bans", absl::StrCat("autoban of ", block,
                                    " applies in memory but is not durable: ",
                                    status.message()));
    }
    // SPEC: the ban is on disk (fsync'd by AddMany) before its line is
    // printed.
    std::string details =
        block == ban.ip.ToString() ? "" : absl::StrCat(block, ", ");
    absl::StrAppend(
        &details,
        until.has_value()
            ? absl::StrCat("until ",
                           absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until,
                                            absl::UTCTimeZone()))
            : std::string("permanent"));
    if (ban.reason == kPrefixAutobanReason) {
      // SPEC 7: the one event that names a CIDR.
      guard::SecurityLog::Get().LogCidr(
          guard::SecurityEvent::kPrefixAutoban, ban.cidr,
          absl::StrCat(ban.ip.ToString(), ", ",
                       details.substr(block.size() + 2)));
      continue;
    }
    guard::LogSecurity(guard::SecurityEvent::kAutoban, ban.ip, details);
  }
}

void BanWriter::Compact(absl::Time& next_compaction,
                        absl::Time& earliest_compaction) {
  // Re-bans of the same blocks append lines; expired entries linger until a
  // rewrite. Keep the file proportional to the bans in force so it never
  // outgrows what a load accepts; but never rewrite back to back (a file that
  // cannot be written, or one that stays long for a reason a rewrite cannot
  // fix).
  const absl::Time now = clock_.Now();
  if (config_.ban_file.empty()) return;
  const bool outgrown =
      bans_.file_lines() > 2 * bans_.compact_lines() + 1024 &&
      now >= earliest_compaction;
  if (!outgrown && now < next_compaction) return;
  next_compaction = now + kBanCompactionInterval;
  earliest_compaction = now + kMinCompactionSpacing;
  absl::Status status = bans_.Rewrite();
  if (!status.ok()) {
    LogWarn("bans", absl::StrCat("could not rewrite ", config_.ban_file, ": ",
                                 status.message()));
  }
}

}  // namespace muwarden::runtime
