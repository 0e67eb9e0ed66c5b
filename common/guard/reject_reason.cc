#include "common/guard/reject_reason.h"

namespace muwarden::guard {

absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kBanned:
      return "banned";
    case RejectReason::kConnRate:
      return "conn_rate";
    case RejectReason::kFloodAutoban:
      return "flood_autoban";
    case RejectReason::kMulticlient:
      return "multiclient";
    case RejectReason::kServerFull:
      return "server_full";
    case RejectReason::kTableFull:
      return "table_full";
    case RejectReason::kPrefixRate:
      return "prefix_rate";
    case RejectReason::kPrefixLimit:
      return "prefix_limit";
    case RejectReason::kPendingLimit:
      return "pending_limit";
  }
  return "unknown";
}

absl::Status RejectStatus(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return absl::OkStatus();
    case RejectReason::kBanned:
      return absl::PermissionDeniedError("banned");
    case RejectReason::kFloodAutoban:
      return absl::PermissionDeniedError("auto-banned for connection flood");
    case RejectReason::kConnRate:
      return absl::ResourceExhaustedError("connection rate limited");
    case RejectReason::kMulticlient:
      return absl::ResourceExhaustedError("multiclient limit reached");
    case RejectReason::kServerFull:
      return absl::ResourceExhaustedError("server full");
    case RejectReason::kTableFull:
      return absl::ResourceExhaustedError("per-IP table full");
    case RejectReason::kPrefixRate:
      return absl::ResourceExhaustedError("prefix connection rate limited");
    case RejectReason::kPrefixLimit:
      return absl::ResourceExhaustedError("prefix limit reached");
    case RejectReason::kPendingLimit:
      return absl::ResourceExhaustedError("pending limit reached");
  }
  return absl::InternalError("unknown reject reason");
}

}  // namespace muwarden::guard
