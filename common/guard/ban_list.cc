#include "common/guard/ban_list.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/durable_file.h"

namespace muwarden::guard {
namespace {

constexpr size_t kMaxWarningText = 200;
// Bans whose append failed, kept for the next rewrite; past it the oldest are
// given up (they still apply until the next load).
constexpr size_t kMaxUnwritten = 65536;

using BanInfo = BanList::BanInfo;
using ExpiryItem = BanList::ExpiryItem;
using Map = BanList::Map;
using Table = BanList::Table;
constexpr int64_t kPermanent = BanList::kPermanent;

bool Expired(const std::optional<absl::Time>& until, absl::Time wall_now) {
  return until.has_value() && *until <= wall_now;
}
bool Expired(int64_t until, absl::Time wall_now) {
  return until != kPermanent && absl::FromUnixSeconds(until) <= wall_now;
}

// Rounded up, so storing a ban never shortens it.
int64_t UntilSeconds(const std::optional<absl::Time>& until) {
  if (!until.has_value() || *until == absl::InfiniteFuture()) {
    return kPermanent;
  }
  int64_t secs = absl::ToUnixSeconds(*until);
  if (absl::FromUnixSeconds(secs) < *until) ++secs;
  return secs == kPermanent ? kPermanent - 1 : secs;
}
std::optional<absl::Time> UntilTime(int64_t until) {
  if (until == kPermanent) return std::nullopt;
  return absl::FromUnixSeconds(until);
}

// Min-heap order: the soonest until on top.
bool EndsLater(const ExpiryItem& a, const ExpiryItem& b) {
  return a.until > b.until;
}

void PushExpiry(std::vector<ExpiryItem>& heap, int64_t until,
                const Cidr& cidr) {
  heap.push_back(ExpiryItem{until, cidr});
  std::push_heap(heap.begin(), heap.end(), EndsLater);
}

ExpiryItem PopExpiry(std::vector<ExpiryItem>& heap) {
  std::pop_heap(heap.begin(), heap.end(), EndsLater);
  ExpiryItem top = heap.back();
  heap.pop_back();
  return top;
}

// An item is live while its block's entry still ends when the item says.
bool Live(const Map& map, const ExpiryItem& item) {
  const BanInfo* info = map.FindExact(item.cidr);
  return info != nullptr && info->until == item.until;
}

// Makes room in a full list for a ban ending at `until`: drops the entry that
// ends soonest when it has ended or ends sooner than `until`. O(log n) per
// heap item looked at; stale items are popped on the way. `live` and `erase`
// reach the map (under whatever lock it needs). True when an entry went;
// *was_expired says whether it had ended anyway.
template <typename LiveFn, typename EraseFn>
bool MakeRoom(std::vector<ExpiryItem>& heap, int64_t until,
              absl::Time wall_now, LiveFn live, EraseFn erase,
              bool* was_expired) {
  while (!heap.empty()) {
    const ExpiryItem& top = heap.front();
    if (!live(top)) {
      PopExpiry(heap);
      continue;
    }
    const bool expired = Expired(top.until, wall_now);
    if (!expired && until != kPermanent && top.until >= until) return false;
    const ExpiryItem gone = PopExpiry(heap);
    erase(gone.cidr);
    *was_expired = expired;
    return true;
  }
  return false;
}

void Merge(BanInfo& into, int64_t until, const std::string& reason,
           BanList::Reasons& reasons) {
  if (until > into.until) into.until = until;  // kPermanent is the largest
  if (!reason.empty()) into.reason = reasons.Intern(reason);
}

// The next line of `rest` (without its '\n'); rest moves past it.
absl::string_view NextLine(absl::string_view& rest) {
  const size_t nl = rest.find('\n');
  absl::string_view line = rest.substr(0, nl);
  rest = nl == absl::string_view::npos ? absl::string_view()
                                       : rest.substr(nl + 1);
  return line;
}

// flock(2) on `<ban_file>.lock`. The ban file itself cannot carry the lock:
// a rewrite renames a new file over it, and a process waiting on the old
// inode would then append to a file that is gone. A lock file that cannot be
// opened (a read-only folder) leaves the caller unlocked rather than without
// bans; whatever it then writes fails on its own.
class FileLock {
 public:
  FileLock(const std::string& path, int operation) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    while (::flock(fd_, operation) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

// A file parsed into the list it stands for, built outside every lock.
struct BanList::Parsed {
  std::unique_ptr<Table> table = std::make_unique<Table>();
  std::vector<ExpiryItem> expiry;
  BanLoadResult result;
  size_t lines = 0;  // lines in the text
  size_t kept = 0;   // lines a rewrite keeps as they are
  bool removed = false;
};

BanList::Reasons::Reasons() {
  texts_.emplace_back();
  ids_.emplace(texts_.back(), 0);
}

uint32_t BanList::Reasons::Intern(absl::string_view text) {
  if (auto it = ids_.find(text); it != ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(texts_.size());
  texts_.emplace_back(text);
  ids_.emplace(texts_.back(), id);
  return id;
}

BanList::BanList(const BanListConfig& config, Clock& clock)
    : config_(config), clock_(clock), bans_(std::make_unique<Table>()) {}

BanList::~BanList() = default;

absl::StatusOr<std::string> BanList::ReadFileLocked() {
  absl::StatusOr<std::string> read =
      ReadWholeFile(config_.path, kMaxBanFileBytes);
  if (absl::IsResourceExhausted(read.status())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "ban file larger than ", kMaxBanFileBytes, " bytes: ", config_.path));
  }
  // A missing file is an empty list.
  if (absl::IsNotFound(read.status())) return std::string();
  return read;
}

BanList::Parsed BanList::Parse(absl::string_view data,
                               const Cidr* remove) const {
  const absl::Time wall_now = clock_.WallNow();
  Parsed p;
  Map& map = p.table->map;
  Reasons& reasons = p.table->reasons;
  auto add = [&](const BanEntry& entry) {
    const int64_t until = UntilSeconds(entry.until);
    if (BanInfo* info = map.FindExact(entry.cidr); info != nullptr) {
      const int64_t before = info->until;
      Merge(*info, until, entry.reason, reasons);
      if (info->until != kPermanent && info->until != before) {
        PushExpiry(p.expiry, info->until, entry.cidr);
      }
      return true;
    }
    if (map.size() >= config_.max_entries) {
      bool was_expired = false;
      if (!MakeRoom(
              p.expiry, until, wall_now,
              [&](const ExpiryItem& item) { return Live(map, item); },
              [&](const Cidr& c) { map.Erase(c); }, &was_expired)) {
        ++p.result.over_cap;
        return false;
      }
      ++p.result.over_cap;
    }
    BanInfo* fresh = map.Insert(entry.cidr).first;
    fresh->until = until;
    fresh->reason = reasons.Intern(entry.reason);
    if (until != kPermanent) PushExpiry(p.expiry, until, entry.cidr);
    return true;
  };
  absl::string_view rest = data;
  int line_number = 0;
  while (!rest.empty()) {
    ++line_number;
    absl::string_view line = NextLine(rest);
    absl::StatusOr<std::optional<BanEntry>> parsed = ParseBanLine(line);
    if (!parsed.ok()) {
      ++p.kept;
      if (p.result.warnings.size() < kMaxBanFileWarnings) {
        p.result.warnings.push_back(
            BanFileWarning{line_number,
                           std::string(line.substr(0, kMaxWarningText)),
                           std::string(parsed.status().message())});
      } else {
        ++p.result.more_warnings;
      }
      continue;
    }
    if (!parsed->has_value()) {
      ++p.kept;
      continue;
    }
    const BanEntry& entry = **parsed;
    if (remove != nullptr && entry.cidr == *remove) {
      p.removed = true;
      continue;
    }
    if (Expired(entry.until, wall_now)) {
      ++p.result.expired;
      continue;
    }
    // A permanent line over the cap is kept in the file as it is.
    if (!add(entry) && !entry.until.has_value()) ++p.kept;
  }
  p.lines = static_cast<size_t>(line_number);
  // Ours, not yet in the file: an operator cannot have deleted them.
  for (const BanEntry& entry : unwritten_) {
    if (!Expired(entry.until, wall_now)) add(entry);
  }
  p.result.entries = map.size();
  if (p.expiry.size() > 2 * map.size() + 1024) {
    std::vector<ExpiryItem> live;
    for (const ExpiryItem& item : p.expiry) {
      if (Live(map, item)) live.push_back(item);
    }
    std::make_heap(live.begin(), live.end(), EndsLater);
    p.expiry = std::move(live);
  }
  return p;
}

void BanList::Install(Parsed& parsed) {
  {
    // A pointer swap: the old map is freed after the lock is released, so a
    // reload never holds up the accept thread's lookups.
    WriterMutexLock lock(&mu_);
    bans_.swap(parsed.table);
  }
  expiry_.swap(parsed.expiry);
  physical_lines_ = parsed.lines;
  kept_lines_ = parsed.kept;
}

absl::StatusOr<BanLoadResult> BanList::Load() {
  if (config_.path.empty()) return BanLoadResult{};
  MutexLock file_lock(&file_mu_);
  absl::StatusOr<std::string> data;
  {
    // Shared: appends and rewrites by other processes finish first, so no
    // half-written line is read.
    FileLock lock(lock_path(), LOCK_SH);
    data = ReadFileLocked();
  }
  if (!data.ok()) return data.status();
  Parsed parsed = Parse(*data, nullptr);
  data->clear();
  data->shrink_to_fit();
  Install(parsed);
  return std::move(parsed.result);
}

BanCheck BanList::Check(const IpAddress& ip, absl::Time wall_now) const {
  BanCheck check;
  ReaderMutexLock lock(&mu_);
  if (bans_->map.empty()) return check;
  int len = 0;
  const BanInfo* info = bans_->map.FindMatch(
      ip, [&](const BanInfo& b) { return !Expired(b.until, wall_now); }, &len);
  if (info == nullptr) return check;
  check.banned = true;
  check.matched.address = Masked(ip, len);
  check.matched.prefix_len = len;
  check.until = UntilTime(info->until);
  check.reason = bans_->reasons.Text(info->reason);
  return check;
}

BanCheck BanList::Check(const IpAddress& ip) const {
  return Check(ip, clock_.WallNow());
}

bool BanList::ApplyLocked(const BanEntry& entry) {
  const absl::Time wall_now = clock_.WallNow();
  const int64_t until = UntilSeconds(entry.until);
  bool exists = false;
  int64_t before = kPermanent;
  size_t size = 0;
  {
    ReaderMutexLock lock(&mu_);
    if (const BanInfo* info = std::as_const(bans_->map).FindExact(entry.cidr);
        info != nullptr) {
      exists = true;
      before = info->until;
    }
    size = bans_->map.size();
  }
  if (!exists && size >= config_.max_entries) {
    bool was_expired = false;
    const bool room = MakeRoom(
        expiry_, until, wall_now,
        [&](const ExpiryItem& item) {
          ReaderMutexLock lock(&mu_);
          return Live(bans_->map, item);
        },
        [&](const Cidr& c) {
          WriterMutexLock lock(&mu_);
          bans_->map.Erase(c);
        },
        &was_expired);
    if (!room) return false;
    if (!was_expired) ++displaced_;
  }
  int64_t after = kPermanent;
  {
    // One insert (and at most one new reason text).
    WriterMutexLock lock(&mu_);
    auto [info, inserted] = bans_->map.Insert(entry.cidr);
    if (inserted || Expired(info->until, wall_now)) {
      info->until = until;
      info->reason = bans_->reasons.Intern(entry.reason);
    } else {
      Merge(*info, until, entry.reason, bans_->reasons);
    }
    after = info->until;
  }
  if (after != kPermanent && (!exists || after != before)) {
    PushExpiry(expiry_, after, entry.cidr);
  }
  CompactHeapLocked();
  return true;
}

void BanList::CompactHeapLocked() {
  // Re-bans that extend a ban leave stale items behind; keep the heap
  // proportional to the list.
  size_t size = 0;
  {
    ReaderMutexLock lock(&mu_);
    size = bans_->map.size();
  }
  if (expiry_.size() <= 2 * size + 1024) return;
  std::vector<ExpiryItem> live;
  {
    // Shared and long, but it blocks no lookup: only file_mu_'s holder (this
    // thread) ever takes mu_ exclusively.
    ReaderMutexLock lock(&mu_);
    for (const ExpiryItem& item : expiry_) {
      if (Live(bans_->map, item)) live.push_back(item);
    }
  }
  std::make_heap(live.begin(), live.end(), EndsLater);
  expiry_ = std::move(live);
}

absl::Status BanList::Add(const Cidr& cidr, std::optional<absl::Time> until,
                          absl::string_view reason) {
  return AddMany({BanEntry{cidr, until, std::string(reason)}}).front();
}

void BanList::SetObserver(Observer observer) {
  MutexLock lock(&observer_mu_);
  observer_ = std::move(observer);
}

std::vector<absl::Status> BanList::AddMany(
    const std::vector<BanEntry>& entries, bool publish) {
  std::vector<BanEntry> accepted;
  std::vector<absl::Status> statuses;
  {
    MutexLock file_lock(&file_mu_);
    statuses = AddManyLocked(entries, accepted);
  }
  if (publish && !accepted.empty()) {
    Observer observer;
    {
      MutexLock lock(&observer_mu_);
      observer = observer_;
    }
    if (observer) observer(accepted);
  }
  return statuses;
}

std::vector<absl::Status> BanList::AddManyLocked(
    const std::vector<BanEntry>& entries, std::vector<BanEntry>& kept) {
  std::vector<absl::Status> statuses(entries.size());
  std::vector<BanEntry> accepted;
  std::string lines;
  for (size_t i = 0; i < entries.size(); ++i) {
    BanEntry entry{entries[i].cidr, NormaliseBanUntil(entries[i].until),
                   SanitiseBanReason(entries[i].reason)};
    // In force before it is durable: the caller logs only after this returns.
    if (!ApplyLocked(entry)) {
      statuses[i] = absl::ResourceExhaustedError(
          absl::StrCat("ban list full (max_entries ", config_.max_entries,
                       ", none ending sooner)"));
      continue;
    }
    if (!lines.empty()) lines.push_back('\n');
    absl::StrAppend(&lines, FormatBanLine(entry));
    accepted.push_back(std::move(entry));
  }
  kept = accepted;
  if (config_.path.empty() || accepted.empty()) return statuses;
  absl::Status status;
  {
    FileLock lock(lock_path(), LOCK_EX);
    status = AppendLineDurably(config_.path, lines);
  }
  if (status.ok()) {
    physical_lines_ += accepted.size();
    return statuses;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (statuses[i].ok()) statuses[i] = status;
  }
  for (BanEntry& entry : accepted) unwritten_.push_back(std::move(entry));
  if (unwritten_.size() > kMaxUnwritten) {
    unwritten_.erase(unwritten_.begin(),
                     unwritten_.end() - static_cast<ptrdiff_t>(kMaxUnwritten));
  }
  return statuses;
}

absl::Status BanList::RewriteLocked(const Cidr* remove, bool* found) {
  if (remove != nullptr) {
    ReaderMutexLock lock(&mu_);
    *found = std::as_const(bans_->map).FindExact(*remove) != nullptr;
  }
  if (remove != nullptr) {
    const size_t before = unwritten_.size();
    unwritten_.erase(std::remove_if(unwritten_.begin(), unwritten_.end(),
                                    [&](const BanEntry& e) {
                                      return e.cidr == *remove;
                                    }),
                     unwritten_.end());
    if (unwritten_.size() != before) *found = true;
  }
  FileLock lock(lock_path(), LOCK_EX);
  absl::StatusOr<std::string> data = ReadFileLocked();
  if (!data.ok()) return data.status();
  Parsed parsed = Parse(*data, remove);
  if (parsed.removed) *found = true;
  // The file again, line by line, as the parsed list says: each block in
  // force once, where it first appears, in canonical form.
  const absl::Time wall_now = clock_.WallNow();
  Map& map = parsed.table->map;
  const Reasons& reasons = parsed.table->reasons;
  std::string text;
  text.reserve(data->size());
  size_t written_lines = 0;
  auto emit = [&](absl::string_view line) {
    absl::StrAppend(&text, line, "\n");
    ++written_lines;
  };
  auto emit_entry = [&](const Cidr& cidr, BanInfo& info) {
    if (info.written) return;
    info.written = true;
    emit(FormatBanLine(
        BanEntry{cidr, UntilTime(info.until), reasons.Text(info.reason)}));
  };
  absl::string_view rest = *data;
  while (!rest.empty()) {
    absl::string_view line = NextLine(rest);
    absl::StatusOr<std::optional<BanEntry>> entry = ParseBanLine(line);
    if (!entry.ok() || !entry->has_value()) {
      emit(line);  // comments, blank lines, and bad lines for the operator
      continue;
    }
    const BanEntry& e = **entry;
    if (remove != nullptr && e.cidr == *remove) continue;
    if (Expired(e.until, wall_now)) continue;
    if (BanInfo* info = map.FindExact(e.cidr); info != nullptr) {
      emit_entry(e.cidr, *info);
    } else if (!e.until.has_value()) {
      emit(line);  // permanent, over the cap: never dropped
    }
    // A temporary ban over the cap ends sooner than every ban in force.
  }
  for (const BanEntry& e : unwritten_) {
    if (BanInfo* info = map.FindExact(e.cidr); info != nullptr) {
      emit_entry(e.cidr, *info);
    }
  }
  const size_t read_lines = parsed.lines;
  data->clear();
  data->shrink_to_fit();
  bool replaced = false;
  absl::Status status = absl::OkStatus();
  if (!text.empty() || ::access(config_.path.c_str(), F_OK) == 0) {
    status = WriteFileAtomically(config_.path, text, &replaced);
  }
  if (replaced || text.empty()) {
    unwritten_.clear();
    parsed.lines = written_lines;
  } else {
    parsed.lines = read_lines;
  }
  Install(parsed);
  return status;
}

absl::Status BanList::Rewrite() {
  MutexLock file_lock(&file_mu_);
  if (config_.path.empty()) {
    DropExpiredLocked(expiry_.size());
    return absl::OkStatus();
  }
  bool found = false;
  return RewriteLocked(nullptr, &found);
}

void BanList::SetUnbanObserver(UnbanObserver observer) {
  MutexLock lock(&observer_mu_);
  unban_observer_ = std::move(observer);
}

absl::Status BanList::Remove(const Cidr& cidr, bool publish) {
  bool found = false;
  absl::Status status;
  {
    MutexLock file_lock(&file_mu_);
    if (config_.path.empty()) {
      WriterMutexLock lock(&mu_);
      found = bans_->map.Erase(cidr);
    } else {
      status = RewriteLocked(&cidr, &found);
      if (!status.ok()) {
        // The file still has it; it stops applying now all the same.
        WriterMutexLock lock(&mu_);
        found = bans_->map.Erase(cidr) || found;
      }
    }
  }
  if (publish && found) {
    UnbanObserver observer;
    {
      MutexLock lock(&observer_mu_);
      observer = unban_observer_;
    }
    if (observer) observer(cidr);
  }
  if (!status.ok()) return status;
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("no ban for ", cidr.ToString(), " (only an exact block "
                     "is removed; a ban covering it stays)"));
  }
  return absl::OkStatus();
}

size_t BanList::DropExpired(size_t budget) {
  MutexLock file_lock(&file_mu_);
  return DropExpiredLocked(budget);
}

size_t BanList::DropExpiredLocked(size_t budget) {
  const absl::Time wall_now = clock_.WallNow();
  size_t dropped = 0;
  size_t looked = 0;
  while (looked < budget && !expiry_.empty() &&
         Expired(expiry_.front().until, wall_now)) {
    ++looked;
    const ExpiryItem gone = PopExpiry(expiry_);
    WriterMutexLock lock(&mu_);
    if (Live(bans_->map, gone)) {
      bans_->map.Erase(gone.cidr);
      ++dropped;
    }
  }
  return dropped;
}

size_t BanList::file_lines() const {
  MutexLock lock(&file_mu_);
  return physical_lines_;
}

size_t BanList::compact_lines() const {
  MutexLock lock(&file_mu_);
  ReaderMutexLock map_lock(&mu_);
  return kept_lines_ + bans_->map.size();
}

size_t BanList::size() const {
  ReaderMutexLock lock(&mu_);
  return bans_->map.size();
}

size_t BanList::unwritten() const {
  MutexLock lock(&file_mu_);
  return unwritten_.size();
}

size_t BanList::displaced() const {
  MutexLock lock(&file_mu_);
  return displaced_;
}

void BanListConfig::Describe(config::Schema& s) {
  s.Path("security", "ban_file", &path,
         "persistent ban list (one address or CIDR per line, with until= and "
         "reason=), changed under an advisory lock on <ban_file>.lock; empty "
         "= bans kept in memory only",
         default_name);
}

}  // namespace muwarden::guard
