#include "common/guard/ban_list.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/durable_file.h"

namespace muwarden::guard {
namespace {

constexpr size_t kMaxWarningText = 200;

bool Expired(const std::optional<absl::Time>& until, absl::Time wall_now) {
  return until.has_value() && *until <= wall_now;
}

}  // namespace

BanList::BanList(const BanListConfig& config, Clock& clock)
    : config_(config), clock_(clock) {}

void BanList::Merge(BanInfo& into, const std::optional<absl::Time>& until,
                    const std::string& reason) {
  if (into.until.has_value()) {
    if (!until.has_value()) {
      into.until.reset();
    } else if (*until > *into.until) {
      into.until = until;
    }
  }
  if (!reason.empty()) into.reason = reason;
}

absl::StatusOr<BanLoadResult> BanList::Load() {
  if (config_.path.empty()) return BanLoadResult{};
  MutexLock file_lock(&file_mu_);
  absl::StatusOr<std::string> read =
      ReadWholeFile(config_.path, kMaxBanFileBytes);
  if (absl::IsResourceExhausted(read.status())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "ban file larger than ", kMaxBanFileBytes, " bytes: ", config_.path));
  }
  // A missing file is an empty list.
  if (!read.ok() && !absl::IsNotFound(read.status())) return read.status();
  const std::string data = read.ok() ? *std::move(read) : std::string();
  const absl::Time wall_now = clock_.WallNow();
  BanLoadResult result;
  CidrMap<BanInfo> bans;
  std::vector<FileLine> lines;
  absl::flat_hash_set<Cidr> listed;
  int line_number = 0;
  absl::string_view rest = data;
  while (!rest.empty()) {
    ++line_number;
    const size_t nl = rest.find('\n');
    absl::string_view line = rest.substr(0, nl);
    rest = nl == absl::string_view::npos ? absl::string_view()
                                         : rest.substr(nl + 1);
    auto warn = [&](absl::string_view why) {
      result.warnings.push_back(BanFileWarning{
          line_number, std::string(line.substr(0, kMaxWarningText)),
          std::string(why)});
    };
    absl::StatusOr<std::optional<BanEntry>> parsed = ParseBanLine(line);
    if (!parsed.ok()) {
      warn(parsed.status().message());
      lines.push_back(FileLine{std::string(line), std::nullopt});
      continue;
    }
    if (!parsed->has_value()) {
      lines.push_back(FileLine{std::string(line), std::nullopt});
      continue;
    }
    BanEntry& entry = **parsed;
    if (Expired(entry.until, wall_now)) {
      ++result.expired;
    } else if (BanInfo* info = bans.FindExact(entry.cidr); info != nullptr) {
      Merge(*info, entry.until, entry.reason);
    } else if (bans.size() >= config_.max_entries) {
      warn(absl::StrCat("ban list full (max_entries ", config_.max_entries,
                        ")"));
      // Kept as text so Rewrite does not lose it.
      lines.push_back(FileLine{std::string(line), std::nullopt});
      continue;
    } else {
      BanInfo* fresh = bans.Insert(entry.cidr).first;
      fresh->until = entry.until;
      fresh->reason = std::move(entry.reason);
    }
    // Expired lines keep their slot so Rewrite knows to drop them.
    if (listed.insert(entry.cidr).second) {
      lines.push_back(FileLine{std::string(), entry.cidr});
    }
  }
  result.entries = bans.size();
  lines_ = std::move(lines);
  physical_lines_ = static_cast<size_t>(line_number);
  {
    // Swap only: the old map (up to max_entries) is freed after the lock is
    // released, so a reload never holds up the accept thread's lookups for
    // longer than a pointer swap.
    WriterMutexLock lock(&mu_);
    std::swap(bans_, bans);
  }
  return result;
}

BanCheck BanList::Check(const IpAddress& ip, absl::Time wall_now) const {
  BanCheck check;
  ReaderMutexLock lock(&mu_);
  if (bans_.empty()) return check;
  int len = 0;
  const BanInfo* info = bans_.FindMatch(
      ip, [&](const BanInfo& b) { return !Expired(b.until, wall_now); }, &len);
  if (info == nullptr) return check;
  check.banned = true;
  check.matched.address = Masked(ip, len);
  check.matched.prefix_len = len;
  check.until = info->until;
  check.reason = info->reason;
  return check;
}

size_t BanList::file_lines() const {
  MutexLock lock(&file_mu_);
  return physical_lines_;
}

BanCheck BanList::Check(const IpAddress& ip) const {
  return Check(ip, clock_.WallNow());
}

absl::Status BanList::Add(const Cidr& cidr, std::optional<absl::Time> until,
                          absl::string_view reason) {
  BanEntry entry;
  entry.cidr = cidr;
  entry.until = NormaliseBanUntil(until);
  entry.reason = SanitiseBanReason(reason);
  MutexLock file_lock(&file_mu_);
  {
    WriterMutexLock lock(&mu_);
    if (bans_.size() >= config_.max_entries &&
        bans_.FindExact(cidr) == nullptr) {
      const absl::Time wall_now = clock_.WallNow();
      bans_.EraseIf(
          [&](const BanInfo& b) { return Expired(b.until, wall_now); });
      if (bans_.size() >= config_.max_entries) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "ban list full (max_entries ", config_.max_entries, ")"));
      }
    }
  }
  absl::Status status;
  bool listed = true;
  if (!config_.path.empty()) {
    status = AppendLineDurably(config_.path, FormatBanLine(entry));
    if (status.ok()) ++physical_lines_;
  }
  {
    WriterMutexLock lock(&mu_);
    auto [info, inserted] = bans_.Insert(cidr);
    if (inserted || Expired(info->until, clock_.WallNow())) {
      info->until = entry.until;
      info->reason = entry.reason;
    } else {
      Merge(*info, entry.until, entry.reason);
    }
    listed = !inserted;
  }
  // A block new to memory may still have a (expired) line; Rewrite writes
  // each block once, so a second FileLine for it is harmless.
  if (!listed && !config_.path.empty()) {
    lines_.push_back(FileLine{std::string(), cidr});
  }
  return status;
}

absl::Status BanList::Rewrite() {
  MutexLock file_lock(&file_mu_);
  const absl::Time wall_now = clock_.WallNow();
  {
    WriterMutexLock lock(&mu_);
    bans_.EraseIf([&](const BanInfo& b) { return Expired(b.until, wall_now); });
  }
  if (config_.path.empty()) return absl::OkStatus();
  std::string text;
  {
    // Formatting a large list takes a while; lookups go on meanwhile, and
    // nothing else changes bans_ while file_mu_ is held.
    ReaderMutexLock lock(&mu_);
    absl::flat_hash_set<Cidr> written;
    std::vector<FileLine> kept;
    auto emit = [&](const Cidr& cidr, const BanInfo& info) {
      absl::StrAppend(
          &text, FormatBanLine(BanEntry{cidr, info.until, info.reason}), "\n");
    };
    for (FileLine& line : lines_) {
      if (!line.cidr.has_value()) {
        absl::StrAppend(&text, line.text, "\n");
        kept.push_back(std::move(line));
        continue;
      }
      const BanInfo* info = std::as_const(bans_).FindExact(*line.cidr);
      if (info == nullptr || !written.insert(*line.cidr).second) continue;
      emit(*line.cidr, *info);
      kept.push_back(std::move(line));
    }
    // Blocks without a line (cannot happen through Add, but be complete).
    bans_.ForEach([&](const Cidr& cidr, const BanInfo& info) {
      if (written.insert(cidr).second) {
        emit(cidr, info);
        kept.push_back(FileLine{std::string(), cidr});
      }
    });
    lines_ = std::move(kept);
  }
  bool replaced = false;
  absl::Status status = WriteFileAtomically(config_.path, text, &replaced);
  if (replaced) physical_lines_ = lines_.size();
  return status;
}

size_t BanList::size() const {
  ReaderMutexLock lock(&mu_);
  return bans_.size();
}

void BanListConfig::Describe(config::Schema& s) {
  s.Path("security", "ban_file", &path,
         "persistent ban list (one address or CIDR per line, with until= and "
         "reason=); empty = bans kept in memory only",
         "bans.txt");
}

}  // namespace muwarden::guard
