// Test support: packets written as hex text in test constants ("C1 04 F4 06")
// through common/base/hex.h. Header-only; pure functions, thread-safe.
#ifndef MUWARDEN_TESTS_SUPPORT_HEX_H_
#define MUWARDEN_TESTS_SUPPORT_HEX_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/base/hex.h"

namespace muwarden::testing {

using ::muwarden::ParseHex;

// Aborts on text ParseHex refuses: a typo in a test constant.
inline std::vector<uint8_t> HexBytes(absl::string_view text) {
  std::optional<std::vector<uint8_t>> bytes = ParseHex(text);
  if (!bytes.has_value()) {
    std::fprintf(stderr, "HexBytes: not hex: %.*s\n",
                 static_cast<int>(text.size()), text.data());
    std::abort();
  }
  return *std::move(bytes);
}

// "C1 04 F4 06": upper case, one space between bytes.
inline std::string Hex(const std::vector<uint8_t>& bytes) {
  return FormatHex(bytes);
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_HEX_H_
