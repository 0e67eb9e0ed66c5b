#include "server/game/login_throttle.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"

namespace muwarden::game {
namespace {

guard::IpAddress Ip(uint8_t last) {
  return guard::IpAddress::V4(10, 0, 0, last);
}

LoginThrottleConfig Config() {
  LoginThrottleConfig c;
  c.ip_fail_limit = 4;
  c.ip_fail_window = absl::Seconds(60);
  c.account_fail_limit = 3;
  c.account_fail_window = absl::Seconds(30);
  c.account_lock_duration = absl::Seconds(100);
  return c;
}

// Config() with small tables.
LoginThrottleConfig WithTables(size_t max_ips, size_t max_accounts) {
  LoginThrottleConfig c = Config();
  c.max_tracked_ips = max_ips;
  c.max_tracked_accounts = max_accounts;
  return c;
}

TEST(LoginThrottleTest, IpBannedAtTheLimitthFailureInsideTheWindow) {
  FakeClock clock;
  LoginThrottle t(Config());
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip) << i;
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_TRUE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip);
  // Another IP is not affected.
  EXPECT_FALSE(t.RecordFailure(Ip(2), "", clock.Now()).ban_ip);
}

TEST(LoginThrottleTest, IpWindowSlides) {
  FakeClock clock;
  LoginThrottle t(Config());
  // Three failures at t=0, 1, 2; the fourth at t=60 finds the first gone.
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip);
    clock.Advance(absl::Seconds(1));
  }
  clock.Advance(absl::Seconds(57));  // t = 60: the t=0 failure just left
  EXPECT_FALSE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip);
  // t = 60 now holds failures at 1, 2, 60; one more before t=61 bans.
  clock.Advance(absl::Milliseconds(999));
  EXPECT_TRUE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip);
}

TEST(LoginThrottleTest, LimitOfOneBansAtTheFirstFailure) {
  FakeClock clock;
  LoginThrottleConfig c = Config();
  c.ip_fail_limit = 1;
  LoginThrottle t(c);
  EXPECT_TRUE(t.RecordFailure(Ip(1), "", clock.Now()).ban_ip);
}

TEST(LoginThrottleTest, Ipv6CountsPerSlash64) {
  FakeClock clock;
  LoginThrottle t(Config());
  for (int i = 0; i < 3; ++i) {
    auto ip = guard::ParseIp(absl::StrCat("2001:db8:1:2::", i + 1));
    ASSERT_TRUE(ip.ok());
    EXPECT_FALSE(t.RecordFailure(*ip, "", clock.Now()).ban_ip);
  }
  EXPECT_TRUE(
      t.RecordFailure(*guard::ParseIp("2001:db8:1:2:ffff::9"), "", clock.Now())
          .ban_ip);
  EXPECT_FALSE(
      t.RecordFailure(*guard::ParseIp("2001:db8:1:3::1"), "", clock.Now())
          .ban_ip);
}

TEST(LoginThrottleTest, AccountLockedAtLimitFromManyIpsAndCaseInsensitive) {
  FakeClock clock;
  LoginThrottle t(Config());
  EXPECT_FALSE(t.RecordFailure(Ip(1), "Victim", clock.Now()).account_locked);
  EXPECT_FALSE(t.RecordFailure(Ip(2), "victim", clock.Now()).account_locked);
  EXPECT_FALSE(t.IsAccountLocked("VICTIM", clock.Now()));
  EXPECT_TRUE(t.RecordFailure(Ip(3), "VICTIM", clock.Now()).account_locked);
  EXPECT_TRUE(t.IsAccountLocked("victim", clock.Now()));
  EXPECT_FALSE(t.IsAccountLocked("other", clock.Now()));
  EXPECT_EQ(t.locked_accounts(clock.Now()), 1u);
}

TEST(LoginThrottleTest, LockEndsAfterItsDurationAndIsNotExtended) {
  FakeClock clock;
  LoginThrottle t(Config());
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(1), "victim", clock.Now());
  ASSERT_TRUE(t.IsAccountLocked("victim", clock.Now()));
  // Failures recorded during the lock neither extend it nor count later.
  clock.Advance(absl::Seconds(50));
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(t.RecordFailure(Ip(9), "victim", clock.Now()).account_locked);
  }
  clock.Advance(absl::Seconds(49));
  EXPECT_TRUE(t.IsAccountLocked("victim", clock.Now()));
  clock.Advance(absl::Seconds(1));  // 100 s after the lock
  EXPECT_FALSE(t.IsAccountLocked("victim", clock.Now()));
  // The window restarted empty: two more failures do not lock, the third does.
  EXPECT_FALSE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
  EXPECT_FALSE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
  EXPECT_TRUE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
}

TEST(LoginThrottleTest, AccountWindowSlides) {
  FakeClock clock;
  LoginThrottle t(Config());
  t.RecordFailure(Ip(1), "victim", clock.Now());
  clock.Advance(absl::Seconds(20));
  t.RecordFailure(Ip(1), "victim", clock.Now());
  clock.Advance(absl::Seconds(10));  // the first failure left the 30 s window
  EXPECT_FALSE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
  EXPECT_TRUE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
}

TEST(LoginThrottleTest, EmptyNameCountsAgainstTheIpOnly) {
  FakeClock clock;
  LoginThrottle t(Config());
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(1), "", clock.Now());
  EXPECT_EQ(t.tracked_accounts(), 0u);
  EXPECT_EQ(t.tracked_ips(), 1u);
}

TEST(LoginThrottleTest, TablesAreBounded) {
  FakeClock clock;
  LoginThrottle t(WithTables(8, 8));
  for (int i = 0; i < 100; ++i) {
    t.RecordFailure(Ip(static_cast<uint8_t>(i)), absl::StrCat("name", i),
                    clock.Now());
  }
  EXPECT_EQ(t.tracked_ips(), 8u);
  EXPECT_EQ(t.tracked_accounts(), 8u);
}

TEST(LoginThrottleTest, FullTableNeverEvictsALock) {
  FakeClock clock;
  LoginThrottle t(WithTables(LoginThrottleConfig{}.max_tracked_ips, 2));
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(1), "locked1", clock.Now());
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(1), "locked2", clock.Now());
  ASSERT_EQ(t.locked_accounts(clock.Now()), 2u);
  // A third name finds no evictable entry: it is not tracked, the locks stay,
  // and rather than leave it with no failure limit the throttle fails closed:
  // it counts as locked.
  EXPECT_FALSE(t.IsAccountLocked("fresh", clock.Now()));
  t.RecordFailure(Ip(2), "fresh", clock.Now());
  EXPECT_TRUE(t.IsAccountLocked("locked1", clock.Now()));
  EXPECT_TRUE(t.IsAccountLocked("locked2", clock.Now()));
  EXPECT_TRUE(t.IsAccountLocked("fresh", clock.Now()));
  EXPECT_TRUE(t.IsAccountLocked("another", clock.Now()));
  // Once a lock expires its entry may be reused.
  clock.Advance(absl::Seconds(100));
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(2), "fresh", clock.Now());
  EXPECT_TRUE(t.IsAccountLocked("fresh", clock.Now()));
}


guard::IpAddress V6(const std::string& text) { return *guard::ParseIp(text); }

TEST(LoginThrottleTest, AccountLockSparesTheBlocksItLoggedInFromBefore) {
  FakeClock clock;
  LoginThrottle t(Config());
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(10 + i), "victim", clock.Now());
  ASSERT_TRUE(t.IsAccountLocked("victim", clock.Now()));
  // The owner's block (known) still logs in; any unknown block is refused.
  EXPECT_EQ(t.Check("victim", Ip(1), /*known=*/true, clock.Now()),
            LoginLock::kNone);
  EXPECT_EQ(t.Check("Victim", Ip(99), /*known=*/false, clock.Now()),
            LoginLock::kAccount);
  EXPECT_EQ(t.Check("other", Ip(99), /*known=*/false, clock.Now()),
            LoginLock::kNone);
}

TEST(LoginThrottleTest, LockKnownBlocksRestoresTheLockForEveryBlock) {
  FakeClock clock;
  LoginThrottleConfig c = Config();
  c.lock_known_blocks = true;
  LoginThrottle t(c);
  for (int i = 0; i < 3; ++i) t.RecordFailure(Ip(10 + i), "victim", clock.Now());
  EXPECT_EQ(t.Check("victim", Ip(1), /*known=*/true, clock.Now()),
            LoginLock::kAccount);
}

TEST(LoginThrottleTest, PrefixLockedAtItsLimitForItsUnknownBlocksOnly) {
  FakeClock clock;
  LoginThrottleConfig c = Config();
  c.prefix_fail_limit = 5;
  c.prefix_lock_duration = absl::Seconds(100);
  LoginThrottle t(c);
  // Five blocks of 10.0.0.0/24, one failure each, five names: no block and no
  // account reaches its limit, the prefix does.
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(t.RecordFailure(Ip(10 + i), absl::StrCat("name", i),
                                 clock.Now())
                     .prefix_locked);
  }
  EXPECT_TRUE(t.RecordFailure(Ip(14), "name4", clock.Now()).prefix_locked);
  EXPECT_EQ(t.Check("anyone", Ip(200), false, clock.Now()), LoginLock::kPrefix);
  EXPECT_EQ(t.Check("anyone", Ip(200), true, clock.Now()), LoginLock::kNone);
  // Another /24 is not affected.
  EXPECT_EQ(t.Check("anyone", guard::IpAddress::V4(10, 0, 1, 1), false,
                    clock.Now()),
            LoginLock::kNone);
  clock.Advance(absl::Seconds(100));
  EXPECT_EQ(t.Check("anyone", Ip(200), false, clock.Now()), LoginLock::kNone);
}

TEST(LoginThrottleTest, PrefixLengthsComeFromTheConstructor) {
  FakeClock clock;
  LoginThrottleConfig c = Config();
  c.prefix_fail_limit = 2;
  LoginThrottle t(c, PrefixLengths{16, 32});
  t.RecordFailure(guard::IpAddress::V4(10, 0, 1, 1), "", clock.Now());
  t.RecordFailure(guard::IpAddress::V4(10, 0, 2, 1), "", clock.Now());
  EXPECT_TRUE(t.IsPrefixLocked(guard::IpAddress::V4(10, 0, 9, 9), clock.Now()));
  EXPECT_FALSE(t.IsPrefixLocked(guard::IpAddress::V4(10, 1, 0, 1), clock.Now()));
  t.RecordFailure(V6("2001:db8:1::1"), "", clock.Now());
  t.RecordFailure(V6("2001:db8:2::1"), "", clock.Now());
  EXPECT_TRUE(t.IsPrefixLocked(V6("2001:db8:ffff::1"), clock.Now()));
}

TEST(LoginThrottleTest, OneSlash48CannotFillTheTables) {
  // 20,000 /64s of one /48 guessing 20,000 names, as the game session does:
  // a locked prefix is refused before any failure is recorded.
  FakeClock clock;
  LoginThrottleConfig c = WithTables(1000, 1000);
  c.prefix_fail_limit = 50;
  LoginThrottle t(c);
  t.RecordFailure(Ip(1), "victim", clock.Now());  // someone else's count
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const guard::IpAddress ip =
        V6(absl::StrCat("2001:db8:7:", absl::Hex(i), "::1"));
    const std::string name = absl::StrCat("n", i);
    if (t.Check(name, ip, false, clock.Now()) != LoginLock::kNone) {
      ++refused;
      continue;
    }
    t.RecordFailure(ip, name, clock.Now());
  }
  EXPECT_EQ(refused, 20000 - 50);
  EXPECT_EQ(t.tracked_prefixes(), 2u);
  EXPECT_LE(t.tracked_ips(), 51u);
  EXPECT_LE(t.tracked_accounts(), 51u);
  // The other entries were not pushed out: victim's count is still there.
  t.RecordFailure(Ip(1), "victim", clock.Now());
  EXPECT_TRUE(t.RecordFailure(Ip(1), "victim", clock.Now()).account_locked);
}

}  // namespace
}  // namespace muwarden::game
