#include "common/base/log.h"

#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "tests/support/captured_stream.h"

namespace muwarden {
namespace {

// Captures what a Logger writes.
using Capture = ::muwarden::testing::CapturedStream;

TEST(LogTest, LineFormatIsIsoUtcWithMillisecondsLevelAndCategory) {
  FakeClock clock;
  // 2026-11-22T01:23:45.678Z
  clock.SetWallNow(absl::FromUnixMillis(1795310625678));
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  logger.Log(LogLevel::kWarn, "security", "Connection rate limited: 1.2.3.4");
  logger.Log(LogLevel::kInfo, "server", "hello");
  clock.SetWallNow(absl::FromUnixMillis(1795310626000));
  logger.Log(LogLevel::kError, "bans", "x");
  logger.Log(LogLevel::kDebug, "net", "not at info");
  EXPECT_EQ(out.Text(),
            "2026-11-22T01:23:45.678Z WARN [security] Connection rate limited: "
            "1.2.3.4\n"
            "2026-11-22T01:23:45.678Z INFO [server] hello\n"
            "2026-11-22T01:23:46.000Z ERROR [bans] x\n");
}

TEST(LogTest, ControlBytesCannotForgeASecondLine) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  logger.Log(LogLevel::kWarn, "security",
             "Login failed: 192.0.2.9 (user x\n2026-11-22T01:23:45.678Z WARN "
             "[security] Login failed: 10.0.0.1)\r\t\x7f");
  EXPECT_EQ(out.Lines(), 1);
  EXPECT_NE(out.Text().find("user x\\x0a2026"), std::string::npos)
      << out.Text();
  EXPECT_NE(out.Text().find("10.0.0.1)\\x0d\\x09\\x7f\n"), std::string::npos)
      << out.Text();
}

TEST(LogTest, LevelFiltersLines) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  EXPECT_TRUE(logger.Enabled(LogLevel::kInfo));
  EXPECT_FALSE(logger.Enabled(LogLevel::kDebug));
  LogConfig config;
  config.level = LogLevel::kWarn;
  ASSERT_TRUE(logger.Configure(config).ok());
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(LogLevel::kWarn));
  EXPECT_TRUE(logger.Enabled(LogLevel::kError));
  logger.Log(LogLevel::kInfo, "x", "dropped");
  logger.Log(LogLevel::kError, "x", "kept");
  EXPECT_EQ(out.Lines(), 1);
}

TEST(LogTest, ParsesAndNamesLevels) {
  LogLevel level = LogLevel::kInfo;
  ASSERT_TRUE(ParseLogLevel("debug", &level).ok());
  EXPECT_EQ(level, LogLevel::kDebug);
  ASSERT_TRUE(ParseLogLevel("error", &level).ok());
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("WARN", &level).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "WARN");
  EXPECT_EQ(LogLevelName(LogLevel::kDebug), "DEBUG");
}

TEST(LogTest, AnUnopenableFileKeepsThePreviousSink) {
  FakeClock clock;
  Logger logger(clock);
  Capture out;
  logger.SetStreamForTest(out.file());
  LogConfig config;
  config.file = "/nonexistent-dir/muwarden.log";
  absl::Status status = logger.Configure(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("/nonexistent-dir/muwarden.log"),
            std::string::npos);
  logger.Log(LogLevel::kInfo, "x", "still here");
  EXPECT_EQ(out.Lines(), 1);
}

}  // namespace
}  // namespace muwarden
