#include "common/guard/conn_guard.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace muwarden::guard {
namespace {

SlidingWindowConfig AttemptWindow(const ConnGuardConfig& config) {
  SlidingWindowConfig w;
  w.limit = config.conn_rate_limit;
  w.window = config.conn_rate_window;
  return w;
}

// RecordAndCheck refuses once `limit` refusals precede the current one inside
// the window, so limit = threshold - 1 fires on exactly the threshold-th.
SlidingWindowConfig RefusalWindow(const ConnGuardConfig& config) {
  SlidingWindowConfig w;
  w.limit = std::max(config.flood_ban_threshold, 1) - 1;
  w.window = config.conn_rate_window;
  return w;
}

[[noreturn]] void Die(const char* message) {
  std::fprintf(stderr, "ConnGuard: %s\n", message);
  std::abort();
}

SlidingWindowConfig PrefixAttemptWindow(const ConnGuardConfig& config) {
  SlidingWindowConfig w;
  w.limit = config.prefix_conn_rate_limit;
  w.window = config.conn_rate_window;
  return w;
}

// Fires on the prefix_ban_threshold-th block autoban within
// flood_ban_duration (a permanent autoban remembers them for a century).
SlidingWindowConfig PrefixAutobanWindow(const ConnGuardConfig& config) {
  SlidingWindowConfig w;
  w.limit = std::max(config.prefix_ban_threshold, 1) - 1;
  w.window = config.flood_ban_duration <= absl::ZeroDuration()
                 ? absl::Hours(24 * 365 * 100)
                 : config.flood_ban_duration;
  return w;
}

}  // namespace

AdmitTicket::AdmitTicket(AdmitTicket&& other) noexcept
    : guard_(std::exchange(other.guard_, nullptr)),
      key_(other.key_),
      prefix_(other.prefix_),
      per_ip_(other.per_ip_),
      per_prefix_(other.per_prefix_),
      pending_(other.pending_) {}

AdmitTicket& AdmitTicket::operator=(AdmitTicket&& other) noexcept {
  if (this != &other) {
    Release();
    guard_ = std::exchange(other.guard_, nullptr);
    key_ = other.key_;
    prefix_ = other.prefix_;
    per_ip_ = other.per_ip_;
    per_prefix_ = other.per_prefix_;
    pending_ = other.pending_;
  }
  return *this;
}

void AdmitTicket::Release() {
  if (ConnGuard* guard = std::exchange(guard_, nullptr)) {
    guard->Release(key_, prefix_, per_ip_, per_prefix_, pending_);
  }
}

void AdmitTicket::MarkHandshakeComplete() {
  if (guard_ == nullptr || !pending_) return;
  pending_ = false;
  guard_->EndPending(key_);
}

ConnGuard::IpState::IpState(const ConnGuardConfig& config)
    : attempts(AttemptWindow(config)), refusals(RefusalWindow(config)) {}

ConnGuard::PrefixState::PrefixState(const ConnGuardConfig& config)
    : attempts(PrefixAttemptWindow(config)),
      autobans(PrefixAutobanWindow(config)) {}

ConnGuard::ConnGuard(const ConnGuardConfig& config, Clock& clock)
    : config_(config),
      clock_(clock),
      table_(IpTableConfig{config.max_tracked_ips}),
      prefixes_(IpTableConfig{config.max_tracked_ips}) {}

ConnGuard::~ConnGuard() {
  MutexLock lock(&mu_);
  if (active_ != 0) Die("destroyed while admit tickets are still held");
}

AdmitResult ConnGuard::RecordRejection(RejectReason reason) {
  CountRejected(reason);
  AdmitResult result;
  result.reason = reason;
  return result;
}

void ConnGuard::CountRejected(RejectReason reason) {
  if (reason == RejectReason::kNone) return;
  rejected_[static_cast<size_t>(reason)].fetch_add(1,
                                                   std::memory_order_relaxed);
}

Cidr ConnGuard::PrefixOf(const IpAddress& ip) const {
  Cidr c;
  c.prefix_len =
      ip.family == IpFamily::kV4 ? config_.prefix_v4 : config_.prefix_v6;
  c.address = Masked(ip, c.prefix_len);
  return c;
}

IpKey ConnGuard::PrefixKeyOf(const IpAddress& ip) const {
  // Prefixes are at most /64, so the block key of the masked address is the
  // prefix's key.
  return KeyOf(PrefixOf(ip).address);
}

AdmitResult ConnGuard::RefuseCounted(RejectReason reason, IpState& state,
                                     PrefixState* prefix, const IpAddress& ip,
                                     absl::Time now) {
  if (!config_.flood_autoban || state.refusals.RecordAndCheck(now)) {
    return RecordRejection(reason);
  }
  // Start over so one burst yields one ban, not one per attempt.
  state.refusals.Reset();
  AdmitResult ban = RecordRejection(RejectReason::kFloodAutoban);
  ban.ban_duration = config_.flood_ban_duration <= absl::ZeroDuration()
                         ? absl::InfiniteDuration()
                         : config_.flood_ban_duration;
  if (prefix != nullptr && !prefix->autobans.RecordAndCheck(now)) {
    prefix->autobans.Reset();
    ban.ban_prefix = true;
    ban.prefix = PrefixOf(ip);
  }
  return ban;
}

AdmitResult ConnGuard::Admit(const IpAddress& ip, bool known) {
  // The allowlist is immutable after construction: no lock needed.
  const bool allowlisted = config_.allowlist.Contains(ip);
  const IpKey key = KeyOf(ip);
  const IpKey prefix_key = PrefixKeyOf(ip);
  AdmitResult result;
  {
    MutexLock lock(&mu_);
    // Read under the lock so the windows only ever see times in order.
    const absl::Time now = clock_.Now();
    if (allowlisted) {
      if (active_ >= config_.max_clients) {
        if (!config_.evict_when_full) {
          return RecordRejection(RejectReason::kServerFull);
        }
        result.reason = RejectReason::kServerFull;
        result.evict = true;
        return result;
      }
      result.ticket = TakeSlotsLocked(key, prefix_key, nullptr, nullptr, true);
    } else {
      IpState* state = table_.FindOrInsert(key, now, config_);
      if (state == nullptr) return RecordRejection(RejectReason::kTableFull);
      PrefixState* prefix = nullptr;
      if (!known) {
        prefix = prefixes_.FindOrInsert(prefix_key, now, config_);
        if (prefix == nullptr) return RecordRejection(RejectReason::kTableFull);
      }
      // Every attempt counts in both windows, refused ones too.
      const bool block_ok = state->attempts.RecordAndCheck(now);
      const bool prefix_ok =
          prefix == nullptr || prefix->attempts.RecordAndCheck(now);
      if (!block_ok) {
        return RefuseCounted(RejectReason::kConnRate, *state, prefix, ip, now);
      }
      if (!prefix_ok) {
        return RefuseCounted(RejectReason::kPrefixRate, *state, prefix, ip,
                             now);
      }
      if (state->active >= config_.multiclient_limit) {
        return RecordRejection(RejectReason::kMulticlient);
      }
      if (prefix != nullptr &&
          prefix->active >= config_.prefix_multiclient_limit) {
        return RefuseCounted(RejectReason::kPrefixLimit, *state, prefix, ip,
                             now);
      }
      if (state->pending >= config_.pending_per_ip) {
        return RecordRejection(RejectReason::kPendingLimit);
      }
      if (active_ >= config_.max_clients || pending_ >= config_.max_pending) {
        if (!config_.evict_when_full) {
          return RecordRejection(RejectReason::kServerFull);
        }
        result.reason = RejectReason::kServerFull;
        result.evict = true;
        result.evict_pending = active_ < config_.max_clients;
        return result;
      }
      result.ticket = TakeSlotsLocked(key, prefix_key, state, prefix, false);
    }
  }
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

AdmitTicket ConnGuard::TakeSlots(const IpAddress& ip, bool known) {
  const bool allowlisted = config_.allowlist.Contains(ip);
  const IpKey key = KeyOf(ip);
  const IpKey prefix_key = PrefixKeyOf(ip);
  AdmitTicket ticket;
  {
    MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    IpState* state = nullptr;
    PrefixState* prefix = nullptr;
    if (!allowlisted) {
      // Admit just touched both entries, so they are found, not inserted.
      state = table_.FindOrInsert(key, now, config_);
      if (!known) prefix = prefixes_.FindOrInsert(prefix_key, now, config_);
      if (state == nullptr || (!known && prefix == nullptr)) {
        Die("TakeSlots without a preceding Admit");
      }
    }
    ticket = TakeSlotsLocked(key, prefix_key, state, prefix, allowlisted);
  }
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return ticket;
}

AdmitTicket ConnGuard::TakeSlotsLocked(const IpKey& key,
                                       const IpKey& prefix_key, IpState* state,
                                       PrefixState* prefix, bool allowlisted) {
  ++active_;
  if (allowlisted) {
    return AdmitTicket(this, key, prefix_key, /*per_ip=*/false,
                       /*per_prefix=*/false);
  }
  ++state->active;
  ++state->pending;
  ++pending_;
  if (prefix != nullptr) ++prefix->active;
  return AdmitTicket(this, key, prefix_key, /*per_ip=*/true,
                     /*per_prefix=*/prefix != nullptr);
}

void ConnGuard::EndPending(const IpKey& key) {
  MutexLock lock(&mu_);
  IpState* state = table_.Find(key);
  if (state == nullptr || state->pending <= 0 || pending_ <= 0) {
    Die("pending slot lost");
  }
  --state->pending;
  --pending_;
}

void ConnGuard::Release(const IpKey& key, const IpKey& prefix_key, bool per_ip,
                        bool per_prefix, bool pending) {
  MutexLock lock(&mu_);
  if (active_ <= 0) Die("released more slots than were taken");
  --active_;
  if (!per_ip) return;
  IpState* state = table_.Find(key);
  // An entry with live tickets is never evicted.
  if (state == nullptr || state->active <= 0) Die("per-IP slot lost");
  if (pending) {
    if (state->pending <= 0 || pending_ <= 0) Die("pending slot lost");
    --state->pending;
    --pending_;
  }
  if (--state->active == 0) {
    // Un-park it so it can be evicted again (IpTable's contract).
    table_.Touch(key, clock_.Now());
  }
  if (!per_prefix) return;
  PrefixState* prefix = prefixes_.Find(prefix_key);
  if (prefix == nullptr || prefix->active <= 0) Die("per-prefix slot lost");
  if (--prefix->active == 0) prefixes_.Touch(prefix_key, clock_.Now());
}

ConnGuardCounters ConnGuard::Counters() const {
  ConnGuardCounters c;
  c.admitted = admitted_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    c.rejected[i] = rejected_[i].load(std::memory_order_relaxed);
  }
  MutexLock lock(&mu_);
  c.active = active_;
  c.pending = pending_;
  c.tracked_ips = table_.size();
  c.tracked_prefixes = prefixes_.size();
  c.evictions = table_.evictions() + prefixes_.evictions();
  return c;
}

void ConnGuardConfig::Describe(config::Schema& s) {
  s.Integer("server", "max_clients", &max_clients, 1, 100000,
            "concurrent sockets, joined or not; more are rejected at accept");
  s.Integer("server", "multiclient_limit", &multiclient_limit, 1, 100000,
            "concurrent sockets from one IP (IPv6: one /64)");
  s.Integer(
      "server", "max_tracked_ips", &max_tracked_ips, 16, 10000000,
      "cap of every per-IP table; the stalest entry is evicted when full");
  s.Integer("server", "pending_per_ip", &pending_per_ip, 1, 100000,
            "concurrent connections from one client block that have not "
            "completed the handshake");
  s.Integer("server", "max_pending", &max_pending, 1, 100000,
            "connections that have not completed the handshake, in total, "
            "out of max_clients; when reached an arrival evicts or is refused");
  s.Integer("server", "prefix_multiclient_limit", &prefix_multiclient_limit, 1,
            1000000,
            "concurrent sockets from one prefix (prefix_v4 / prefix_v6); known "
            "blocks are exempt");
  s.Bool("server", "evict_when_full", &evict_when_full,
         "when max_clients or max_pending is reached, an arrival evicts the "
         "oldest unprotected connection of the prefix holding the most slots "
         "instead of being refused");
  // The limits below are sliding windows: they can count at most
  // kMaxSlidingWindowLimit events, so that is their range.
  s.Integer("ratelimit", "conn_rate_limit", &conn_rate_limit, 1,
            kMaxSlidingWindowLimit,
            "connection attempts per IP per conn_rate_window; refused "
            "attempts count");
  s.Seconds("ratelimit", "conn_rate_window", &conn_rate_window, 0.1, 86400,
            "sliding window of conn_rate_limit");
  s.Bool("ratelimit", "conn_flood_autoban", &flood_autoban,
         "ban IPs that keep hitting the connection rate limit");
  s.Integer("ratelimit", "flood_ban_threshold", &flood_ban_threshold, 1,
            kMaxSlidingWindowLimit,
            "rate-limit refusals within conn_rate_window that trigger the "
            "autoban");
  s.Seconds("ratelimit", "flood_ban_duration", &flood_ban_duration, 0,
            315360000, "autoban length; 0 = permanent");
  s.Integer("ratelimit", "prefix_v4", &prefix_v4, 8, 32,
            "IPv4 prefix length that groups client blocks");
  s.Integer("ratelimit", "prefix_v6", &prefix_v6, 16, 64,
            "IPv6 prefix length that groups client blocks (/64s)");
  s.Integer("ratelimit", "prefix_conn_rate_limit", &prefix_conn_rate_limit, 1,
            kMaxSlidingWindowLimit,
            "connection attempts per prefix per conn_rate_window; refused "
            "attempts count");
  s.Integer("ratelimit", "prefix_ban_threshold", &prefix_ban_threshold, 1,
            1000,
            "autobanned client blocks inside one prefix (within "
            "flood_ban_duration) that ban the prefix");
  s.Custom<CidrSet>(
      "security", "allowlist", &allowlist,
      "comma-separated IPs/CIDRs exempt from rate, multiclient, prefix and "
      "pending limits and from eviction (never from bans)",
      [](absl::string_view v) -> absl::StatusOr<CidrSet> {
        absl::Status printable = config::CheckPrintable(v, 65536);
        if (!printable.ok()) return printable;
        return CidrSet::Parse(v);
      },
      [](const CidrSet& set) { return set.text(); });
}

}  // namespace muwarden::guard
