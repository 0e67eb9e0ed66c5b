#include "common/guard/cidr_map.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace muwarden::guard {

absl::StatusOr<CidrSet> CidrSet::Parse(absl::string_view text) {
  CidrSet set;
  set.text_ = std::string(absl::StripAsciiWhitespace(text));
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    absl::StatusOr<Cidr> cidr = ParseCidr(item);
    if (!cidr.ok()) {
      return cidr.status();
    }
    set.Add(*cidr);
  }
  return set;
}

}  // namespace muwarden::guard
