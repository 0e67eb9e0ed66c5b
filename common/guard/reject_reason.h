// RejectReason: why Layer 1 rejected a connection, one value per check.
// ConnGuard counts it; the accept thread's one refuse path
// (runtime::Admission::Refuse) switches on it to pick the security log event;
// RejectStatus gives the canonical status code for each. Pure; thread-safe.
#ifndef MUWARDEN_COMMON_GUARD_REJECT_REASON_H_
#define MUWARDEN_COMMON_GUARD_REJECT_REASON_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace muwarden::guard {

enum class RejectReason : uint8_t {
  kNone,          // admitted
  kBanned,        // in the ban list (checked by the caller)
  kConnRate,      // connection attempts over the sliding window
  kFloodAutoban,  // kept hitting the rate limit; the caller bans the IP
  kMulticlient,   // too many concurrent sockets from this IP or /64
  kServerFull,    // max_clients concurrent sockets
  kTableFull,     // per-IP table full and nothing evictable
  kPrefixRate,    // connection attempts of the whole prefix over its window
  kPrefixLimit,   // too many concurrent sockets from this prefix
  kPendingLimit,  // too many sockets of this block still in the handshake
};

inline constexpr size_t kRejectReasonCount = 10;

// Stable snake_case name for counters: "none", "banned", "conn_rate",
// "flood_autoban", "multiclient", "server_full", "table_full",
// "prefix_rate", "prefix_limit", "pending_limit".
absl::string_view RejectReasonName(RejectReason reason);

// OkStatus for kNone, kPermissionDenied for kBanned and kFloodAutoban (the
// peer is now banned), kResourceExhausted for the rest. The message names the
// reason only, never the peer.
absl::Status RejectStatus(RejectReason reason);

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_REJECT_REASON_H_
