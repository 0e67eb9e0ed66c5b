// Value parsers of the settings loader: whole numbers, durations, booleans and
// the text forms the INI printer writes. Every key is parsed by one of these
// exactly once, at load, so `--check-config` and start-up can never disagree
// about a value. Pure functions; thread-safe.
#ifndef MUWARDEN_COMMON_CONFIG_VALUE_H_
#define MUWARDEN_COMMON_CONFIG_VALUE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace muwarden::config {

// Decimal digits with an optional leading '-', surrounded by optional blanks
// (inih leaves none; a `--set` value may have some). No '+', no hex, no
// fraction. kInvalidArgument when not a number, kOutOfRange outside
// [min, max]; both name the allowed range.
absl::StatusOr<int64_t> ParseInteger(absl::string_view text, int64_t min,
                                     int64_t max);

// Seconds, fractional allowed ("0.5"), or an Abseil duration ("500ms", "2m"),
// inside [min_s, max_s] seconds.
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view text,
                                            double min_s, double max_s);

// true/yes/on/1 or false/no/off/0, any case.
absl::StatusOr<bool> ParseBool(absl::string_view text);

// "15", "0.5": seconds as the INI writes them (milliseconds kept).
std::string FormatSeconds(absl::Duration d);

// "0.05", "3600": a range bound as an operator writes it.
std::string FormatNumber(double v);

}  // namespace muwarden::config

#endif  // MUWARDEN_COMMON_CONFIG_VALUE_H_
