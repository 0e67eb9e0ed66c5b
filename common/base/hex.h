// Hex text for bytes: "C1 04 F4 06" (upper case, one space between bytes) and
// back, whitespace between digit pairs ignored. For tools and tests that show
// or take packets as text. Pure functions; thread-safe.
#ifndef MUWARDEN_COMMON_BASE_HEX_H_
#define MUWARDEN_COMMON_BASE_HEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace muwarden {

std::string FormatHex(absl::Span<const uint8_t> bytes);

// nullopt for a character that is neither a hex digit nor whitespace, or an
// odd number of digits.
std::optional<std::vector<uint8_t>> ParseHex(absl::string_view text);

}  // namespace muwarden

#endif  // MUWARDEN_COMMON_BASE_HEX_H_
