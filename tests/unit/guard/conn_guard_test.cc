#include "common/guard/conn_guard.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

IpAddress Ip(const char* text) { return *ParseIp(text); }

ConnGuardConfig Config() {
  ConnGuardConfig config;
  config.conn_rate_limit = 3;
  config.conn_rate_window = absl::Seconds(10);
  config.flood_ban_threshold = 100;  // out of the way unless a test wants it
  config.multiclient_limit = 100;
  config.max_clients = 1000;
  // The prefix and pending limits are out of the way too; the tests of
  // SPEC 4a below set them.
  config.pending_per_ip = 100000;
  config.max_pending = 100000;
  config.prefix_conn_rate_limit = kMaxSlidingWindowLimit;
  config.prefix_multiclient_limit = 100000;
  return config;
}

// Admits and immediately releases.
RejectReason Try(ConnGuard& guard, const IpAddress& ip, bool known = false) {
  return guard.Admit(ip, known).reason;
}

TEST(ConnGuardTest, AdmitAndRelease) {
  FakeClock clock;
  ConnGuard guard(Config(), clock);
  {
    AdmitResult r = guard.Admit(Ip("203.0.113.7"));
    EXPECT_TRUE(r.admitted());
    EXPECT_EQ(r.reason, RejectReason::kNone);
    EXPECT_TRUE(r.ticket.held());
    ConnGuardCounters c = guard.Counters();
    EXPECT_EQ(c.admitted, 1u);
    EXPECT_EQ(c.active, 1);
    EXPECT_EQ(c.tracked_ips, 1u);
  }
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.admitted, 1u);
  EXPECT_EQ(c.active, 0);
  for (size_t i = 0; i < kRejectReasonCount; ++i) EXPECT_EQ(c.rejected[i], 0u);
}

TEST(ConnGuardTest, RateWindowEdgesAndRefusalsCount) {
  FakeClock clock;
  ConnGuard guard(Config(), clock);
  const IpAddress ip = Ip("203.0.113.7");
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);  // t=0
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);  // t=1
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);  // t=2
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);  // t=5, limit + 1
  // Another IP is not affected.
  EXPECT_EQ(Try(guard, Ip("203.0.113.8")), RejectReason::kNone);
  clock.Advance(absl::Seconds(5));
  // t=10: the attempt at 0 left, but the refused one at 5 counts: 1, 2, 5.
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);
  // Last three attempts: 2, 5, 10. Allowed exactly when 2 leaves, at 12.
  clock.Advance(absl::Seconds(2) - absl::Nanoseconds(1));
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);
  // Now 5, 10, 12-1ns: allowed at 15.
  clock.Advance(absl::Seconds(3) + absl::Nanoseconds(1));
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.admitted, 5u);
  EXPECT_EQ(c.Rejected(RejectReason::kConnRate), 3u);
  EXPECT_EQ(c.Rejected(RejectReason::kFloodAutoban), 0u);
}

TEST(ConnGuardTest, HammeringStaysRefused) {
  FakeClock clock;
  ConnGuard guard(Config(), clock);
  const IpAddress ip = Ip("198.51.100.1");
  int admitted = 0;
  for (int i = 0; i < 200; ++i) {
    admitted += Try(guard, ip) == RejectReason::kNone ? 1 : 0;
    clock.Advance(absl::Milliseconds(500));
  }
  EXPECT_EQ(admitted, 3);
  // Slowing down to one attempt per 4 s (under 3 per 10 s) gets through
  // once the hammering is out of the window.
  clock.Advance(absl::Seconds(10));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Try(guard, ip), RejectReason::kNone) << i;
    clock.Advance(absl::Seconds(4));
  }
}

TEST(ConnGuardTest, AutobanAtExactlyThreshold) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.conn_rate_limit = 2;
  config.flood_ban_threshold = 3;
  config.flood_ban_duration = absl::Seconds(3600);
  ConnGuard guard(config, clock);
  const IpAddress ip = Ip("192.0.2.50");
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);
  EXPECT_EQ(Try(guard, ip), RejectReason::kNone);
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);  // refusal 1
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);  // refusal 2
  AdmitResult ban = guard.Admit(ip);                   // refusal 3
  EXPECT_EQ(ban.reason, RejectReason::kFloodAutoban);
  EXPECT_FALSE(ban.ticket.held());
  EXPECT_EQ(ban.ban_duration, absl::Seconds(3600));
  // The count restarts: one ban per threshold refusals.
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);
  EXPECT_EQ(Try(guard, ip), RejectReason::kConnRate);
  EXPECT_EQ(Try(guard, ip), RejectReason::kFloodAutoban);
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.Rejected(RejectReason::kConnRate), 4u);
  EXPECT_EQ(c.Rejected(RejectReason::kFloodAutoban), 2u);
  EXPECT_EQ(c.admitted, 2u);
}

// limit 1 per 10 s, autoban at 3 refusals per 10 s. Admitted at 0, refused
// at 1 and 2; the next admission is at 12 (the attempt at 2 leaves).
class AutobanDecayTest : public ::testing::Test {
 protected:
  AutobanDecayTest() : guard_(MakeConfig(), clock_) {
    EXPECT_EQ(Try(guard_, ip_), RejectReason::kNone);
    clock_.Advance(absl::Seconds(1));
    EXPECT_EQ(Try(guard_, ip_), RejectReason::kConnRate);
    clock_.Advance(absl::Seconds(1));
    EXPECT_EQ(Try(guard_, ip_), RejectReason::kConnRate);
  }
  static ConnGuardConfig MakeConfig() {
    ConnGuardConfig config = Config();
    config.conn_rate_limit = 1;
    config.flood_ban_threshold = 3;
    return config;
  }
  // Moves the clock to `seconds` after the start.
  void At(absl::Duration since_start) {
    clock_.Advance(since_start - (clock_.Now() - absl::UnixEpoch()));
  }

  FakeClock clock_;
  ConnGuard guard_;
  const IpAddress ip_ = Ip("192.0.2.60");
};

TEST_F(AutobanDecayTest, ThirdRefusalInsideWindowBans) {
  At(absl::Seconds(11) - absl::Nanoseconds(1));
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kFloodAutoban);
}

TEST_F(AutobanDecayTest, RefusalAtOnePlusWindowHasDecayed) {
  At(absl::Seconds(11));  // the refusal at 1 left the window
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kConnRate);
  // Refusals at 2 and 11: one more before 12 bans.
  At(absl::Seconds(11.5));
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kFloodAutoban);
}

TEST_F(AutobanDecayTest, CountDecaysAfterWindow) {
  At(absl::Seconds(40));
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kNone);
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kConnRate);
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kConnRate);
  EXPECT_EQ(Try(guard_, ip_), RejectReason::kFloodAutoban);
}

TEST(ConnGuardTest, AutobanOptions) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.conn_rate_limit = 1;
  config.flood_ban_threshold = 1;
  config.flood_ban_duration = absl::ZeroDuration();
  ConnGuard guard(config, clock);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  AdmitResult ban = guard.Admit(Ip("10.0.0.1"));
  EXPECT_EQ(ban.reason, RejectReason::kFloodAutoban);
  EXPECT_EQ(ban.ban_duration, absl::InfiniteDuration());

  config.flood_autoban = false;
  ConnGuard no_ban(config, clock);
  EXPECT_EQ(Try(no_ban, Ip("10.0.0.1")), RejectReason::kNone);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Try(no_ban, Ip("10.0.0.1")), RejectReason::kConnRate);
  }
  EXPECT_EQ(no_ban.Counters().Rejected(RejectReason::kFloodAutoban), 0u);
}

TEST(ConnGuardTest, Multiclient) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.multiclient_limit = 2;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("203.0.113.9"));
  AdmitResult b = guard.Admit(Ip("203.0.113.9"));
  ASSERT_TRUE(a.admitted());
  ASSERT_TRUE(b.admitted());
  clock.Advance(absl::Seconds(20));
  EXPECT_EQ(Try(guard, Ip("203.0.113.9")), RejectReason::kMulticlient);
  EXPECT_EQ(Try(guard, Ip("203.0.113.10")), RejectReason::kNone);
  a.ticket.Release();
  AdmitResult c = guard.Admit(Ip("203.0.113.9"));
  EXPECT_TRUE(c.admitted());
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kMulticlient), 1u);
  EXPECT_EQ(guard.Counters().active, 2);
}

TEST(ConnGuardTest, Ipv6MulticlientPerSlash64) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.multiclient_limit = 2;
  config.conn_rate_limit = 100;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("2001:db8:1:2::1"));
  AdmitResult b = guard.Admit(Ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  ASSERT_TRUE(a.admitted());
  ASSERT_TRUE(b.admitted());
  EXPECT_EQ(Try(guard, Ip("2001:db8:1:2::3")), RejectReason::kMulticlient);
  AdmitResult other = guard.Admit(Ip("2001:db8:1:3::1"));
  EXPECT_TRUE(other.admitted());
  EXPECT_EQ(guard.Counters().tracked_ips, 2u);
}

TEST(ConnGuardTest, Ipv6RateIsPerSlash64) {
  FakeClock clock;
  ConnGuard guard(Config(), clock);  // 3 per 10 s
  EXPECT_EQ(Try(guard, Ip("2001:db8::1")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("2001:db8::2")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("2001:db8::3")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("2001:db8::4")), RejectReason::kConnRate);
  EXPECT_EQ(Try(guard, Ip("2001:db8:0:1::4")), RejectReason::kNone);
}

TEST(ConnGuardTest, ServerFull) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.max_clients = 2;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("10.0.0.1"));
  AdmitResult b = guard.Admit(Ip("10.0.0.2"));
  AdmitResult full = guard.Admit(Ip("10.0.0.3"));
  EXPECT_EQ(full.reason, RejectReason::kServerFull);
  // Every other check passed: the caller may evict (max_clients, not
  // max_pending, was reached), and counts the refusal itself if it does not.
  EXPECT_TRUE(full.evict);
  EXPECT_FALSE(full.evict_pending);
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kServerFull), 0u);
  b = AdmitResult();  // releases b's slots
  EXPECT_EQ(guard.Counters().active, 1);
  AdmitResult c = guard.Admit(Ip("10.0.0.3"));
  EXPECT_TRUE(c.admitted());
}

TEST(ConnGuardTest, CheckOrder) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.multiclient_limit = 1;
  config.max_clients = 1;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("10.0.0.1"));
  ASSERT_TRUE(a.admitted());
  // Multiclient is checked before server full.
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kMulticlient);
  EXPECT_EQ(Try(guard, Ip("10.0.0.2")), RejectReason::kServerFull);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kMulticlient);
  // Rate (fourth attempt) is checked before multiclient.
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kConnRate);
}

TEST(ConnGuardTest, AllowlistSkipsRateAndMulticlient) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.multiclient_limit = 1;
  config.flood_ban_threshold = 1;
  config.max_clients = 60;
  config.allowlist = *CidrSet::Parse("127.0.0.0/8, 2001:db8:a::/48");
  ConnGuard guard(config, clock);
  std::vector<AdmitTicket> held;
  for (int i = 0; i < 50; ++i) {
    AdmitResult r = guard.Admit(Ip("127.0.0.1"));
    ASSERT_TRUE(r.admitted()) << i;
    held.push_back(std::move(r.ticket));
  }
  AdmitResult v6 = guard.Admit(Ip("2001:db8:a:1::1"));
  ASSERT_TRUE(v6.admitted());
  held.push_back(std::move(v6.ticket));
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.tracked_ips, 0u);  // no table entry for allowlisted peers
  EXPECT_EQ(c.active, 51);
  // Others are still limited.
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kFloodAutoban);
  // But max_clients applies to allowlisted peers too.
  for (int i = 0; i < 9; ++i) {
    AdmitResult r = guard.Admit(Ip("127.0.0.2"));
    ASSERT_TRUE(r.admitted());
    held.push_back(std::move(r.ticket));
  }
  EXPECT_EQ(Try(guard, Ip("127.0.0.2")), RejectReason::kServerFull);
  held.clear();
  EXPECT_EQ(guard.Counters().active, 0);
}

TEST(ConnGuardTest, TableFullRefusesThenEvicts) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.max_tracked_ips = 2;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("10.0.0.1"));
  AdmitResult b = guard.Admit(Ip("10.0.0.2"));
  EXPECT_EQ(Try(guard, Ip("10.0.0.3")), RejectReason::kTableFull);
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kTableFull), 1u);
  // An IP already tracked is still served.
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  a.ticket.Release();  // 10.0.0.1 becomes evictable
  EXPECT_EQ(Try(guard, Ip("10.0.0.3")), RejectReason::kNone);
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.evictions, 1u);
  EXPECT_EQ(c.tracked_ips, 2u);
  // 10.0.0.1 lost its history with its entry: a fresh window.
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
}

TEST(ConnGuardTest, TicketReleasesExactlyOnce) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.multiclient_limit = 1;
  config.conn_rate_limit = 100;
  ConnGuard guard(config, clock);
  AdmitTicket t = guard.Admit(Ip("10.0.0.1")).ticket;
  EXPECT_TRUE(t.held());
  AdmitTicket moved(std::move(t));
  EXPECT_FALSE(t.held());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(guard.Counters().active, 1);
  t.Release();  // moved-from: nothing
  EXPECT_EQ(guard.Counters().active, 1);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kMulticlient);

  AdmitTicket other = guard.Admit(Ip("10.0.0.2")).ticket;
  EXPECT_EQ(guard.Counters().active, 2);
  // Move-assigning over a held ticket releases the old slots.
  other = std::move(moved);
  EXPECT_EQ(guard.Counters().active, 1);
  EXPECT_EQ(Try(guard, Ip("10.0.0.2")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kMulticlient);
  other.Release();
  other.Release();
  EXPECT_EQ(guard.Counters().active, 0);
  EXPECT_EQ(Try(guard, Ip("10.0.0.1")), RejectReason::kNone);
  AdmitTicket empty;
  EXPECT_FALSE(empty.held());
}

TEST(ConnGuardTest, CountRejectedForCallerChecks) {
  FakeClock clock;
  ConnGuard guard(Config(), clock);
  guard.CountRejected(RejectReason::kBanned);
  guard.CountRejected(RejectReason::kBanned);
  guard.CountRejected(RejectReason::kNone);
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.Rejected(RejectReason::kBanned), 2u);
  EXPECT_EQ(c.Rejected(RejectReason::kNone), 0u);
}

// Tickets handed from the accept thread to worker threads, like the runtime.
// std::mutex here so TSan sees the hand-off itself.
class TicketQueue {
 public:
  void Push(AdmitTicket t) {
    std::lock_guard<std::mutex> lock(mu_);
    tickets_.push_back(std::move(t));
    cv_.notify_one();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Blocks until a ticket arrives; false once closed and drained.
  bool Pop(AdmitTicket* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !tickets_.empty() || closed_; });
    if (tickets_.empty()) return false;
    *out = std::move(tickets_.back());
    tickets_.pop_back();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AdmitTicket> tickets_;
  bool closed_ = false;
};

TEST(ConnGuardTest, ReleaseFromOtherThreads) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.conn_rate_limit = 1000;
  config.multiclient_limit = 100000;
  config.max_clients = 100000;
  ConnGuard guard(config, clock);
  constexpr int kWorkers = 4;
  constexpr int kAdmits = 2000;
  TicketQueue queue;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      AdmitTicket t;
      // Each ticket is destroyed here, on the worker thread.
      while (queue.Pop(&t)) t = AdmitTicket();
    });
  }
  // A second admitting thread races with the first and with the releases.
  std::thread second_acceptor([&] {
    for (int i = 0; i < kAdmits / 4; ++i) {
      AdmitResult r = guard.Admit(IpAddress::V4(10, 9, 9, 9));
      EXPECT_TRUE(r.admitted());
      queue.Push(std::move(r.ticket));
    }
  });
  for (int i = 0; i < kAdmits; ++i) {
    AdmitResult r =
        guard.Admit(IpAddress::V4(10, 0, 0, static_cast<uint8_t>(i % 200)));
    EXPECT_TRUE(r.admitted());
    queue.Push(std::move(r.ticket));
  }
  second_acceptor.join();
  queue.Close();
  for (std::thread& t : workers) t.join();
  ConnGuardCounters c = guard.Counters();
  EXPECT_EQ(c.active, 0);
  EXPECT_EQ(c.admitted, static_cast<uint64_t>(kAdmits + kAdmits / 4));
  EXPECT_EQ(c.tracked_ips, 201u);
}

#if !defined(__SANITIZE_THREAD__)
// SPEC 4a: prefixes, pending caps, known blocks.

ConnGuardConfig PrefixConfig() {
  ConnGuardConfig config = Config();
  config.conn_rate_limit = 3;
  config.prefix_conn_rate_limit = 5;
  config.prefix_multiclient_limit = 4;
  config.flood_ban_threshold = 100;
  return config;
}

TEST(ConnGuardPrefixTest, PrefixRateCountsEveryBlockOfThePrefix) {
  FakeClock clock;
  ConnGuard guard(PrefixConfig(), clock);
  // Five blocks of 198.51.100.0/24, one attempt each: the prefix allows 5.
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(Try(guard, IpAddress::V4(198, 51, 100, static_cast<uint8_t>(i))),
              RejectReason::kNone)
        << i;
  }
  EXPECT_EQ(Try(guard, Ip("198.51.100.6")), RejectReason::kPrefixRate);
  // Another /24 is not touched.
  EXPECT_EQ(Try(guard, Ip("198.51.101.6")), RejectReason::kNone);
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kPrefixRate), 1u);
  // The window slides for the prefix as for a block.
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(Try(guard, Ip("198.51.100.7")), RejectReason::kNone);
}

TEST(ConnGuardPrefixTest, Ipv6PrefixIsSlash48) {
  FakeClock clock;
  ConnGuard guard(PrefixConfig(), clock);
  for (int i = 0; i < 5; ++i) {
    IpAddress ip = Ip("2001:db8:7::1");
    ip.bytes[7] = static_cast<uint8_t>(i);  // a new /64 each time
    EXPECT_EQ(Try(guard, ip), RejectReason::kNone) << i;
  }
  EXPECT_EQ(Try(guard, Ip("2001:db8:7:ff::1")), RejectReason::kPrefixRate);
  EXPECT_EQ(Try(guard, Ip("2001:db8:8::1")), RejectReason::kNone);
  EXPECT_EQ(guard.PrefixOf(Ip("2001:db8:7:ff::1")).ToString(),
            "2001:db8:7::/48");
  EXPECT_EQ(guard.PrefixOf(Ip("198.51.100.9")).ToString(), "198.51.100.0/24");
}

TEST(ConnGuardPrefixTest, PrefixMulticlientAfterBlockMulticlient) {
  FakeClock clock;
  ConnGuardConfig config = PrefixConfig();
  config.prefix_conn_rate_limit = 1000;
  config.multiclient_limit = 2;
  ConnGuard guard(config, clock);
  std::vector<AdmitResult> held;
  held.push_back(guard.Admit(Ip("198.51.100.1")));
  held.push_back(guard.Admit(Ip("198.51.100.1")));
  EXPECT_EQ(Try(guard, Ip("198.51.100.1")), RejectReason::kMulticlient);
  held.push_back(guard.Admit(Ip("198.51.100.2")));
  held.push_back(guard.Admit(Ip("198.51.100.3")));
  for (const AdmitResult& r : held) ASSERT_TRUE(r.admitted());
  EXPECT_EQ(Try(guard, Ip("198.51.100.4")), RejectReason::kPrefixLimit);
  held.pop_back();  // a slot of the prefix comes back
  EXPECT_EQ(Try(guard, Ip("198.51.100.4")), RejectReason::kNone);
}

TEST(ConnGuardPrefixTest, KnownBlocksSkipThePrefixLimits) {
  FakeClock clock;
  ConnGuardConfig config = PrefixConfig();
  config.prefix_conn_rate_limit = 1;
  config.prefix_multiclient_limit = 1;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("198.51.100.1"));
  ASSERT_TRUE(a.admitted());
  EXPECT_EQ(Try(guard, Ip("198.51.100.2")), RejectReason::kPrefixRate);
  AdmitResult known = guard.Admit(Ip("198.51.100.3"), /*known=*/true);
  EXPECT_TRUE(known.admitted());
  // The known block took no prefix slot and no prefix attempt.
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(Try(guard, Ip("198.51.100.4")), RejectReason::kPrefixLimit);
  a = AdmitResult();
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(Try(guard, Ip("198.51.100.4")), RejectReason::kNone);
  // The block limits still hold for a known block (3 per window).
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Try(guard, Ip("198.51.100.3"), true), RejectReason::kNone);
  }
  EXPECT_EQ(Try(guard, Ip("198.51.100.3"), true), RejectReason::kConnRate);
}

TEST(ConnGuardPrefixTest, PrefixRefusalsCountTowardTheBlockAutoban) {
  FakeClock clock;
  ConnGuardConfig config = PrefixConfig();
  config.prefix_conn_rate_limit = 1;
  config.conn_rate_limit = 100;
  config.flood_ban_threshold = 3;
  ConnGuard guard(config, clock);
  EXPECT_EQ(Try(guard, Ip("198.51.100.1")), RejectReason::kNone);
  EXPECT_EQ(Try(guard, Ip("198.51.100.2")), RejectReason::kPrefixRate);
  EXPECT_EQ(Try(guard, Ip("198.51.100.2")), RejectReason::kPrefixRate);
  AdmitResult ban = guard.Admit(Ip("198.51.100.2"));
  EXPECT_EQ(ban.reason, RejectReason::kFloodAutoban);
  EXPECT_FALSE(ban.ban_prefix);
}

TEST(ConnGuardPrefixTest, PrefixBannedAfterThresholdBlockAutobans) {
  FakeClock clock;
  ConnGuardConfig config = PrefixConfig();
  config.conn_rate_limit = 1;
  config.prefix_conn_rate_limit = 1000;
  config.flood_ban_threshold = 1;  // the first rate refusal bans the block
  config.prefix_ban_threshold = 3;
  config.flood_ban_duration = absl::Seconds(3600);
  ConnGuard guard(config, clock);
  auto autoban = [&](const char* ip) {
    EXPECT_EQ(Try(guard, Ip(ip)), RejectReason::kNone);
    return guard.Admit(Ip(ip));
  };
  AdmitResult r1 = autoban("2001:db8:5:1::1");
  EXPECT_EQ(r1.reason, RejectReason::kFloodAutoban);
  EXPECT_FALSE(r1.ban_prefix);
  // Inside flood_ban_duration, not inside conn_rate_window: still counted.
  clock.Advance(absl::Seconds(1800));
  EXPECT_FALSE(autoban("2001:db8:5:2::1").ban_prefix);
  // Another /48 does not count for this one.
  EXPECT_FALSE(autoban("2001:db8:6:2::1").ban_prefix);
  AdmitResult r3 = autoban("2001:db8:5:3::1");
  EXPECT_EQ(r3.reason, RejectReason::kFloodAutoban);
  ASSERT_TRUE(r3.ban_prefix);
  EXPECT_EQ(r3.prefix.ToString(), "2001:db8:5::/48");
  // One ban per threshold, not one per autoban after it.
  EXPECT_FALSE(autoban("2001:db8:5:4::1").ban_prefix);
}

TEST(ConnGuardPrefixTest, PrefixAutobansOutsideTheDurationDoNotAddUp) {
  FakeClock clock;
  ConnGuardConfig config = PrefixConfig();
  config.conn_rate_limit = 1;
  config.flood_ban_threshold = 1;
  config.prefix_ban_threshold = 2;
  config.flood_ban_duration = absl::Seconds(600);
  ConnGuard guard(config, clock);
  EXPECT_EQ(Try(guard, Ip("198.51.100.1")), RejectReason::kNone);
  EXPECT_FALSE(guard.Admit(Ip("198.51.100.1")).ban_prefix);
  clock.Advance(absl::Seconds(600));
  EXPECT_EQ(Try(guard, Ip("198.51.100.2")), RejectReason::kNone);
  AdmitResult r = guard.Admit(Ip("198.51.100.2"));
  EXPECT_EQ(r.reason, RejectReason::kFloodAutoban);
  EXPECT_FALSE(r.ban_prefix);
}

TEST(ConnGuardPendingTest, PendingPerBlockUntilHandshake) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.conn_rate_limit = 100;
  config.pending_per_ip = 2;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("203.0.113.7"));
  AdmitResult b = guard.Admit(Ip("203.0.113.7"));
  ASSERT_TRUE(a.admitted() && b.admitted());
  EXPECT_TRUE(a.ticket.pending());
  EXPECT_EQ(Try(guard, Ip("203.0.113.7")), RejectReason::kPendingLimit);
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kPendingLimit), 1u);
  a.ticket.MarkHandshakeComplete();
  a.ticket.MarkHandshakeComplete();  // once only
  EXPECT_FALSE(a.ticket.pending());
  EXPECT_EQ(guard.Counters().pending, 1);
  EXPECT_EQ(guard.Counters().active, 2);
  AdmitResult c = guard.Admit(Ip("203.0.113.7"));
  EXPECT_TRUE(c.admitted());
  EXPECT_EQ(Try(guard, Ip("203.0.113.7")), RejectReason::kPendingLimit);
  c = AdmitResult();  // a pending ticket gives its pending slot back too
  b = AdmitResult();
  EXPECT_EQ(guard.Counters().pending, 0);
  EXPECT_EQ(guard.Counters().active, 1);
}

TEST(ConnGuardPendingTest, MaxPendingAsksForAPendingVictim) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.pending_per_ip = 1;
  config.max_pending = 2;
  config.max_clients = 10;
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("10.0.0.1"));
  AdmitResult b = guard.Admit(Ip("10.0.0.2"));
  AdmitResult full = guard.Admit(Ip("10.0.0.3"));
  EXPECT_EQ(full.reason, RejectReason::kServerFull);
  EXPECT_TRUE(full.evict);
  EXPECT_TRUE(full.evict_pending);
  // The caller evicted one: the arrival takes its slots over the cap until
  // the victim's come back.
  AdmitTicket t = guard.TakeSlots(Ip("10.0.0.3"));
  EXPECT_TRUE(t.held());
  EXPECT_EQ(guard.Counters().pending, 3);
  a = AdmitResult();
  EXPECT_EQ(guard.Counters().pending, 2);
  b.ticket.MarkHandshakeComplete();
  EXPECT_TRUE(guard.Admit(Ip("10.0.0.4")).admitted());
}

TEST(ConnGuardPendingTest, AllowlistedTakesNoPendingSlot) {
  FakeClock clock;
  ConnGuardConfig config = Config();
  config.pending_per_ip = 1;
  config.max_pending = 1;
  config.allowlist = *CidrSet::Parse("127.0.0.0/8");
  ConnGuard guard(config, clock);
  AdmitResult a = guard.Admit(Ip("127.0.0.1"));
  AdmitResult b = guard.Admit(Ip("127.0.0.1"));
  EXPECT_TRUE(a.admitted() && b.admitted());
  EXPECT_TRUE(a.ticket.allowlisted());
  EXPECT_FALSE(a.ticket.pending());
  EXPECT_EQ(guard.Counters().pending, 0);
}

TEST(ConnGuardDeathTest, DestroyedWithLiveTicketAborts) {
  EXPECT_DEATH(
      {
        FakeClock clock;
        auto* guard = new ConnGuard(Config(), clock);
        AdmitResult r = guard->Admit(Ip("10.0.0.1"));
        delete guard;
      },
      "still held");
}
#endif

}  // namespace
}  // namespace muwarden::guard
