#include "common/guard/ban_line.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

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
