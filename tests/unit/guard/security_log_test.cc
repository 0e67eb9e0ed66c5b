#include "common/guard/security_log.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "gtest/gtest.h"
#include "tests/support/captured_stream.h"

namespace muwarden::guard {
namespace {

IpAddress Ip(const std::string& text) { return *ParseIp(text); }

// A SecurityLog writing through its own Logger into a temp file, both on one
// fake clock.
class SecurityLogTest : public ::testing::Test {
 protected:
  SecurityLogTest() : logger_(clock_), log_(logger_, clock_) {
    logger_.SetStreamForTest(out_.file());
  }

  void SetBurst(int burst, size_t max_tracked = 65536) {
    log_.Configure(
        SecurityLogConfig{.burst = burst, .max_tracked = max_tracked});
  }
  std::string Text() { return out_.Text(); }
  int Lines() { return out_.Lines(); }
  bool Has(const std::string& piece) {
    return Text().find(piece) != std::string::npos;
  }

  FakeClock clock_;
  ::muwarden::testing::CapturedStream out_;
  Logger logger_;
  SecurityLog log_;
};

TEST_F(SecurityLogTest, LinesAreTheFixedTextThePeerAndDetails) {
  // 2026-11-22T01:23:45.678Z
  clock_.SetWallNow(absl::FromUnixMillis(1795310625678));
  log_.Log(SecurityEvent::kConnRate, Ip("203.0.113.7"));
  log_.Log(SecurityEvent::kOversize, Ip("::1"),
           "declared length 1000 over cap 255");
  log_.Log(SecurityEvent::kAutoban, Ip("2001:db8:1:2::7"),
           "2001:db8:1:2::/64, until 2026-11-22T01:33:45Z");
  EXPECT_EQ(
      Text(),
      "2026-11-22T01:23:45.678Z WARN [security] Connection rate limited: "
      "203.0.113.7\n"
      "2026-11-22T01:23:45.678Z WARN [security] Oversize packet: ::1 "
      "(declared length 1000 over cap 255)\n"
      "2026-11-22T01:23:45.678Z WARN [security] Auto-banned flooding IP: "
      "2001:db8:1:2::7 (2001:db8:1:2::/64, until 2026-11-22T01:33:45Z)\n");
}

TEST_F(SecurityLogTest, AddressesAreWrittenAsInetNtopWritesThem) {
  // The bytes these lines have always carried; fail2ban's <ADDR> matches
  // them. An IPv4-compatible address is dotted, unlike IpAddress::ToString.
  log_.Log(SecurityEvent::kConnRate, Ip("::102:304"));
  log_.Log(SecurityEvent::kConnRate, Ip("2001:DB8:0:0:1:0:0:1"));
  log_.Log(SecurityEvent::kConnRate, Ip("::ffff:192.0.2.1"));
  EXPECT_TRUE(Has("Connection rate limited: ::1.2.3.4\n")) << Text();
  EXPECT_TRUE(Has("Connection rate limited: 2001:db8::1:0:0:1\n")) << Text();
  EXPECT_TRUE(Has("Connection rate limited: 192.0.2.1\n")) << Text();
}

TEST(SecurityEventTextTest, EveryEventHasItsFixedText) {
  const std::vector<std::pair<SecurityEvent, std::string>> texts = {
      {SecurityEvent::kBannedIp, "Rejected banned IP"},
      {SecurityEvent::kConnRate, "Connection rate limited"},
      {SecurityEvent::kAutoban, "Auto-banned flooding IP"},
      {SecurityEvent::kMulticlient, "Multiclient limit reached"},
      {SecurityEvent::kServerFull, "Server full, rejected"},
      {SecurityEvent::kHandshakeTimeout, "Handshake timeout"},
      {SecurityEvent::kReadTimeout, "Read timeout"},
      {SecurityEvent::kWriteTimeout, "Write timeout"},
      {SecurityEvent::kPacketRate, "Packet rate exceeded"},
      {SecurityEvent::kOversize, "Oversize packet"},
      {SecurityEvent::kMalformed, "Malformed packet"},
      {SecurityEvent::kLoginFailed, "Login failed"},
      {SecurityEvent::kPrefixRate, "Prefix rate limited"},
      {SecurityEvent::kPrefixLimit, "Prefix limit reached"},
      {SecurityEvent::kPendingLimit, "Pending limit reached"},
      {SecurityEvent::kPrefixAutoban, "Auto-banned flooding prefix"},
      {SecurityEvent::kEvicted, "Evicted for a newcomer"},
      {SecurityEvent::kPeerLine, "Lines about"},
  };
  ASSERT_EQ(texts.size(), static_cast<size_t>(SecurityEvent::kCount));
  for (const auto& [event, text] : texts) {
    EXPECT_EQ(SecurityEventText(event), text);
  }
}

TEST_F(SecurityLogTest, ControlBytesInDetailsCannotForgeASecondLine) {
  log_.Log(SecurityEvent::kLoginFailed, Ip("192.0.2.9"),
           "user x\n2026-11-22T01:23:45.678Z WARN [security] Login "
           "failed: 10.0.0.1");
  EXPECT_EQ(Lines(), 1);
  EXPECT_TRUE(Has("Login failed: 192.0.2.9 (user x\\x0a2026")) << Text();
}

TEST_F(SecurityLogTest, LinesAreLimitedPerIpAndEventThenSummarised) {
  SetBurst(3);
  for (int i = 0; i < 100; ++i) {
    log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));
  }
  log_.Log(SecurityEvent::kMalformed, Ip("192.0.2.1"));  // own budget
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.2"));   // own budget
  EXPECT_EQ(Lines(), 5);
  clock_.Advance(absl::Seconds(59));
  log_.FlushSummaries();
  EXPECT_EQ(Lines(), 5);  // the minute is not over
  clock_.Advance(absl::Seconds(1));
  log_.FlushSummaries();
  EXPECT_TRUE(
      Has("WARN [security] Connection rate limited: 192.0.2.1 (97 more in the "
          "last minute suppressed)\n"))
      << Text();
  EXPECT_EQ(Lines(), 6);
  // A new minute has its own budget again.
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));
  EXPECT_EQ(Lines(), 7);
}

TEST_F(SecurityLogTest, PrefixAutobanNamesTheCidrAndEvictionIsInfo) {
  clock_.SetWallNow(absl::FromUnixMillis(1795310625678));
  log_.LogCidr(SecurityEvent::kPrefixAutoban, *ParseCidr("2001:db8:1::/48"),
               "2001:db8:1:4::1, until 2026-11-22T02:23:45Z");
  log_.Log(SecurityEvent::kEvicted, Ip("198.51.100.7"), "for 203.0.113.9");
  log_.Log(SecurityEvent::kPendingLimit, Ip("198.51.100.8"));
  EXPECT_EQ(Text(),
            "2026-11-22T01:23:45.678Z WARN [security] Auto-banned flooding "
            "prefix: 2001:db8:1::/48 (2001:db8:1:4::1, until "
            "2026-11-22T02:23:45Z)\n"
            "2026-11-22T01:23:45.678Z INFO [security] Evicted for a newcomer: "
            "198.51.100.7 (for 203.0.113.9)\n"
            "2026-11-22T01:23:45.678Z WARN [security] Pending limit reached: "
            "198.51.100.8\n");
}

TEST_F(SecurityLogTest, AutobansAreNotHiddenByTheGlobalCap) {
  SetBurst(1);  // global cap 1000 a minute
  for (int i = 0; i < 1100; ++i) {
    IpAddress ip = Ip("10.0.0.0");
    ip.bytes[2] = static_cast<uint8_t>(i / 250);
    ip.bytes[3] = static_cast<uint8_t>(i % 250 + 1);
    log_.Log(SecurityEvent::kPrefixRate, ip);
  }
  EXPECT_EQ(Lines(), 1000);
  log_.Log(SecurityEvent::kAutoban, Ip("10.0.0.1"), "until later");
  log_.LogCidr(SecurityEvent::kPrefixAutoban, *ParseCidr("10.0.0.0/24"));
  log_.Log(SecurityEvent::kAutoban, Ip("10.0.0.1"));  // its block's budget
  EXPECT_EQ(Lines(), 1002);
  EXPECT_TRUE(Has("Auto-banned flooding prefix: 10.0.0.0/24\n"));
}

TEST_F(SecurityLogTest, PeerLinesAreUnderTheSameBudgets) {
  SetBurst(2);
  for (int i = 0; i < 50; ++i) {
    log_.LogPeerLine(LogLevel::kInfo, "net", Ip("192.0.2.1"),
                     "closing 192.0.2.1: server list request cap reached");
    log_.LogPeerLine(LogLevel::kWarn, "net", Ip("192.0.2.1"),
                     "arena exhausted, closing: 192.0.2.1");
  }
  EXPECT_EQ(Lines(), 2);  // one budget for all of a block's such lines
  EXPECT_TRUE(Has("INFO [net] closing 192.0.2.1: server list request cap"));
  for (int i = 0; i < 50; ++i) {
    log_.Log(SecurityEvent::kEvicted, Ip("192.0.2.1"));
  }
  EXPECT_EQ(Lines(), 4);  // evictions have theirs
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  EXPECT_TRUE(Has("Lines about: 192.0.2.1 (98 more in the last minute "
                  "suppressed)"))
      << Text();
}

TEST_F(SecurityLogTest, ASummaryIsPrintedWhenTheBlockComesBack) {
  SetBurst(1);
  log_.Log(SecurityEvent::kReadTimeout, Ip("192.0.2.1"));
  log_.Log(SecurityEvent::kReadTimeout, Ip("192.0.2.1"));
  log_.Log(SecurityEvent::kReadTimeout, Ip("192.0.2.1"));
  clock_.Advance(absl::Minutes(2));
  log_.Log(SecurityEvent::kReadTimeout, Ip("192.0.2.1"), "again");
  const std::string text = Text();
  const size_t summary = text.find(
      "Read timeout: 192.0.2.1 (2 more in the last minute suppressed)");
  const size_t again = text.find("Read timeout: 192.0.2.1 (again)");
  ASSERT_NE(summary, std::string::npos) << text;
  ASSERT_NE(again, std::string::npos) << text;
  EXPECT_LT(summary, again);
  EXPECT_EQ(Lines(), 3);
}

TEST_F(SecurityLogTest, AnIpv6Slash64SharesOneBudget) {
  SetBurst(2);
  // Rotating through one /64 buys no extra lines; another /64 has its own.
  for (int i = 1; i <= 50; ++i) {
    log_.Log(SecurityEvent::kConnRate,
             Ip("2001:db8:1:2::" + std::to_string(i)));
  }
  log_.Log(SecurityEvent::kConnRate, Ip("2001:db8:1:3::1"));
  EXPECT_EQ(Lines(), 3);
  EXPECT_TRUE(Has("Connection rate limited: 2001:db8:1:2::1\n"));
  EXPECT_TRUE(Has("Connection rate limited: 2001:db8:1:2::2\n"));
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  // The summary names the last address seen in the block.
  EXPECT_TRUE(
      Has("Connection rate limited: 2001:db8:1:2::50 (48 more in the "
          "last minute suppressed)"))
      << Text();
}

TEST_F(SecurityLogTest, AGlobalCapBoundsManyAddresses) {
  SetBurst(1);
  for (int i = 0; i < 3000; ++i) {
    log_.Log(SecurityEvent::kConnRate,
             Ip("10." + std::to_string(i / 250) + "." +
                std::to_string(i % 250) + ".1"));
  }
  EXPECT_EQ(Lines(), 1000);  // max(1000, 100 * burst)
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  EXPECT_TRUE(
      Has("WARN [security] 2000 security lines suppressed in the last "
          "minute (more than 1000 a minute from all clients)\n"))
      << Text().substr(Text().size() - 300);
  // The per-address summaries of the next minute are bounded by the same cap.
  EXPECT_LE(Lines(), 1000 + 1 + 1000);
}

TEST_F(SecurityLogTest, TheGlobalCapGrowsWithTheBurst) {
  SetBurst(20);  // cap max(1000, 2000) = 2000
  for (int i = 0; i < 2500; ++i) {
    log_.Log(SecurityEvent::kConnRate, Ip("10.1." + std::to_string(i / 250) +
                                          "." + std::to_string(i % 250)));
  }
  EXPECT_EQ(Lines(), 2000);
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  EXPECT_TRUE(
      Has("500 security lines suppressed in the last minute (more "
          "than 2000 a minute from all clients)"));
}

TEST_F(SecurityLogTest, AFullTableIsDroppedRatherThanGrown) {
  SetBurst(1, /*max_tracked=*/2);
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));  // suppressed
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.2"));
  // A third block finds the table full with no minute over: it is emptied.
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.3"));
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));  // a fresh budget
  EXPECT_EQ(Lines(), 4);
  EXPECT_TRUE(Has("Connection rate limited: 192.0.2.3\n"));
}

TEST_F(SecurityLogTest, NothingIsCountedWhenWarningsAreOff) {
  LogConfig quiet;
  quiet.level = LogLevel::kError;
  ASSERT_TRUE(logger_.Configure(quiet).ok());
  SetBurst(1);
  for (int i = 0; i < 10; ++i) {
    log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));
  }
  EXPECT_EQ(Lines(), 0);
  ASSERT_TRUE(logger_.Configure(LogConfig{}).ok());
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  EXPECT_EQ(Lines(), 0);
  log_.Log(SecurityEvent::kConnRate, Ip("192.0.2.1"));
  EXPECT_EQ(Lines(), 1);
}

TEST_F(SecurityLogTest, ThreadsShareTheBudgetsExactly) {
  SetBurst(10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 1000; ++i) {
        // Threads 0 and 1 share one address; 2 and 3 have their own.
        log_.Log(SecurityEvent::kConnRate,
                 Ip("192.0.2." + std::to_string(t < 2 ? 1 : t)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(Lines(), 30);
  clock_.Advance(absl::Minutes(1));
  log_.FlushSummaries();
  EXPECT_TRUE(Has("192.0.2.1 (1990 more in the last minute suppressed)"));
  EXPECT_TRUE(Has("192.0.2.3 (990 more in the last minute suppressed)"));
  EXPECT_EQ(Lines(), 33);
}

}  // namespace
}  // namespace muwarden::guard
