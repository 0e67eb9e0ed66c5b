#include "common/guard/ban_line.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace muwarden::guard {
namespace {

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

// The canonical form the server writes, "2026-11-22T01:23:45Z", without the
// general parser: a million-line file is mostly these. False for anything
// else (the caller falls back to absl::ParseTime).
bool ParseCanonicalTime(absl::string_view s, absl::Time* out) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
    return false;
  }
  auto num = [&](size_t at, size_t len, int* value) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) ||
      !num(11, 2, &h) || !num(14, 2, &mi) || !num(17, 2, &sec)) {
    return false;
  }
  const absl::CivilSecond civil(y, mo, d, h, mi, sec);
  // CivilSecond normalises out-of-range fields (month 13, 31 April): such a
  // text is not canonical.
  if (civil.year() != y || civil.month() != mo || civil.day() != d ||
      civil.hour() != h || civil.minute() != mi || civil.second() != sec) {
    return false;
  }
  *out = absl::FromCivil(civil, absl::UTCTimeZone());
  return true;
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
    if (!ParseCanonicalTime(when, &t) &&
        !absl::ParseTime(absl::RFC3339_full, when, &t, &err)) {
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

std::optional<absl::Time> NormaliseBanUntil(std::optional<absl::Time> until) {
  if (!until.has_value() || *until == absl::InfiniteFuture()) {
    return std::nullopt;
  }
  int64_t secs = absl::ToUnixSeconds(*until);
  if (absl::FromUnixSeconds(secs) < *until) ++secs;
  return absl::FromUnixSeconds(secs);
}

std::string SanitiseBanReason(absl::string_view reason) {
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

}  // namespace muwarden::guard
