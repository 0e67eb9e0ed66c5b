#include "common/guard/ban_list.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace muwarden::guard {
namespace {

constexpr size_t kMaxWarningText = 200;
constexpr absl::string_view kUntil = "until=";
constexpr absl::string_view kReason = "reason=";
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The line without its comment: '#' at the start or after a blank.
absl::string_view StripComment(absl::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || IsBlank(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

absl::string_view NextToken(absl::string_view& rest) {
  size_t end = 0;
  while (end < rest.size() && !IsBlank(rest[end])) ++end;
  absl::string_view token = rest.substr(0, end);
  rest = absl::StripLeadingAsciiWhitespace(rest.substr(end));
  return token;
}

std::optional<absl::Time> NormaliseUntil(std::optional<absl::Time> until) {
  if (!until.has_value() || *until == absl::InfiniteFuture()) {
    return std::nullopt;
  }
  // The file holds whole seconds; round up so a ban is never shortened.
  int64_t secs = absl::ToUnixSeconds(*until);
  if (absl::FromUnixSeconds(secs) < *until) ++secs;
  return absl::FromUnixSeconds(secs);
}

std::string SanitiseReason(absl::string_view reason) {
  std::string out(reason.substr(0, kMaxBanReasonLen));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      c = ' ';
    } else if (c == '#') {
      c = '_';
    }
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

bool Expired(const std::optional<absl::Time>& until, absl::Time wall_now) {
  return until.has_value() && *until <= wall_now;
}

absl::Status ErrnoError(int err, absl::string_view what,
                        absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& path) {
  const std::string dir = DirOf(path);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(err, "cannot fsync directory", dir);
  return absl::OkStatus();
}

// Syncs and closes fd; reports the first failure.
absl::Status SyncAndClose(int fd, const std::string& path) {
  absl::Status status;
  if (::fsync(fd) != 0) status = ErrnoError(errno, "cannot fsync", path);
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoError(errno, "cannot close", path);
  }
  return status;
}

absl::Status AppendLine(const std::string& path, const std::string& line) {
  bool created = false;
  // Read access too: pread checks the last byte.
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
                0644);
    created = fd >= 0;
  }
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    // An operator may have left the last line without a newline.
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      data.push_back('\n');
    }
  }
  absl::StrAppend(&data, line, "\n");
  absl::Status status = WriteAll(fd, data, path);
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  status = SyncAndClose(fd, path);
  if (status.ok() && created) status = FsyncDir(path);
  return status;
}

// The whole file; *missing is set for ENOENT (an empty list).
absl::Status ReadFile(const std::string& path, std::string* out,
                      bool* missing) {
  *missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return absl::OkStatus();
    }
    return ErrnoError(errno, "cannot open", path);
  }
  out->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    if (out->size() + static_cast<size_t>(n) > kMaxBanFileBytes) {
      ::close(fd);
      return absl::ResourceExhaustedError(absl::StrCat(
          "ban file larger than ", kMaxBanFileBytes, " bytes: ", path));
    }
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<BanEntry>> ParseBanLine(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  absl::string_view rest = absl::StripAsciiWhitespace(StripComment(line));
  if (rest.empty()) return std::optional<BanEntry>();
  BanEntry entry;
  absl::string_view target = NextToken(rest);
  absl::StatusOr<Cidr> cidr = ParseCidr(target);
  if (!cidr.ok()) return cidr.status();
  entry.cidr = *cidr;
  bool have_until = false;
  while (!rest.empty()) {
    if (absl::StartsWith(rest, kReason)) {
      entry.reason =
          std::string(absl::StripAsciiWhitespace(rest.substr(kReason.size())));
      break;
    }
    absl::string_view token = NextToken(rest);
    if (!absl::StartsWith(token, kUntil)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected '", token.substr(0, 40),
                       "' (expected until=... or reason=...)"));
    }
    if (have_until) return absl::InvalidArgumentError("until= given twice");
    have_until = true;
    absl::string_view when = token.substr(kUntil.size());
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, when, &t, &err)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad until= time '", when.substr(0, 40),
                       "' (expected like 2026-11-22T01:23:45Z)"));
    }
    entry.until = t;
  }
  return std::optional<BanEntry>(std::move(entry));
}

std::string FormatBanLine(const BanEntry& entry) {
  std::string line = entry.cidr.ToString();
  if (entry.until.has_value()) {
    absl::StrAppend(
        &line, " until=",
        absl::FormatTime(kTimeFormat, *entry.until, absl::UTCTimeZone()));
  }
  if (!entry.reason.empty()) absl::StrAppend(&line, " reason=", entry.reason);
  return line;
}

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
  std::string data;
  bool missing = false;
  if (absl::Status s = ReadFile(config_.path, &data, &missing); !s.ok()) {
    return s;
  }
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
  MutexLock lock(&mu_);
  bans_ = std::move(bans);
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
  entry.until = NormaliseUntil(until);
  entry.reason = SanitiseReason(reason);
  MutexLock file_lock(&file_mu_);
  {
    MutexLock lock(&mu_);
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
    status = AppendLine(config_.path, FormatBanLine(entry));
    if (status.ok()) ++physical_lines_;
  }
  {
    MutexLock lock(&mu_);
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
  std::string text;
  {
    MutexLock lock(&mu_);
    bans_.EraseIf([&](const BanInfo& b) { return Expired(b.until, wall_now); });
    if (config_.path.empty()) return absl::OkStatus();
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
      BanInfo* info = bans_.FindExact(*line.cidr);
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
  const std::string tmp = config_.path + ".tmp";
  mode_t mode = 0644;
  struct stat st;
  if (::stat(config_.path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "cannot create", tmp);
  absl::Status status = WriteAll(fd, text, tmp);
  if (!status.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  }
  if (status = SyncAndClose(fd, tmp); !status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (::rename(tmp.c_str(), config_.path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "cannot rename over", config_.path);
  }
  physical_lines_ = lines_.size();
  return FsyncDir(config_.path);
}

size_t BanList::size() const {
  ReaderMutexLock lock(&mu_);
  return bans_.size();
}

}  // namespace muwarden::guard

namespace muwarden::guard {

void BanListConfig::Describe(config::Schema& s) {
  s.Path("security", "ban_file", &path,
         "persistent ban list (one address or CIDR per line, with until= and "
         "reason=); empty = bans kept in memory only",
         "bans.txt");
}

}  // namespace muwarden::guard
