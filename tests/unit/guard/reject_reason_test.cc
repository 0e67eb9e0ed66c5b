#include "common/guard/reject_reason.h"

#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

TEST(RejectReasonTest, NamesAndCodes) {
  struct Case {
    RejectReason reason;
    const char* name;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {RejectReason::kNone, "none", absl::StatusCode::kOk},
      {RejectReason::kBanned, "banned", absl::StatusCode::kPermissionDenied},
      {RejectReason::kConnRate, "conn_rate",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kFloodAutoban, "flood_autoban",
       absl::StatusCode::kPermissionDenied},
      {RejectReason::kMulticlient, "multiclient",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kServerFull, "server_full",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kTableFull, "table_full",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kPrefixRate, "prefix_rate",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kPrefixLimit, "prefix_limit",
       absl::StatusCode::kResourceExhausted},
      {RejectReason::kPendingLimit, "pending_limit",
       absl::StatusCode::kResourceExhausted},
  };
  static_assert(sizeof(cases) / sizeof(cases[0]) == kRejectReasonCount);
  for (const Case& c : cases) {
    EXPECT_EQ(RejectReasonName(c.reason), c.name);
    EXPECT_EQ(RejectStatus(c.reason).code(), c.code) << c.name;
  }
}

}  // namespace
}  // namespace muwarden::guard
