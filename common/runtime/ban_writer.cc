#include "common/runtime/ban_writer.h"

#include <pthread.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {
namespace {

// How often the ban writer rewrites the ban file to drop expired entries.
constexpr absl::Duration kBanCompactionInterval = absl::Hours(1);

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
    for (const PendingBan& ban : batch) Write(ban);
    Compact(next_compaction);
  }
}

void BanWriter::Write(const PendingBan& ban) {
  std::optional<absl::Time> until;
  if (ban.duration > absl::ZeroDuration() &&
      ban.duration != absl::InfiniteDuration()) {
    until = clock_.WallNow() + ban.duration;
  }
  absl::Status status = bans_.Add(ban.cidr, until, ban.reason);
  const std::string block = ban.cidr.ToString();
  {
    MutexLock lock(&mu_);
    pending_blocks_.erase(block);
  }
  if (absl::IsResourceExhausted(status)) {
    LogError("bans", absl::StrCat("not banning ", ban.ip.ToString(), ": ",
                                  status.message()));
    return;
  }
  if (!status.ok()) {
    LogError("bans", absl::StrCat("autoban of ", block,
                                  " applies in memory but is not durable: ",
                                  status.message()));
  }
  // SPEC: the ban is on disk (fsync'd by Add) before its line is printed.
  std::string details =
      block == ban.ip.ToString() ? "" : absl::StrCat(block, ", ");
  absl::StrAppend(&details,
                  until.has_value()
                      ? absl::StrCat("until ", absl::FormatTime(
                                                   "%Y-%m-%dT%H:%M:%SZ", *until,
                                                   absl::UTCTimeZone()))
                      : std::string("permanent"));
  if (ban.reason == kPrefixAutobanReason) {
    // SPEC 7: the one event that names a CIDR.
    guard::SecurityLog::Get().LogCidr(
        guard::SecurityEvent::kPrefixAutoban, ban.cidr,
        absl::StrCat(ban.ip.ToString(), ", ", details.substr(block.size() + 2)));
    return;
  }
  guard::LogSecurity(guard::SecurityEvent::kAutoban, ban.ip, details);
}

void BanWriter::Compact(absl::Time& next_compaction) {
  // Re-bans of the same blocks append lines; expired entries linger until a
  // rewrite. Keep the file proportional to the bans in force so it never
  // outgrows what a load accepts.
  const absl::Time now = clock_.Now();
  if (!config_.ban_file.empty() &&
      (bans_.file_lines() > 2 * bans_.size() + 1024 ||
       now >= next_compaction)) {
    next_compaction = now + kBanCompactionInterval;
    absl::Status status = bans_.Rewrite();
    if (!status.ok()) {
      LogWarn("bans", absl::StrCat("could not rewrite ", config_.ban_file, ": ",
                                   status.message()));
    }
  }
}

}  // namespace muwarden::runtime
