// A large ban file for benchmarks and the ban-list scale test: n distinct
// IPv4 addresses in 10.0.0.0/8 (never loopback), every fourth permanent, the
// rest temporary autobans ending at `until`. Built in memory in well under a
// second for a million lines. Header-only; pure.
#ifndef MUWARDEN_TESTS_SUPPORT_BAN_FILE_GEN_H_
#define MUWARDEN_TESTS_SUPPORT_BAN_FILE_GEN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace muwarden::testing {

// The i-th address of the generated file (i < 2^24).
inline std::string GeneratedBanAddress(size_t i) {
  return absl::StrCat("10.", (i >> 16) & 0xff, ".", (i >> 8) & 0xff, ".",
                      i & 0xff);
}

// `until` is an RFC 3339 time such as "2999-01-01T00:00:00Z".
inline std::string GenerateBanFile(size_t n, absl::string_view until) {
  std::string text = "# generated ban list\n";
  text.reserve(n * (until.size() + 40));
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&text, "10.", (i >> 16) & 0xff, ".", (i >> 8) & 0xff, ".",
                    i & 0xff);
    if (i % 4 != 0) {
      absl::StrAppend(&text, " until=", until, " reason=flood autoban");
    }
    text.push_back('\n');
  }
  return text;
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_BAN_FILE_GEN_H_
