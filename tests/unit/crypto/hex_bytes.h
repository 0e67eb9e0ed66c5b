// Test helper: bytes from a hex string such as "C3 0C 0E"; spaces are ignored.
#ifndef MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_
#define MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace muwarden::crypto::testing {

inline std::vector<uint8_t> HexBytes(const std::string& hex) {
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  if (digits.size() % 2 != 0) std::abort();  // a typo in a test constant
  std::vector<uint8_t> out;
  for (size_t i = 0; i < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::strtoul(digits.substr(i, 2).c_str(), nullptr, 16)));
  }
  return out;
}

}  // namespace muwarden::crypto::testing

#endif  // MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_
