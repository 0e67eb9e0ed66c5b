#include "common/config/value.h"

#include "gtest/gtest.h"

namespace muwarden::config {
namespace {

TEST(ValueTest, IntegersHaveOneSpelling) {
  EXPECT_EQ(*ParseInteger("8", 0, 10), 8);
  EXPECT_EQ(*ParseInteger(" 8 ", 0, 10), 8);  // blanks around, as inih trims
  EXPECT_EQ(*ParseInteger("-3", -5, 10), -3);
  for (const char* bad : {"+8", "8x", "0x8", "8.0", "", "-", "8 8", "1e3"}) {
    absl::StatusOr<int64_t> v = ParseInteger(bad, 0, 10);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(v.status().message().find("(allowed 0..10)"), std::string::npos);
  }
  absl::StatusOr<int64_t> high = ParseInteger("11", 0, 10);
  EXPECT_EQ(high.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(high.status().message(), "out of range: 11 (allowed 0..10)");
}

TEST(ValueTest, SecondsTakeFractionsAndUnits) {
  EXPECT_EQ(*ParseSeconds("0.5", 0, 10), absl::Milliseconds(500));
  EXPECT_EQ(*ParseSeconds("250ms", 0, 10), absl::Milliseconds(250));
  EXPECT_EQ(*ParseSeconds("2m", 0, 3600), absl::Minutes(2));
  EXPECT_EQ(ParseSeconds("inf", 0, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSeconds("soon", 0, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSeconds("+5", 0, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<absl::Duration> low = ParseSeconds("0.01", 0.05, 10);
  EXPECT_EQ(low.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(low.status().message(),
            "out of range: 0.01 s (allowed 0.05..10 s)");
}

TEST(ValueTest, Booleans) {
  for (const char* t : {"true", "YES", "on", "1"}) EXPECT_TRUE(*ParseBool(t));
  for (const char* f : {"false", "No", "off", "0"}) EXPECT_FALSE(*ParseBool(f));
  EXPECT_EQ(ParseBool("maybe").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValueTest, FormatSecondsIsShort) {
  EXPECT_EQ(FormatSeconds(absl::Seconds(15)), "15");
  EXPECT_EQ(FormatSeconds(absl::Milliseconds(500)), "0.5");
  EXPECT_EQ(FormatSeconds(absl::Milliseconds(1250)), "1.25");
  EXPECT_EQ(FormatSeconds(absl::ZeroDuration()), "0");
  EXPECT_EQ(FormatNumber(0.05), "0.05");
  EXPECT_EQ(FormatNumber(315360000), "315360000");
}

}  // namespace
}  // namespace muwarden::config
