#include "common/config/value.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace muwarden::config {

std::string FormatNumber(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrCat(v);
}

std::string FormatSeconds(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000);
  std::string text = absl::StrFormat("%.3f", absl::ToDoubleSeconds(d));
  while (!text.empty() && text.back() == '0') text.pop_back();
  return text;
}

absl::StatusOr<int64_t> ParseInteger(absl::string_view text, int64_t min,
                                     int64_t max) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  // SimpleAtoi alone would also take "+8"; digits only (after an optional
  // '-') is the spelling every unit's parser accepts.
  bool digits = !t.empty();
  for (size_t i = 0; i < t.size(); ++i) {
    const bool sign = i == 0 && t[i] == '-' && t.size() > 1;
    if (!sign && !absl::ascii_isdigit(static_cast<unsigned char>(t[i]))) {
      digits = false;
    }
  }
  int64_t v;
  if (!digits || !absl::SimpleAtoi(t, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a whole number: '", text, "' (allowed ", min, "..", max, ")"));
  }
  if (v < min || v > max) {
    return absl::OutOfRangeError(
        absl::StrCat("out of range: ", v, " (allowed ", min, "..", max, ")"));
  }
  return v;
}

absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view text,
                                            double min_s, double max_s) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  absl::Duration d;
  double seconds;
  // No sign but '-' (refused by the range anyway), as for whole numbers.
  if (!t.empty() && t[0] == '+') {
    return absl::InvalidArgumentError(
        absl::StrCat("not a duration: '", text, "' (seconds, allowed ",
                     FormatNumber(min_s), "..", FormatNumber(max_s), ")"));
  }
  if (absl::SimpleAtod(t, &seconds) && std::isfinite(seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(t, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a duration: '", text, "' (seconds, allowed ",
                     FormatNumber(min_s), "..", FormatNumber(max_s), ")"));
  }
  if (d < absl::Seconds(min_s) || d > absl::Seconds(max_s)) {
    return absl::OutOfRangeError(
        absl::StrCat("out of range: ", FormatSeconds(d), " s (allowed ",
                     FormatNumber(min_s), "..", FormatNumber(max_s), " s)"));
  }
  return d;
}

absl::StatusOr<bool> ParseBool(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("not a boolean: '", text, "' (allowed true, false)"));
}

}  // namespace muwarden::config
