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
  return config;
}

// Admits and immediately releases.
RejectReason Try(ConnGuard& guard, const IpAddress& ip) {
  return guard.Admit(ip).reason;
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
  EXPECT_EQ(Try(guard, Ip("10.0.0.3")), RejectReason::kServerFull);
  b = AdmitResult();  // releases b's slots
  EXPECT_EQ(guard.Counters().active, 1);
  AdmitResult c = guard.Admit(Ip("10.0.0.3"));
  EXPECT_TRUE(c.admitted());
  EXPECT_EQ(guard.Counters().Rejected(RejectReason::kServerFull), 1u);
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
