#include "common/guard/known_blocks.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace muwarden::guard {
namespace {

using ::muwarden::testing::ReadAll;
using ::muwarden::testing::TempDir;

IpAddress Ip(const char* text) { return *ParseIp(text); }

KnownBlocksConfig At(const std::string& path) {
  KnownBlocksConfig config;
  config.path = path;
  config.keep_days = 30;
  return config;
}

TEST(KnownBlocksTest, RecordedBlockIsKnownPerSlash64) {
  FakeClock clock;
  KnownBlocks known(KnownBlocksConfig{}, clock);
  EXPECT_FALSE(known.IsKnown(Ip("203.0.113.7")));
  known.Record(Ip("203.0.113.7"));
  known.Record(Ip("2001:db8:1:2::7"));
  EXPECT_TRUE(known.IsKnown(Ip("203.0.113.7")));
  EXPECT_FALSE(known.IsKnown(Ip("203.0.113.8")));
  EXPECT_TRUE(known.IsKnown(Ip("2001:db8:1:2:ffff::1")));  // same /64
  EXPECT_FALSE(known.IsKnown(Ip("2001:db8:1:3::7")));
  EXPECT_EQ(known.size(), 2u);
}

TEST(KnownBlocksTest, ObserverHearsNewBlocksAndThenOncePerShareInterval) {
  FakeClock clock;
  KnownBlocksConfig config;
  config.share_interval = absl::Hours(1);
  KnownBlocks known(config, clock);
  std::vector<std::string> told;
  known.SetObserver([&](const IpKey& key, absl::Time) {
    told.push_back(KnownBlockText(key));
  });
  known.Record(Ip("203.0.113.7"));
  clock.SetWallNow(clock.WallNow() + absl::Minutes(59));
  known.Record(Ip("203.0.113.7"));  // within the interval: not again
  known.Record(Ip("2001:db8:1:2::7"));
  clock.SetWallNow(clock.WallNow() + absl::Minutes(1));
  known.Record(Ip("203.0.113.7"));  // an hour after it was shared
  EXPECT_EQ(told, (std::vector<std::string>{"203.0.113.7", "2001:db8:1:2::/64",
                                            "203.0.113.7"}));
}

TEST(KnownBlocksTest, MergedVisitsAreKnownNewestWinsExpiredIgnored) {
  FakeClock clock;
  KnownBlocksConfig config;
  config.keep_days = 30;
  KnownBlocks known(config, clock);
  int told = 0;
  known.SetObserver([&](const IpKey&, absl::Time) { ++told; });
  const absl::Time now = clock.WallNow();
  known.Merge(*ParseKnownBlock("2001:db8:1:2::/64"), now - absl::Hours(24 * 29));
  known.Merge(*ParseKnownBlock("203.0.113.9"), now - absl::Hours(24 * 31));
  EXPECT_TRUE(known.IsKnown(Ip("2001:db8:1:2::99")));
  EXPECT_FALSE(known.IsKnown(Ip("203.0.113.9")));  // older than keep
  // An older visit from elsewhere does not shorten a newer one.
  known.Merge(*ParseKnownBlock("2001:db8:1:2::/64"), now - absl::Hours(24 * 40));
  clock.SetWallNow(now + absl::Hours(12));
  EXPECT_TRUE(known.IsKnown(Ip("2001:db8:1:2::1")));
  clock.SetWallNow(now + absl::Hours(25));
  EXPECT_FALSE(known.IsKnown(Ip("2001:db8:1:2::1")));
  // A block merged with a recent visit is in the database already: the
  // observer is not told of the merge, nor of a visit right after it.
  known.Merge(*ParseKnownBlock("198.51.100.4"), clock.WallNow() - absl::Minutes(10));
  known.Record(Ip("198.51.100.4"));
  EXPECT_EQ(told, 0);
  clock.SetWallNow(clock.WallNow() + absl::Hours(1));
  known.Record(Ip("198.51.100.4"));
  EXPECT_EQ(told, 1);
  EXPECT_FALSE(ParseKnownBlock("not a block").ok());
}

TEST(KnownBlocksTest, ExpiresKeepDaysAfterTheLastVisit) {
  FakeClock clock;
  KnownBlocksConfig config;
  config.keep_days = 30;
  KnownBlocks known(config, clock);
  known.Record(Ip("203.0.113.7"));
  clock.SetWallNow(clock.WallNow() + absl::Hours(24 * 20));
  known.Record(Ip("203.0.113.7"));  // a later visit renews it
  clock.SetWallNow(clock.WallNow() + absl::Hours(24 * 29));
  EXPECT_TRUE(known.IsKnown(Ip("203.0.113.7")));
  clock.SetWallNow(clock.WallNow() + absl::Hours(24));
  EXPECT_FALSE(known.IsKnown(Ip("203.0.113.7")));
}

TEST(KnownBlocksTest, BoundedTheOldestVisitMakesRoom) {
  FakeClock clock;
  KnownBlocksConfig config;
  config.max_entries = 2;
  KnownBlocks known(config, clock);
  known.Record(Ip("10.0.0.1"));
  clock.SetWallNow(clock.WallNow() + absl::Seconds(1));
  known.Record(Ip("10.0.0.2"));
  clock.SetWallNow(clock.WallNow() + absl::Seconds(1));
  known.Record(Ip("10.0.0.1"));  // renewed: 10.0.0.2 is now the oldest
  clock.SetWallNow(clock.WallNow() + absl::Seconds(1));
  known.Record(Ip("10.0.0.3"));
  EXPECT_EQ(known.size(), 2u);
  EXPECT_TRUE(known.IsKnown(Ip("10.0.0.1")));
  EXPECT_FALSE(known.IsKnown(Ip("10.0.0.2")));
  EXPECT_TRUE(known.IsKnown(Ip("10.0.0.3")));
}

TEST(KnownBlocksTest, SavedAtMostOnceAMinuteAndLoadedBack) {
  TempDir dir("known");
  const std::string path = dir.Path("known.txt");
  FakeClock clock;
  {
    KnownBlocks known(At(path), clock);
    ASSERT_TRUE(known.Load().ok());  // missing file: empty
    known.Record(Ip("203.0.113.7"));
    ASSERT_TRUE(known.SaveIfDue().ok());
    const std::string first = ReadAll(path);
    EXPECT_TRUE(absl::StrContains(first, "203.0.113.7 2026-01-01T00:00:00Z"))
        << first;
    known.Record(Ip("2001:db8:1:2::7"));
    clock.Advance(absl::Seconds(59));
    ASSERT_TRUE(known.SaveIfDue().ok());
    EXPECT_EQ(ReadAll(path), first);  // not yet: less than a minute
    clock.Advance(absl::Seconds(1));
    ASSERT_TRUE(known.SaveIfDue().ok());
    EXPECT_TRUE(absl::StrContains(ReadAll(path), "2001:db8:1:2::/64 "));
  }
  KnownBlocks again(At(path), clock);
  auto loaded = again.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->entries, 2u);
  EXPECT_TRUE(again.IsKnown(Ip("2001:db8:1:2::1")));
  EXPECT_TRUE(again.IsKnown(Ip("203.0.113.7")));
}

TEST(KnownBlocksTest, LoadDropsExpiredAndSkipsBadLines) {
  TempDir dir("known");
  const std::string path = dir.Write("known.txt",
                                     "# comment\n"
                                     "203.0.113.7 2025-12-31T00:00:00Z\n"
                                     "203.0.113.8 2025-11-01T00:00:00Z\n"
                                     "not-an-ip 2025-12-31T00:00:00Z\n"
                                     "203.0.113.9 yesterday\n");
  FakeClock clock;  // 2026-01-01
  KnownBlocks known(At(path), clock);
  auto loaded = known.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->entries, 1u);
  EXPECT_EQ(loaded->expired, 1u);
  EXPECT_EQ(loaded->bad_lines, 2u);
  EXPECT_TRUE(known.IsKnown(Ip("203.0.113.7")));
  EXPECT_FALSE(known.IsKnown(Ip("203.0.113.8")));
  // The expired line is dropped from the file at the next save.
  ASSERT_TRUE(known.Save().ok());
  EXPECT_FALSE(absl::StrContains(ReadAll(path), "203.0.113.8"));
  EXPECT_TRUE(absl::StrContains(ReadAll(path), "203.0.113.7"));
}

}  // namespace
}  // namespace muwarden::guard
