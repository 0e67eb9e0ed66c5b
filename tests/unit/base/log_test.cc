#include "common/base/log.h"

#include <cstdio>
#include <regex>
#include <string>

#include "gtest/gtest.h"

namespace muwarden {
namespace {

// Captures what a Logger writes.
class Capture {
 public:
  Capture() : file_(std::tmpfile()) {}
  ~Capture() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  std::string Text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) out.append(buf, n);
    return out;
  }
  int Lines() {
    std::string t = Text();
    return static_cast<int>(std::count(t.begin(), t.end(), '\n'));
  }

 private:
  std::FILE* file_;
};

TEST(LogTest, LineFormatIsIsoUtcWithMillisecondsLevelAndCategory) {
  FakeClock clock;
  clock.SetWallNow(
      absl::FromUnixMillis(1795310625678));  // 2026-11-22T01:23:45.678Z
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  logger.Security(SecurityEvent::kConnRate, "203.0.113.7");
  logger.Log(LogLevel::kInfo, "server", "hello");
  logger.Security(SecurityEvent::kOversize, "::1",
                  "declared length 1000 over cap 255");
  EXPECT_EQ(out.Text(),
            "2026-11-22T01:23:45.678Z WARN [security] Connection rate limited: "
            "203.0.113.7\n"
            "2026-11-22T01:23:45.678Z INFO [server] hello\n"
            "2026-11-22T01:23:45.678Z WARN [security] Oversize packet: ::1 "
            "(declared length 1000 over cap 255)\n");
}

TEST(LogTest, EveryEventHasItsFixedText) {
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
  };
  for (const auto& [event, text] : texts)
    EXPECT_EQ(SecurityEventText(event), text);
}

TEST(LogTest, ControlBytesCannotForgeASecondLine) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  logger.Security(SecurityEvent::kLoginFailed, "192.0.2.9",
                  "user x\n2026-11-22T01:23:45.678Z WARN [security] Login "
                  "failed: 10.0.0.1");
  EXPECT_EQ(out.Lines(), 1);
  EXPECT_NE(out.Text().find("user x\\x0a2026"), std::string::npos)
      << out.Text();
}

TEST(LogTest, AnIpv6Slash64SharesOneBudget) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  LogConfig config;
  config.security_burst = 2;
  ASSERT_TRUE(logger.Configure(config).ok());
  // Rotating through one /64 buys no extra lines; another /64 has its own
  // budget.
  for (int i = 1; i <= 50; ++i) {
    logger.Security(SecurityEvent::kConnRate,
                    "2001:db8:1:2::" + std::to_string(i));
  }
  logger.Security(SecurityEvent::kConnRate, "2001:db8:1:3::1");
  EXPECT_EQ(out.Lines(), 3);
  EXPECT_NE(out.Text().find("Connection rate limited: 2001:db8:1:2::1\n"),
            std::string::npos);
  clock.Advance(absl::Minutes(1));
  logger.FlushSummaries();
  EXPECT_NE(
      out.Text().find(
          "Connection rate limited: 2001:db8:1:2::50 (48 more in the last "
          "minute suppressed)"),
      std::string::npos)
      << out.Text();
}

TEST(LogTest, AGlobalCapBoundsManyAddresses) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  LogConfig config;
  config.security_burst = 1;
  ASSERT_TRUE(logger.Configure(config).ok());
  for (int i = 0; i < 3000; ++i) {
    logger.Security(
        SecurityEvent::kConnRate,
        "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1");
  }
  EXPECT_EQ(out.Lines(), 1000);  // max(1000, 100 * burst)
  clock.Advance(absl::Minutes(1));
  logger.FlushSummaries();
  EXPECT_NE(
      out.Text().find("2000 security lines suppressed in the last minute"),
      std::string::npos);
  // The per-address summaries of the next minute are bounded by the same cap.
  EXPECT_LE(out.Lines(), 1000 + 1 + 1000);
}

TEST(LogTest, LevelFiltersLines) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  LogConfig config;
  config.level = LogLevel::kWarn;
  ASSERT_TRUE(logger.Configure(config).ok());
  logger.Log(LogLevel::kInfo, "x", "dropped");
  logger.Log(LogLevel::kError, "x", "kept");
  EXPECT_EQ(out.Lines(), 1);
}

TEST(LogTest, SecurityLinesAreLimitedPerIpAndEventThenSummarised) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  LogConfig config;
  config.security_burst = 3;
  ASSERT_TRUE(logger.Configure(config).ok());
  for (int i = 0; i < 100; ++i)
    logger.Security(SecurityEvent::kConnRate, "192.0.2.1");
  logger.Security(SecurityEvent::kMalformed,
                  "192.0.2.1");  // another event: own budget
  logger.Security(SecurityEvent::kConnRate,
                  "192.0.2.2");  // another IP: own budget
  EXPECT_EQ(out.Lines(), 5);
  clock.Advance(absl::Seconds(59));
  logger.FlushSummaries();
  EXPECT_EQ(out.Lines(), 5);  // the minute is not over
  clock.Advance(absl::Seconds(1));
  logger.FlushSummaries();
  const std::string text = out.Text();
  EXPECT_NE(
      text.find(
          "Connection rate limited: 192.0.2.1 (97 more in the last minute "
          "suppressed)"),
      std::string::npos)
      << text;
  EXPECT_EQ(out.Lines(), 6);
  // A new minute has its own budget again.
  logger.Security(SecurityEvent::kConnRate, "192.0.2.1");
  EXPECT_EQ(out.Lines(), 7);
}

}  // namespace
}  // namespace muwarden
