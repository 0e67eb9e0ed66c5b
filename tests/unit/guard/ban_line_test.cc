#include "common/guard/ban_line.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

Cidr Block(const char* text) { return *ParseCidr(text); }

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

TEST(ParseBanLineTest, BlankAndComments) {
  for (const char* line :
       {"", "   ", "\t", "# comment", "   # indented", "#1.2.3.4", "\r"}) {
    absl::StatusOr<std::optional<BanEntry>> parsed = ParseBanLine(line);
    ASSERT_TRUE(parsed.ok()) << line;
    EXPECT_FALSE(parsed->has_value()) << line;
  }
}

TEST(ParseBanLineTest, Entries) {
  absl::StatusOr<std::optional<BanEntry>> e = ParseBanLine("1.2.3.4");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->cidr, Block("1.2.3.4/32"));
  EXPECT_FALSE((*e)->until.has_value());
  EXPECT_EQ((*e)->reason, "");

  e = ParseBanLine(
      "  10.1.0.0/16\tuntil=2026-11-22T01:23:45Z   reason=flood from bot "
      " # note");
  ASSERT_TRUE(e.ok() && e->has_value()) << e.status();
  EXPECT_EQ((*e)->cidr, Block("10.1.0.0/16"));
  EXPECT_EQ((*e)->until, Utc(2026, 11, 22, 1, 23, 45));
  EXPECT_EQ((*e)->reason, "flood from bot");

  // '#' not after whitespace belongs to the reason.
  e = ParseBanLine("2001:db8::/32 reason=ticket#42\r");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->reason, "ticket#42");
  EXPECT_EQ((*e)->cidr.ToString(), "2001:db8::/32");

  // reason takes the rest of the line, until= inside it included.
  e = ParseBanLine("1.2.3.4 reason=x until=2026-01-01T00:00:00Z");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->reason, "x until=2026-01-01T00:00:00Z");
  EXPECT_FALSE((*e)->until.has_value());

  // RFC 3339 offsets and fractions are accepted and converted to UTC.
  e = ParseBanLine("1.2.3.4 until=2026-11-22T03:23:45.5+02:00");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->until,
            Utc(2026, 11, 22, 1, 23, 45) + absl::Milliseconds(500));
  e = ParseBanLine("::ffff:1.2.3.4");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->cidr.ToString(), "1.2.3.4");
}

TEST(ParseBanLineTest, BadLines) {
  for (const char* line :
       {"1.2.3.4/33", "300.1.1.1", "1.2.3.4#glued", "1.2.3.4 until=tomorrow",
        "1.2.3.4 until=2026-11-22", "1.2.3.4 until=",
        "1.2.3.4 until=2026-11-22T01:23:45Z until=2026-11-22T01:23:45Z",
        "1.2.3.4 foo=bar", "1.2.3.4 1.2.3.5", "reason=x", "until=2026"}) {
    absl::StatusOr<std::optional<BanEntry>> parsed = ParseBanLine(line);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << line;
  }
}

TEST(FormatBanLineTest, RoundTrips) {
  BanEntry e{Block("10.0.0.0/8"), Utc(2026, 11, 22, 1, 23, 45), "flood"};
  EXPECT_EQ(FormatBanLine(e),
            "10.0.0.0/8 until=2026-11-22T01:23:45Z reason=flood");
  EXPECT_EQ(FormatBanLine(BanEntry{Block("2001:db8::1"), std::nullopt, ""}),
            "2001:db8::1");
  absl::StatusOr<std::optional<BanEntry>> back = ParseBanLine(FormatBanLine(e));
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->cidr, e.cidr);
  EXPECT_EQ((*back)->until, e.until);
  EXPECT_EQ((*back)->reason, e.reason);
}

TEST(ParseBanLineTest, BadLinesSayWhatIsWrong) {
  EXPECT_EQ(ParseBanLine("1.2.3.4 foo=bar").status().message(),
            "unexpected 'foo=bar' (expected until=... or reason=...)");
  EXPECT_EQ(ParseBanLine("1.2.3.4 until=2026-11-22T01:23:45Z "
                         "until=2026-11-22T01:23:45Z")
                .status()
                .message(),
            "until= given twice");
  EXPECT_EQ(ParseBanLine("1.2.3.4 until=tomorrow").status().message(),
            "bad until= time 'tomorrow' (expected like 2026-11-22T01:23:45Z)");
  // What is quoted back is cut, so a huge bad line makes a short warning.
  const std::string junk(1000, 'x');
  EXPECT_LT(ParseBanLine("1.2.3.4 " + junk).status().message().size(), 100u);
}

TEST(FormatBanLineTest, WritesWholeSecondsInUtc) {
  BanEntry e{Block("2001:db8:1:2::/64"),
             Utc(2026, 11, 22, 1, 23, 45) + absl::Milliseconds(900), "x y"};
  EXPECT_EQ(FormatBanLine(e),
            "2001:db8:1:2::/64 until=2026-11-22T01:23:45Z reason=x y");
}

TEST(NormaliseBanUntilTest, PermanentStaysPermanentTimesRoundUp) {
  EXPECT_EQ(NormaliseBanUntil(std::nullopt), std::nullopt);
  EXPECT_EQ(NormaliseBanUntil(absl::InfiniteFuture()), std::nullopt);
  const absl::Time t = Utc(2026, 11, 22, 1, 23, 45);
  EXPECT_EQ(NormaliseBanUntil(t), t);
  EXPECT_EQ(NormaliseBanUntil(t + absl::Milliseconds(1)), t + absl::Seconds(1));
  EXPECT_EQ(NormaliseBanUntil(t - absl::Milliseconds(999)), t);
}

TEST(SanitiseBanReasonTest, NothingInAReasonCanEndTheLine) {
  EXPECT_EQ(SanitiseBanReason("  flood\nfrom #bot\x7f "), "flood from _bot");
  EXPECT_EQ(SanitiseBanReason(std::string(500, 'r')).size(), kMaxBanReasonLen);
  // A sanitised reason comes back from the file unchanged.
  const std::string reason = SanitiseBanReason("a\tb # c\r");
  absl::StatusOr<std::optional<BanEntry>> back = ParseBanLine(
      FormatBanLine(BanEntry{Block("192.0.2.1"), std::nullopt, reason}));
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->reason, reason);
}

TEST(BanLineTest, CanonicalTimesAndOthersReadAlike) {
  // The server's own form is read without the general parser; both must
  // agree, and impossible dates stay errors.
  for (const char* when :
       {"2026-11-22T01:23:45Z", "2000-02-29T23:59:59Z", "1999-12-31T00:00:00Z",
        "2106-02-07T06:28:16Z"}) {
    absl::StatusOr<std::optional<BanEntry>> e =
        ParseBanLine(std::string("1.2.3.4 until=") + when);
    ASSERT_TRUE(e.ok()) << when;
    absl::Time expected;
    std::string err;
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, when, &expected, &err));
    EXPECT_EQ((*e)->until, expected) << when;
  }
  for (const char* bad :
       {"2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-0aT00:00:00Z",
        "2026-01-01T00:00:00X"}) {
    EXPECT_FALSE(ParseBanLine(std::string("1.2.3.4 until=") + bad).ok())
        << bad;
  }
}

}  // namespace
}  // namespace muwarden::guard
