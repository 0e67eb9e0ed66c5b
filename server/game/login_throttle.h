// LoginThrottle: counts failed logins per client block (an IPv4 address or an
// IPv6 /64), per prefix (IPv4 /24, IPv6 /48 by default) and per account name
// in exact sliding windows. The failure that brings a block to its limit asks
// for a ban; the one that brings a prefix or an account to its limit locks it
// for a fixed time. Locks apply to unknown blocks only: a block the account
// logged in from before (the caller knows) still logs in, so guessing cannot
// lock a player out. A locked prefix records no more failures, so one prefix
// adds at most prefix_fail_limit entries to the block and account tables per
// lock period. Every table is bounded (least recently used entry evicted).
// Thread-safe: one mutex, no I/O under it.
#ifndef MUWARDEN_SERVER_GAME_LOGIN_THROTTLE_H_
#define MUWARDEN_SERVER_GAME_LOGIN_THROTTLE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/guard/ip_address.h"
#include "common/guard/ip_table.h"
#include "common/guard/sliding_window.h"

namespace muwarden::game {

struct LoginThrottleConfig {
  // The ip_fail_limit-th failure inside ip_fail_window asks for a ban.
  int ip_fail_limit = 10;
  absl::Duration ip_fail_window = absl::Seconds(600);
  // The prefix_fail_limit-th failure from one prefix inside prefix_fail_window
  // refuses logins from the prefix's unknown blocks for prefix_lock_duration.
  int prefix_fail_limit = 50;
  absl::Duration prefix_fail_window = absl::Seconds(600);
  absl::Duration prefix_lock_duration = absl::Seconds(900);
  // The account_fail_limit-th failure inside account_fail_window locks the
  // account for account_lock_duration.
  int account_fail_limit = 5;
  absl::Duration account_fail_window = absl::Seconds(300);
  absl::Duration account_lock_duration = absl::Seconds(900);
  // The old behaviour: account and prefix locks refuse known blocks too.
  bool lock_known_blocks = false;
  // Caps of the tables (max_tracked_ips for all by default).
  size_t max_tracked_ips = 65536;
  size_t max_tracked_accounts = 65536;

  // [game] login_ip_fail_*, login_prefix_*, login_account_*,
  // login_lock_known_blocks. The table caps follow server.max_tracked_ips
  // (GameSettings).
  void Describe(config::Schema& schema);
};

// How client blocks group into prefixes: [ratelimit] prefix_v4 / prefix_v6
// (SPEC section 4a), owned by the connection guard's settings and passed in.
struct PrefixLengths {
  int v4 = 24;
  int v6 = 48;
};

// The key of `ip`'s prefix: the address masked to its family's length.
guard::IpKey PrefixKeyOf(const guard::IpAddress& ip,
                         const PrefixLengths& lengths);

struct LoginFailureVerdict {
  bool ban_ip = false;          // this failure brought the IP to its limit
  bool account_locked = false;  // this failure locked the account
  bool prefix_locked = false;   // this failure locked the prefix
};

enum class LoginLock { kNone, kAccount, kPrefix };

class LoginThrottle {
 public:
  explicit LoginThrottle(const LoginThrottleConfig& config,
                         PrefixLengths prefixes = {});
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // Whether logins to `account` are refused at `now` (monotonic). Names are
  // compared ASCII case-insensitively, like the account store.
  bool IsAccountLocked(absl::string_view account, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `ip`'s prefix is locked at `now`.
  bool IsPrefixLocked(const guard::IpAddress& ip, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The lock that refuses a login of `account` from `ip` at `now`: none for
  // a `known` block (the account logged in from ip's block before) unless
  // lock_known_blocks; else the account's lock, then the prefix's.
  LoginLock Check(absl::string_view account, const guard::IpAddress& ip,
                  bool known, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Records one failed login from `ip` for `account` (empty: a name that
  // cannot be an account, counted against the IP only).
  //
  // The lock is not extended by attempts made while it holds (those are
  // answered without a password check and are not failures), and the
  // account's window starts empty when the lock ends: an attacker who keeps
  // guessing re-locks the account at most once per lock period, and the owner
  // can log in whenever no attack is under way. Nothing here locks anyone out
  // for longer than account_lock_duration after the last attack.
  LoginFailureVerdict RecordFailure(const guard::IpAddress& ip,
                                    absl::string_view account, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  size_t tracked_ips() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t tracked_prefixes() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t tracked_accounts() const ABSL_LOCKS_EXCLUDED(mu_);
  // Accounts currently locked (for tests and diagnostics; O(tracked)).
  size_t locked_accounts(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct IpFailures {
    explicit IpFailures(const guard::SlidingWindowConfig& c) : window(c) {}
    // A flood of fresh IPs may push out an old count; a real attacker reaches
    // the limit long before the table turns over.
    bool Evictable() const { return true; }
    guard::SlidingWindow window;
  };
  struct PrefixFailures {
    explicit PrefixFailures(const guard::SlidingWindowConfig& c) : window(c) {}
    // Evicting a locked prefix ends its lock early; it takes max_tracked_ips
    // other prefixes failing since, which no longer is one prefix's attack.
    bool Evictable() const { return true; }
    guard::SlidingWindow window;
    absl::Time locked_until = absl::InfinitePast();
  };
  struct AccountFailures {
    std::string key;  // lower-case name
    guard::SlidingWindow window;
    absl::Time locked_until = absl::InfinitePast();
  };
  using AccountList = std::list<AccountFailures>;

  // The account's entry, moved to the front; nullptr when the table is full
  // and none of the stalest entries may be evicted.
  AccountFailures* FindOrInsertAccount(const std::string& key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AccountLockedLocked(const std::string& key, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PrefixLockedLocked(const guard::IpKey& key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const LoginThrottleConfig config_;
  const PrefixLengths prefixes_;
  // Windows hold limit - 1 events: TryAcquire refuses exactly the failure
  // that makes `limit` inside the window.
  const guard::SlidingWindowConfig ip_window_;
  const guard::SlidingWindowConfig account_window_;
  const guard::SlidingWindowConfig prefix_window_;

  mutable Mutex mu_;
  guard::IpTable<IpFailures> ips_ ABSL_GUARDED_BY(mu_);
  guard::IpTable<PrefixFailures> prefix_table_ ABSL_GUARDED_BY(mu_);
  // Front = most recently touched.
  AccountList accounts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, AccountList::iterator> account_index_
      ABSL_GUARDED_BY(mu_);
  // Until when a full table of locks makes untracked accounts count as locked.
  absl::Time saturated_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// ASCII lower case: the key of an account name (the store is case-insensitive).
std::string AccountKey(absl::string_view name);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_LOGIN_THROTTLE_H_
