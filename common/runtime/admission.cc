#include "common/runtime/admission.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/runtime/connection_registry.h"
#include "common/guard/security_log.h"
#include "common/runtime/proxy_source.h"

namespace muwarden::runtime {
namespace {

// A refused socket gets a reset: no FIN handshake, no TIME_WAIT on our side
// under a flood.
void CloseWithReset(net::UniqueFd fd) {
  linger lg{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  fd.Reset();
}

guard::SecurityEvent EventFor(guard::RejectReason reason) {
  switch (reason) {
    case guard::RejectReason::kBanned:
      return guard::SecurityEvent::kBannedIp;
    case guard::RejectReason::kConnRate:
    case guard::RejectReason::kFloodAutoban:
      return guard::SecurityEvent::kConnRate;
    case guard::RejectReason::kMulticlient:
      return guard::SecurityEvent::kMulticlient;
    case guard::RejectReason::kPrefixRate:
      return guard::SecurityEvent::kPrefixRate;
    case guard::RejectReason::kPrefixLimit:
      return guard::SecurityEvent::kPrefixLimit;
    case guard::RejectReason::kPendingLimit:
      return guard::SecurityEvent::kPendingLimit;
    default:
      return guard::SecurityEvent::kServerFull;
  }
}

}  // namespace

Admission::Admission(guard::BanList& bans, guard::ConnGuard& guard,
                     AutobanFn autoban, const guard::KnownBlocks* known,
                     ConnectionRegistry* registry)
    : bans_(bans),
      guard_(guard),
      autoban_(std::move(autoban)),
      known_(known),
      registry_(registry) {}

std::optional<Admitted> Admission::Admit(net::UniqueFd fd,
                                         const sockaddr_storage& addr) {
  auto peer = guard::FromSockaddr(reinterpret_cast<const sockaddr*>(&addr));
  if (!peer.ok()) {
    CloseWithReset(std::move(fd));
    return std::nullopt;
  }
  // Layer 1, cheapest first; one reject path.
  const bool known = known_ != nullptr && known_->IsKnown(*peer);
  if (const guard::BanCheck ban = bans_.Check(*peer);
      ban.banned &&
      // A prefix ban never applies to the prefix's known blocks (SPEC 4a).
      !(known && ban.reason == kPrefixAutobanReason)) {
    guard_.CountRejected(guard::RejectReason::kBanned);
    Refuse(guard::RejectReason::kBanned, std::move(fd), *peer);
    return std::nullopt;
  }
  guard::AdmitResult result = guard_.Admit(*peer, known);
  // Never the address every player arrives through (proxy_source.h).
  if (result.reason == guard::RejectReason::kFloodAutoban &&
      RefuseProxyAutoban(*peer)) {
    result.reason = guard::RejectReason::kConnRate;
  }
  if (result.reason == guard::RejectReason::kFloodAutoban) {
    // The rate was counted per IPv4 address or IPv6 /64 (what one client
    // controls), so the ban covers the same: an attacker rotating through its
    // /64 gets one ban, not millions.
    autoban_({guard::ClientBlock(*peer), result.ban_duration, *peer,
              "flood autoban"});
    if (result.ban_prefix) {
      autoban_({result.prefix, result.ban_duration, *peer,
                kPrefixAutobanReason});
    }
  }
  if (result.reason == guard::RejectReason::kServerFull && result.evict) {
    // Full: make room by evicting, or refuse (SPEC 4a). Allowlisted arrivals
    // choose as known ones do.
    const bool chooses_as_known =
        known || guard_.config().allowlist.Contains(*peer);
    std::optional<Eviction> victim;
    if (registry_ != nullptr) {
      victim = registry_->EvictFor(guard_.PrefixKeyOf(*peer), chooses_as_known,
                                   result.evict_pending);
    }
    if (victim.has_value()) {
      guard::LogSecurity(guard::SecurityEvent::kEvicted, victim->peer,
                         absl::StrCat("for ", peer->ToString()));
      return Admitted{std::move(fd), *peer, guard_.TakeSlots(*peer, known),
                      known};
    }
    guard_.CountRejected(guard::RejectReason::kServerFull);
  }
  if (!result.admitted()) {
    Refuse(result.reason, std::move(fd), *peer,
           result.reason == guard::RejectReason::kTableFull
               ? "per-IP table full"
               : "");
    return std::nullopt;
  }
  return Admitted{std::move(fd), *peer, std::move(result.ticket), known};
}

void Admission::RefuseUnserved(Admitted admitted, absl::string_view details) {
  admitted.ticket.Release();
  guard_.CountRejected(guard::RejectReason::kServerFull);
  Refuse(guard::RejectReason::kServerFull, std::move(admitted.fd),
         admitted.peer, details);
}

void Admission::RefuseOverflow(net::UniqueFd fd, const sockaddr_storage& addr) {
  guard_.CountRejected(guard::RejectReason::kServerFull);
  auto peer = guard::FromSockaddr(reinterpret_cast<const sockaddr*>(&addr));
  if (peer.ok()) {
    Refuse(guard::RejectReason::kServerFull, std::move(fd), *peer,
           "out of file descriptors");
  } else {
    CloseWithReset(std::move(fd));
  }
}

void Admission::Refuse(guard::RejectReason reason, net::UniqueFd fd,
                       const guard::IpAddress& ip, absl::string_view details) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  CloseWithReset(std::move(fd));
  // The security log formats the address only for a line it prints, not on
  // every refusal.
  guard::LogSecurity(EventFor(reason), ip, details);
}

}  // namespace muwarden::runtime
