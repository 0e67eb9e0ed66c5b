// ConnGuard: Layer 1 per-IP admission for the accept thread. Admit() runs the
// checks in order (connection rate -> flood autoban -> multiclient -> server
// full) against an IpTable of exact sliding windows and live counts, and hands
// out a move-only AdmitTicket that gives its slots back once. Thread-safe: one
// Mutex around short critical sections; counters are atomics.
#ifndef MUWARDEN_COMMON_GUARD_CONN_GUARD_H_
#define MUWARDEN_COMMON_GUARD_CONN_GUARD_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/guard/cidr_map.h"
#include "common/guard/ip_address.h"
#include "common/guard/ip_table.h"
#include "common/guard/reject_reason.h"
#include "common/guard/sliding_window.h"

namespace muwarden::guard {

struct ConnGuardConfig {
  // Attempts per IP (IPv6: /64) per sliding window; refused attempts count.
  int conn_rate_limit = 10;
  absl::Duration conn_rate_window = absl::Seconds(10);
  bool flood_autoban = true;
  // Rate refusals inside conn_rate_window that make Admit answer
  // kFloodAutoban; values below 1 count as 1.
  int flood_ban_threshold = 6;
  // ZeroDuration() = permanent.
  absl::Duration flood_ban_duration = absl::Seconds(3600);
  int multiclient_limit = 16;
  int max_clients = 1024;
  size_t max_tracked_ips = 65536;
  // Exempt from the rate, autoban and multiclient checks (not from bans or
  // max_clients), and never takes a per-IP table entry.
  CidrSet allowlist;

  // [server] max_clients, multiclient_limit, max_tracked_ips; [ratelimit]
  // conn_rate_*, conn_flood_autoban, flood_ban_*; [security] allowlist.
  void Describe(config::Schema& schema);
};

class ConnGuard;

// The per-IP and global slots of one admitted connection. Move-only; the
// destructor (or Release()) gives both back exactly once, from any thread.
// The ConnGuard must outlive every ticket it issued.
class AdmitTicket {
 public:
  AdmitTicket() = default;  // holds nothing
  AdmitTicket(AdmitTicket&& other) noexcept;
  AdmitTicket& operator=(AdmitTicket&& other) noexcept;
  AdmitTicket(const AdmitTicket&) = delete;
  AdmitTicket& operator=(const AdmitTicket&) = delete;
  ~AdmitTicket() { Release(); }

  // Gives the slots back now; later calls and the destructor do nothing.
  void Release();
  bool held() const { return guard_ != nullptr; }

 private:
  friend class ConnGuard;
  AdmitTicket(ConnGuard* guard, const IpKey& key, bool per_ip)
      : guard_(guard), key_(key), per_ip_(per_ip) {}

  ConnGuard* guard_ = nullptr;
  IpKey key_;
  bool per_ip_ = false;  // false for allowlisted peers: no table entry
};

// Admit() returns this rather than StatusOr so the caller's refuse path can
// switch on the reason without parsing a message; RejectStatus(reason) gives
// the canonical status when one is wanted.
struct AdmitResult {
  RejectReason reason = RejectReason::kNone;
  AdmitTicket ticket;  // held iff reason == kNone
  // Only for kFloodAutoban: how long to ban; InfiniteDuration() = permanent.
  absl::Duration ban_duration = absl::ZeroDuration();

  bool admitted() const { return reason == RejectReason::kNone; }
};

struct ConnGuardCounters {
  uint64_t admitted = 0;
  int64_t active = 0;  // tickets held right now
  std::array<uint64_t, kRejectReasonCount> rejected{};
  size_t tracked_ips = 0;
  uint64_t evictions = 0;

  uint64_t Rejected(RejectReason reason) const {
    return rejected[static_cast<size_t>(reason)];
  }
};

class ConnGuard {
 public:
  ConnGuard(const ConnGuardConfig& config, Clock& clock);
  // Aborts if tickets are still held: they would release into freed memory.
  ~ConnGuard();
  ConnGuard(const ConnGuard&) = delete;
  ConnGuard& operator=(const ConnGuard&) = delete;

  // The ban check comes first and is the caller's (BanList::Check). On
  // kFloodAutoban the caller bans ip for result.ban_duration and closes.
  AdmitResult Admit(const IpAddress& ip);

  // Counts a refusal decided outside Admit (kBanned) with the others.
  void CountRejected(RejectReason reason);

  ConnGuardCounters Counters() const;
  const ConnGuardConfig& config() const { return config_; }

 private:
  friend class AdmitTicket;

  struct IpState {
    explicit IpState(const ConnGuardConfig& config);
    bool Evictable() const { return active == 0; }

    SlidingWindow attempts;  // RecordAndCheck: every attempt counts
    SlidingWindow refusals;  // rate refusals, for the autoban
    int active = 0;          // live tickets of this key
  };

  // Counts a rejection decided here and returns it as the result.
  AdmitResult RecordRejection(RejectReason reason);
  void Release(const IpKey& key, bool per_ip);

  const ConnGuardConfig config_;
  Clock& clock_;
  mutable Mutex mu_;
  IpTable<IpState> table_ ABSL_GUARDED_BY(mu_);
  int64_t active_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> admitted_{0};
  std::array<std::atomic<uint64_t>, kRejectReasonCount> rejected_{};
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_CONN_GUARD_H_
