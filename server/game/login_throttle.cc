#include "server/game/login_throttle.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace muwarden::game {
namespace {

// How many of the stalest account entries a full table looks at for one that
// is not locked. Bounded so a table full of locks refuses in O(1) instead of
// scanning it all on every failure.
constexpr int kAccountEvictScan = 32;

guard::SlidingWindowConfig WindowBelow(int limit, absl::Duration window) {
  return {std::max(limit, 1) - 1, window};
}

}  // namespace

std::string AccountKey(absl::string_view name) {
  return absl::AsciiStrToLower(name);
}

guard::IpKey PrefixKeyOf(const guard::IpAddress& ip,
                         const PrefixLengths& lengths) {
  return guard::KeyOf(guard::Masked(
      ip, ip.family == guard::IpFamily::kV4 ? lengths.v4 : lengths.v6));
}

LoginThrottle::LoginThrottle(const LoginThrottleConfig& config,
                             PrefixLengths prefixes)
    : config_(config),
      prefixes_(prefixes),
      ip_window_(WindowBelow(config.ip_fail_limit, config.ip_fail_window)),
      account_window_(
          WindowBelow(config.account_fail_limit, config.account_fail_window)),
      prefix_window_(
          WindowBelow(config.prefix_fail_limit, config.prefix_fail_window)),
      ips_(guard::IpTableConfig{std::max<size_t>(config.max_tracked_ips, 1)}),
      prefix_table_(
          guard::IpTableConfig{std::max<size_t>(config.max_tracked_ips, 1)}) {}

bool LoginThrottle::IsAccountLocked(absl::string_view account, absl::Time now) {
  const std::string key = AccountKey(account);
  MutexLock lock(&mu_);
  return AccountLockedLocked(key, now);
}

bool LoginThrottle::IsPrefixLocked(const guard::IpAddress& ip,
                                   absl::Time now) {
  MutexLock lock(&mu_);
  return PrefixLockedLocked(PrefixKeyOf(ip, prefixes_), now);
}

LoginLock LoginThrottle::Check(absl::string_view account,
                               const guard::IpAddress& ip, bool known,
                               absl::Time now) {
  if (known && !config_.lock_known_blocks) return LoginLock::kNone;
  const std::string key = AccountKey(account);
  MutexLock lock(&mu_);
  if (!key.empty() && AccountLockedLocked(key, now)) return LoginLock::kAccount;
  if (PrefixLockedLocked(PrefixKeyOf(ip, prefixes_), now)) {
    return LoginLock::kPrefix;
  }
  return LoginLock::kNone;
}

bool LoginThrottle::PrefixLockedLocked(const guard::IpKey& key,
                                       absl::Time now) {
  const PrefixFailures* entry = prefix_table_.Find(key);
  return entry != nullptr && now < entry->locked_until;
}

bool LoginThrottle::AccountLockedLocked(const std::string& key,
                                        absl::Time now) const {
  auto it = account_index_.find(key);
  if (it != account_index_.end()) return now < it->second->locked_until;
  // Fail closed: while the table is so full of locks that a new account could
  // not be tracked, an untracked account is treated as locked, rather than left
  // with no failure limit.
  return accounts_.size() >=
             std::max<size_t>(config_.max_tracked_accounts, 1) &&
         now < saturated_until_;
}

LoginThrottle::AccountFailures* LoginThrottle::FindOrInsertAccount(
    const std::string& key, absl::Time now) {
  if (auto it = account_index_.find(key); it != account_index_.end()) {
    accounts_.splice(accounts_.begin(), accounts_, it->second);
    return &*it->second;
  }
  if (accounts_.size() >= std::max<size_t>(config_.max_tracked_accounts, 1)) {
    auto victim = accounts_.end();
    int looked = 0;
    for (auto it = accounts_.end();
         it != accounts_.begin() && looked < kAccountEvictScan; ++looked) {
      --it;
      if (now >= it->locked_until) {
        victim = it;
        break;
      }
    }
    // Evicting a lock would lift it: refuse to track instead, and fail closed
    // for untracked accounts (IsAccountLocked) for as long as a lock lasts.
    if (victim == accounts_.end()) {
      saturated_until_ = now + config_.account_lock_duration;
      return nullptr;
    }
    account_index_.erase(victim->key);
    accounts_.erase(victim);
  }
  accounts_.push_front(AccountFailures{
      key, guard::SlidingWindow(account_window_), absl::InfinitePast()});
  account_index_.emplace(key, accounts_.begin());
  return &accounts_.front();
}

LoginFailureVerdict LoginThrottle::RecordFailure(const guard::IpAddress& ip,
                                                 absl::string_view account,
                                                 absl::Time now) {
  LoginFailureVerdict verdict;
  const std::string key = AccountKey(account);
  MutexLock lock(&mu_);
  if (IpFailures* entry = ips_.FindOrInsert(guard::KeyOf(ip), now, ip_window_);
      entry != nullptr && !entry->window.TryAcquire(now)) {
    verdict.ban_ip = true;
  }
  // Like the account's: not extended while it holds, and the window starts
  // empty when it ends.
  if (PrefixFailures* entry = prefix_table_.FindOrInsert(
          PrefixKeyOf(ip, prefixes_), now, prefix_window_);
      entry != nullptr && now >= entry->locked_until &&
      !entry->window.TryAcquire(now)) {
    entry->locked_until = now + config_.prefix_lock_duration;
    entry->window.Reset();
    verdict.prefix_locked = true;
  }
  if (key.empty()) return verdict;
  AccountFailures* entry = FindOrInsertAccount(key, now);
  if (entry == nullptr || now < entry->locked_until) return verdict;
  if (!entry->window.TryAcquire(now)) {
    entry->locked_until = now + config_.account_lock_duration;
    // The failures that caused this lock do not count towards the next one.
    entry->window.Reset();
    verdict.account_locked = true;
  }
  return verdict;
}

size_t LoginThrottle::tracked_ips() const {
  MutexLock lock(&mu_);
  return ips_.size();
}

size_t LoginThrottle::tracked_prefixes() const {
  MutexLock lock(&mu_);
  return prefix_table_.size();
}

size_t LoginThrottle::tracked_accounts() const {
  MutexLock lock(&mu_);
  return accounts_.size();
}

size_t LoginThrottle::locked_accounts(absl::Time now) const {
  MutexLock lock(&mu_);
  return static_cast<size_t>(std::count_if(
      accounts_.begin(), accounts_.end(),
      [now](const AccountFailures& a) { return now < a.locked_until; }));
}

void LoginThrottleConfig::Describe(config::Schema& s) {
  // Both limits are sliding windows, which count at most
  // kMaxSlidingWindowLimit events.
  s.Integer("game", "login_ip_fail_limit", &ip_fail_limit, 1,
            guard::kMaxSlidingWindowLimit,
            "failed logins per IP (IPv6: per /64) within login_ip_fail_window; "
            "the one that reaches it bans the IP");
  s.Seconds("game", "login_ip_fail_window", &ip_fail_window, 1, 86400,
            "sliding window of login_ip_fail_limit");
  s.Integer("game", "login_prefix_fail_limit", &prefix_fail_limit, 1,
            guard::kMaxSlidingWindowLimit,
            "failed logins per prefix (IPv4 /24, IPv6 /48) within "
            "login_prefix_fail_window; the one that reaches it locks the "
            "prefix for its unknown blocks (14)");
  s.Seconds("game", "login_prefix_fail_window", &prefix_fail_window, 1, 86400,
            "sliding window of login_prefix_fail_limit");
  s.Seconds("game", "login_prefix_lock_duration", &prefix_lock_duration, 1,
            86400,
            "how long a locked prefix's unknown blocks are answered 14; "
            "attempts meanwhile do not extend it");
  s.Integer("game", "login_account_fail_limit", &account_fail_limit, 1,
            guard::kMaxSlidingWindowLimit,
            "failed logins per account within login_account_fail_window; the "
            "one that reaches it locks the account for unknown blocks (14); "
            "capped by server.max_tracked_ips");
  s.Seconds("game", "login_account_fail_window", &account_fail_window, 1, 86400,
            "sliding window of login_account_fail_limit");
  s.Seconds("game", "login_account_lock_duration", &account_lock_duration, 1,
            86400,
            "how long a locked account answers 'temporarily blocked' (14) to "
            "unknown blocks; attempts meanwhile do not extend it");
  s.Bool("game", "login_lock_known_blocks", &lock_known_blocks,
         "true: account and prefix locks also refuse the blocks an account "
         "logged in from before, so a guesser can lock a player out");
}

}  // namespace muwarden::game
