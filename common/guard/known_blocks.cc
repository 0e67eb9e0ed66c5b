#include "common/guard/known_blocks.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base/durable_file.h"

namespace muwarden::guard {
namespace {

// A known file of max_entries lines of at most ~70 bytes.
constexpr size_t kMaxKnownFileBytes = 64 << 20;
constexpr absl::string_view kTimeFormat = "%Y-%m-%dT%H:%M:%SZ";

IpAddress AddressOf(const IpKey& key) {
  IpAddress ip;
  ip.family = key.family;
  const int n = key.family == IpFamily::kV4 ? 4 : 8;
  for (int i = 0; i < n; ++i) {
    ip.bytes[static_cast<size_t>(i)] =
        static_cast<uint8_t>(key.bits >> (8 * (n - 1 - i)));
  }
  return ip;
}

}  // namespace

std::string KnownBlockText(const IpKey& key) {
  return ClientBlock(AddressOf(key)).ToString();
}

absl::StatusOr<IpKey> ParseKnownBlock(absl::string_view text) {
  absl::StatusOr<Cidr> block = ParseCidr(text);
  if (!block.ok()) return block.status();
  return KeyOf(block->address);
}

KnownBlocks::KnownBlocks(const KnownBlocksConfig& config, Clock& clock)
    : config_(config), clock_(clock) {}

absl::StatusOr<KnownLoadResult> KnownBlocks::Load() {
  KnownLoadResult result;
  MutexLock lock(&mu_);
  visits_.clear();
  by_visit_.clear();
  dirty_ = false;
  if (config_.path.empty()) return result;
  absl::StatusOr<std::string> text =
      ReadWholeFile(config_.path, kMaxKnownFileBytes);
  if (absl::IsNotFound(text.status())) return result;
  if (!text.ok()) return text.status();
  const absl::Time wall_now = clock_.WallNow();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    absl::StatusOr<Cidr> block =
        parts.size() == 2 ? ParseCidr(parts[0]) : absl::InvalidArgumentError("");
    absl::Time visit;
    std::string error;
    if (!block.ok() ||
        !absl::ParseTime(kTimeFormat, parts[1], &visit, &error)) {
      ++result.bad_lines;
      continue;
    }
    if (wall_now - visit >= keep()) {
      ++result.expired;
      dirty_ = true;
      continue;
    }
    PutLocked(KeyOf(block->address), visit);
  }
  result.entries = visits_.size();
  return result;
}

void KnownBlocks::PutLocked(const IpKey& key, absl::Time visit) {
  auto [it, inserted] = visits_.try_emplace(key, visit);
  if (!inserted) {
    if (it->second >= visit) return;
    by_visit_.erase(Order{it->second, key.family, key.bits});
    it->second = visit;
  } else if (visits_.size() > config_.max_entries) {
    // Full: the oldest visit makes room (it is never the one just added,
    // unless that one is older than all, and then it goes).
    auto oldest = by_visit_.begin();
    if (oldest != by_visit_.end() && std::get<0>(*oldest) <= visit) {
      visits_.erase(IpKey{std::get<1>(*oldest), std::get<2>(*oldest)});
      by_visit_.erase(oldest);
    } else {
      visits_.erase(it);
      return;
    }
  }
  by_visit_.insert(Order{visit, key.family, key.bits});
  dirty_ = true;
}

void KnownBlocks::Record(const IpAddress& ip) {
  const IpKey key = KeyOf(ip);
  const absl::Time now = clock_.WallNow();
  Observer observer;
  {
    MutexLock lock(&mu_);
    PutLocked(key, now);
    if (observer_) {
      auto [it, inserted] = shared_.try_emplace(key, now);
      if (inserted || now - it->second >= config_.share_interval) {
        it->second = now;
        observer = observer_;
      }
      // Bounded like the table: forgetting when a block was shared only
      // means it is shared once more.
      if (shared_.size() > config_.max_entries) shared_.clear();
    }
  }
  if (observer) observer(key, now);
}

void KnownBlocks::Merge(const IpKey& key, absl::Time visit) {
  MutexLock lock(&mu_);
  if (clock_.WallNow() - visit >= keep()) return;
  PutLocked(key, visit);
  // Already in the database: no need to share it again soon.
  auto [it, inserted] = shared_.try_emplace(key, visit);
  if (!inserted) it->second = std::max(it->second, visit);
  if (shared_.size() > config_.max_entries) shared_.clear();
}

void KnownBlocks::SetObserver(Observer observer) {
  MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

bool KnownBlocks::IsKnown(const IpAddress& ip) const {
  MutexLock lock(&mu_);
  auto it = visits_.find(KeyOf(ip));
  return it != visits_.end() &&
         clock_.WallNow() - it->second < keep();
}

void KnownBlocks::DropExpiredLocked(absl::Time wall_now) {
  while (!by_visit_.empty() &&
         wall_now - std::get<0>(*by_visit_.begin()) >= keep()) {
    const Order& oldest = *by_visit_.begin();
    visits_.erase(IpKey{std::get<1>(oldest), std::get<2>(oldest)});
    by_visit_.erase(by_visit_.begin());
    dirty_ = true;
  }
}

std::string KnownBlocks::FormatLocked() const {
  std::string out =
      "# Client blocks known from good visits: <block> <last visit, UTC>.\n";
  for (const Order& o : by_visit_) {
    absl::StrAppend(&out, KnownBlockText(IpKey{std::get<1>(o), std::get<2>(o)}),
                    " ",
                    absl::FormatTime(kTimeFormat, std::get<0>(o),
                                     absl::UTCTimeZone()),
                    "\n");
  }
  return out;
}

absl::Status KnownBlocks::WriteLocked() {
  DropExpiredLocked(clock_.WallNow());
  last_save_ = clock_.Now();
  if (!dirty_) return absl::OkStatus();
  dirty_ = false;
  if (config_.path.empty()) return absl::OkStatus();
  absl::Status status = WriteFileAtomically(config_.path, FormatLocked());
  if (!status.ok()) dirty_ = true;
  return status;
}

absl::Status KnownBlocks::SaveIfDue() {
  MutexLock lock(&mu_);
  if (clock_.Now() - last_save_ < config_.save_interval) {
    return absl::OkStatus();
  }
  return WriteLocked();
}

absl::Status KnownBlocks::Save() {
  MutexLock lock(&mu_);
  return WriteLocked();
}

size_t KnownBlocks::size() const {
  MutexLock lock(&mu_);
  return visits_.size();
}

void KnownBlocksConfig::Describe(config::Schema& s) {
  s.String("security", "known_file", &file,
           "client blocks known from earlier good visits (one block and its "
           "last visit per line); a relative name is beside the ban file; "
           "empty, or no ban file, = kept in memory only",
           [](absl::string_view v) { return config::CheckPrintable(v, 4096); });
  s.Integer("security", "known_days", &keep_days, 1, 3650,
            "how long a client block stays known after its last good visit");
}

}  // namespace muwarden::guard
