// The ban file's line format (SPEC section 6): parse one line into an entry,
// format an entry as its canonical line, and bring an entry's fields into the
// form the format can hold (whole seconds, a reason without '#' or control
// bytes). Pure; thread-safe.
//
// One entry per line:
//   <address or CIDR> [until=<RFC 3339 time, e.g. 2026-11-22T01:23:45Z>]
//                     [reason=<text to end of line>]
// `#` starts a comment at the beginning of a line or after whitespace
// (also inside a reason). Blank lines are ignored. No until = permanent.
#ifndef MUWARDEN_COMMON_GUARD_BAN_LINE_H_
#define MUWARDEN_COMMON_GUARD_BAN_LINE_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

// Reasons are cut to this many bytes by SanitiseBanReason.
inline constexpr size_t kMaxBanReasonLen = 200;

struct BanEntry {
  Cidr cidr;
  std::optional<absl::Time> until;  // nullopt = permanent
  std::string reason;
};

// One line of the file, with or without a trailing '\r': nullopt for blank
// and comment-only lines, kInvalidArgument saying what is wrong otherwise.
absl::StatusOr<std::optional<BanEntry>> ParseBanLine(absl::string_view line);

// The canonical line for an entry, without the newline. `until` is written in
// whole seconds (UTC, "Z"); an empty reason is left out.
std::string FormatBanLine(const BanEntry& entry);

// nullopt for nullopt or InfiniteFuture (permanent); otherwise rounded up to
// a whole second, so writing the ban never shortens it.
std::optional<absl::Time> NormaliseBanUntil(std::optional<absl::Time> until);

// The reason cut to kMaxBanReasonLen bytes, control bytes turned into ' ' and
// '#' into '_' (either would end the entry's line or its reason), trimmed.
std::string SanitiseBanReason(absl::string_view reason);

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_BAN_LINE_H_
