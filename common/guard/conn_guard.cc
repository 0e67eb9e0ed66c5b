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

}  // namespace

AdmitTicket::AdmitTicket(AdmitTicket&& other) noexcept
    : guard_(std::exchange(other.guard_, nullptr)),
      key_(other.key_),
      per_ip_(other.per_ip_) {}

AdmitTicket& AdmitTicket::operator=(AdmitTicket&& other) noexcept {
  if (this != &other) {
    Release();
    guard_ = std::exchange(other.guard_, nullptr);
    key_ = other.key_;
    per_ip_ = other.per_ip_;
  }
  return *this;
}

void AdmitTicket::Release() {
  if (ConnGuard* guard = std::exchange(guard_, nullptr)) {
    guard->Release(key_, per_ip_);
  }
}

ConnGuard::IpState::IpState(const ConnGuardConfig& config)
    : attempts(AttemptWindow(config)), refusals(RefusalWindow(config)) {}

ConnGuard::ConnGuard(const ConnGuardConfig& config, Clock& clock)
    : config_(config),
      clock_(clock),
      table_(IpTableConfig{config.max_tracked_ips}) {}

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

AdmitResult ConnGuard::Admit(const IpAddress& ip) {
  // The allowlist is immutable after construction: no lock needed.
  const bool allowlisted = config_.allowlist.Contains(ip);
  const IpKey key = KeyOf(ip);
  AdmitResult result;
  {
    MutexLock lock(&mu_);
    // Read under the lock so the windows only ever see times in order.
    const absl::Time now = clock_.Now();
    if (allowlisted) {
      if (active_ >= config_.max_clients) {
        return RecordRejection(RejectReason::kServerFull);
      }
      ++active_;
      result.ticket = AdmitTicket(this, key, /*per_ip=*/false);
    } else {
      IpState* state = table_.FindOrInsert(key, now, config_);
      if (state == nullptr) return RecordRejection(RejectReason::kTableFull);
      if (!state->attempts.RecordAndCheck(now)) {
        if (config_.flood_autoban && !state->refusals.RecordAndCheck(now)) {
          // Start over so one burst yields one ban, not one per attempt.
          state->refusals.Reset();
          AdmitResult ban = RecordRejection(RejectReason::kFloodAutoban);
          ban.ban_duration = config_.flood_ban_duration <= absl::ZeroDuration()
                                 ? absl::InfiniteDuration()
                                 : config_.flood_ban_duration;
          return ban;
        }
        return RecordRejection(RejectReason::kConnRate);
      }
      if (state->active >= config_.multiclient_limit) {
        return RecordRejection(RejectReason::kMulticlient);
      }
      if (active_ >= config_.max_clients) {
        return RecordRejection(RejectReason::kServerFull);
      }
      ++state->active;
      ++active_;
      result.ticket = AdmitTicket(this, key, /*per_ip=*/true);
    }
  }
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

void ConnGuard::Release(const IpKey& key, bool per_ip) {
  MutexLock lock(&mu_);
  if (active_ <= 0) Die("released more slots than were taken");
  --active_;
  if (!per_ip) return;
  IpState* state = table_.Find(key);
  // An entry with live tickets is never evicted.
  if (state == nullptr || state->active <= 0) Die("per-IP slot lost");
  if (--state->active == 0) {
    // Un-park it so it can be evicted again (IpTable's contract).
    table_.Touch(key, clock_.Now());
  }
}

ConnGuardCounters ConnGuard::Counters() const {
  ConnGuardCounters c;
  c.admitted = admitted_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    c.rejected[i] = rejected_[i].load(std::memory_order_relaxed);
  }
  MutexLock lock(&mu_);
  c.active = active_;
  c.tracked_ips = table_.size();
  c.evictions = table_.evictions();
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
  s.Custom<CidrSet>(
      "security", "allowlist", &allowlist,
      "comma-separated IPs/CIDRs exempt from rate and multiclient limits "
      "(never from bans)",
      [](absl::string_view v) -> absl::StatusOr<CidrSet> {
        absl::Status printable = config::CheckPrintable(v, 65536);
        if (!printable.ok()) return printable;
        return CidrSet::Parse(v);
      },
      [](const CidrSet& set) { return set.text(); });
}

}  // namespace muwarden::guard
