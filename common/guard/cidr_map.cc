#include "common/guard/cidr_map.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace muwarden::guard {

absl::StatusOr<CidrSet> CidrSet::Parse(absl::string_view text) {
  CidrSet set;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    absl::StatusOr<Cidr> cidr = ParseCidr(item);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad allowlist entry: ", cidr.status().message()));
    }
    set.Add(*cidr);
  }
  return set;
}

}  // namespace muwarden::guard
