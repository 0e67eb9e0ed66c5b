// Test support shared by the unit tests, the integration harness and the load
// tool: bytes from hex text ("C1 04 F4 06"; whitespace between the digit
// pairs is ignored) and back. Header-only; pure functions, thread-safe.
#ifndef MUWARDEN_TESTS_SUPPORT_HEX_H_
#define MUWARDEN_TESTS_SUPPORT_HEX_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muwarden::testing {

namespace hex_internal {

inline int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace hex_internal

// nullopt for a character that is neither a hex digit nor whitespace, or an
// odd number of digits (what a tool reports to its user).
inline std::optional<std::vector<uint8_t>> ParseHex(std::string_view text) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : text) {
    if (hex_internal::IsSpace(c)) continue;
    const int value = hex_internal::DigitValue(c);
    if (value < 0) return std::nullopt;
    if (high < 0) {
      high = value;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | value));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

// Aborts on text ParseHex refuses: a typo in a test constant.
inline std::vector<uint8_t> HexBytes(std::string_view text) {
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
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out.push_back(' ');
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0x0F]);
  }
  return out;
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_HEX_H_
