// ConnGuard: Layer 1 per-block and per-prefix admission for the accept thread
// (SPEC 4a). Admit() runs the checks in order (block rate -> prefix rate ->
// autobans -> block multiclient -> prefix multiclient -> pending caps -> full)
// against two IpTables (client blocks, prefixes) of exact sliding windows and
// live counts, and hands out a move-only AdmitTicket that gives its slots back
// once. "Full" is answered with `evict` set: the caller may free a slot
// (runtime::ConnectionRegistry) and then TakeSlots(). Thread-safe: one Mutex
// around short critical sections; counters are atomics.
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
  // Connections not past their handshake: per client block, and in total
  // (part of max_clients).
  int pending_per_ip = 2;
  int max_pending = 512;
  // Prefix = IPv4 /prefix_v4 or IPv6 /prefix_v6; its own limits, higher than
  // a block's. Known blocks are exempt from them.
  int prefix_v4 = 24;
  int prefix_v6 = 48;
  int prefix_conn_rate_limit = 100;
  int prefix_multiclient_limit = 64;
  // Block autobans of one prefix within flood_ban_duration that ban the
  // prefix; values below 1 count as 1.
  int prefix_ban_threshold = 4;
  // When full, an arrival that passed every other check evicts (SPEC 4a);
  // false refuses it as before (for comparison and the attack tests).
  bool evict_when_full = true;
  // Exempt from the rate, autoban, multiclient, prefix and pending checks (not
  // from bans or max_clients), and never takes a per-IP table entry.
  CidrSet allowlist;

  // [server] max_clients, multiclient_limit, max_tracked_ips, pending_per_ip,
  // max_pending, prefix_multiclient_limit; [ratelimit] conn_rate_*,
  // conn_flood_autoban, flood_ban_*, prefix_*; [security] allowlist.
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
  // The handshake is complete: gives the pending slots back (the connection
  // keeps its other slots). Later calls do nothing.
  void MarkHandshakeComplete();
  bool held() const { return guard_ != nullptr; }
  bool pending() const { return pending_; }
  // Allowlisted peers hold no per-IP slots; they are never evicted.
  bool allowlisted() const { return held() && !per_ip_; }

 private:
  friend class ConnGuard;
  AdmitTicket(ConnGuard* guard, const IpKey& key, const IpKey& prefix,
              bool per_ip, bool per_prefix)
      : guard_(guard),
        key_(key),
        prefix_(prefix),
        per_ip_(per_ip),
        per_prefix_(per_prefix),
        pending_(per_ip) {}

  ConnGuard* guard_ = nullptr;
  IpKey key_;
  IpKey prefix_;
  bool per_ip_ = false;      // false for allowlisted peers: no table entry
  bool per_prefix_ = false;  // false for known blocks and allowlisted peers
  bool pending_ = false;     // holds pending slots (never when allowlisted)
};

// Admit() returns this rather than StatusOr so the caller's refuse path can
// switch on the reason without parsing a message; RejectStatus(reason) gives
// the canonical status when one is wanted.
struct AdmitResult {
  RejectReason reason = RejectReason::kNone;
  AdmitTicket ticket;  // held iff reason == kNone
  // Only for kFloodAutoban: how long to ban; InfiniteDuration() = permanent.
  absl::Duration ban_duration = absl::ZeroDuration();
  // With kFloodAutoban: this block's autoban was the prefix_ban_threshold-th
  // of its prefix; the caller bans `prefix` too.
  bool ban_prefix = false;
  Cidr prefix;
  // Only for kServerFull: every other check passed; the arrival may take the
  // slot of an evicted connection (TakeSlots), a pending one when
  // `evict_pending` (max_pending was the cap reached).
  bool evict = false;
  bool evict_pending = false;

  bool admitted() const { return reason == RejectReason::kNone; }
};

struct ConnGuardCounters {
  uint64_t admitted = 0;
  int64_t active = 0;  // tickets held right now
  std::array<uint64_t, kRejectReasonCount> rejected{};
  int64_t pending = 0;  // of `active`, not past the handshake
  size_t tracked_ips = 0;
  size_t tracked_prefixes = 0;
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
  // kFloodAutoban the caller bans ip's block (and result.prefix when
  // ban_prefix) for result.ban_duration and closes. A `known` block skips the
  // prefix checks and takes no prefix slot. A kServerFull with `evict` is not
  // counted: the caller either takes the slots (TakeSlots) or counts it.
  AdmitResult Admit(const IpAddress& ip, bool known = false);

  // After an Admit that answered kServerFull with `evict` and the eviction of
  // a connection whose slot is on its way back: takes this arrival's slots
  // over the global caps (by at most the connections being closed).
  AdmitTicket TakeSlots(const IpAddress& ip, bool known = false);

  // Counts a refusal decided outside Admit (kBanned) with the others.
  void CountRejected(RejectReason reason);

  // The prefix ip belongs to (prefix_v4 / prefix_v6), and its table key.
  Cidr PrefixOf(const IpAddress& ip) const;
  IpKey PrefixKeyOf(const IpAddress& ip) const;

  ConnGuardCounters Counters() const;
  const ConnGuardConfig& config() const { return config_; }

 private:
  friend class AdmitTicket;

  struct IpState {
    explicit IpState(const ConnGuardConfig& config);
    bool Evictable() const { return active == 0; }

    SlidingWindow attempts;  // RecordAndCheck: every attempt counts
    SlidingWindow refusals;  // rate and prefix refusals, for the autoban
    int active = 0;          // live tickets of this key
    int pending = 0;         // of them, not past the handshake
  };

  struct PrefixState {
    explicit PrefixState(const ConnGuardConfig& config);
    bool Evictable() const { return active == 0; }

    SlidingWindow attempts;  // every attempt of an unknown block
    SlidingWindow autobans;  // block autobans within flood_ban_duration
    int active = 0;          // live tickets of unknown blocks
  };

  // Counts a rejection decided here and returns it as the result.
  AdmitResult RecordRejection(RejectReason reason);
  // A rate or prefix refusal of `state`: kFloodAutoban (and maybe the prefix
  // ban) once the block keeps hitting them, else `reason`.
  AdmitResult RefuseCounted(RejectReason reason, IpState& state,
                            PrefixState* prefix, const IpAddress& ip,
                            absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  AdmitTicket TakeSlotsLocked(const IpKey& key, const IpKey& prefix_key,
                              IpState* state, PrefixState* prefix,
                              bool allowlisted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(const IpKey& key, const IpKey& prefix, bool per_ip,
               bool per_prefix, bool pending);
  void EndPending(const IpKey& key);

  const ConnGuardConfig config_;
  Clock& clock_;
  mutable Mutex mu_;
  IpTable<IpState> table_ ABSL_GUARDED_BY(mu_);
  IpTable<PrefixState> prefixes_ ABSL_GUARDED_BY(mu_);
  int64_t active_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> admitted_{0};
  std::array<std::atomic<uint64_t>, kRejectReasonCount> rejected_{};
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_CONN_GUARD_H_
