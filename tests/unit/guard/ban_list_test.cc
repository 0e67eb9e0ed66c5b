#include "common/guard/ban_list.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace muwarden::guard {
namespace {

IpAddress Ip(const char* text) { return *ParseIp(text); }
Cidr Block(const char* text) { return *ParseCidr(text); }

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

using ::muwarden::testing::ReadAll;
using ::muwarden::testing::TempDir;
using ::muwarden::testing::WriteFile;

BanListConfig At(const std::string& path) {
  BanListConfig config;
  config.path = path;
  return config;
}

// ---- loading ----

TEST(BanListTest, LoadReportsEveryBadLineByNumber) {
  TempDir dir("banlist");
  const std::string path = dir.Write(
      "bans.txt",
      "# muwarden bans\n"             // 1
      "\n"                            // 2
      "203.0.113.7 reason=spam\n"     // 3
      "10.0.0.0/33\n"                 // 4 bad
      "not-an-ip\n"                   // 5 bad
      "198.51.100.0/24 until=soon\n"  // 6 bad
      "2001:db8::/32 color=red\n"     // 7 bad
      "192.0.2.1 until=2026-01-01T00:00:00Z until=2027-01-01T00:00:00Z\n"
      "2001:db8:1:2::/64   # trailing comment\r\n"   // 9
      "192.0.2.9#x\n"                                // 10 bad
      "  \t \n"                                      // 11
      "192.0.2.0/24 until=2030-01-01T00:00:00Z\n");  // 12
  FakeClock clock;
  BanList bans(At(path), clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 3u);
  EXPECT_EQ(r->expired, 0u);
  std::vector<int> numbers;
  for (const BanFileWarning& w : r->warnings) {
    numbers.push_back(w.line_number);
    EXPECT_FALSE(w.why.empty());
  }
  EXPECT_EQ(numbers, (std::vector<int>{4, 5, 6, 7, 8, 10}));
  ASSERT_EQ(r->warnings.size(), 6u);
  EXPECT_EQ(r->warnings[0].text, "10.0.0.0/33");
  EXPECT_EQ(r->warnings[3].text, "2001:db8::/32 color=red");
  EXPECT_TRUE(bans.Check(Ip("203.0.113.7")).banned);
  EXPECT_EQ(bans.Check(Ip("203.0.113.7")).reason, "spam");
  EXPECT_TRUE(bans.Check(Ip("2001:db8:1:2::99")).banned);
  EXPECT_FALSE(bans.Check(Ip("2001:db8:1:3::99")).banned);
  EXPECT_TRUE(bans.Check(Ip("192.0.2.200")).banned);
  EXPECT_FALSE(bans.Check(Ip("198.51.100.1")).banned);
  EXPECT_EQ(bans.size(), 3u);
}

TEST(BanListTest, MissingFileIsEmptyUnreadableIsError) {
  TempDir dir("banlist");
  FakeClock clock;
  BanList missing(At(dir.Path("bans.txt")), clock);
  absl::StatusOr<BanLoadResult> r = missing.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 0u);
  EXPECT_TRUE(r->warnings.empty());

  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  WriteFile(dir.Path("bans.txt"), "1.2.3.4\n");
  BanList list(At(dir.Path("bans.txt")), clock);
  ASSERT_TRUE(list.Load().ok());
  // A directory cannot be read as a file; the loaded list stays in force.
  BanList dir_list(At(dir.Path("sub")), clock);
  EXPECT_FALSE(dir_list.Load().ok());
  EXPECT_TRUE(list.Check(Ip("1.2.3.4")).banned);
}

TEST(BanListTest, ExpiryAtLoadAndAsTheClockMoves) {
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  clock.SetWallNow(Utc(2026, 6, 1, 0, 0, 0));
  WriteFile(path,
            "1.1.1.1 until=2026-05-31T23:59:59Z\n"  // past
            "2.2.2.2 until=2026-06-01T00:00:10Z\n"  // future
            "3.3.3.3\n");                           // permanent
  BanList bans(At(path), clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  EXPECT_EQ(r->expired, 1u);
  EXPECT_FALSE(bans.Check(Ip("1.1.1.1")).banned);
  BanCheck c = bans.Check(Ip("2.2.2.2"));
  EXPECT_TRUE(c.banned);
  EXPECT_EQ(c.until, Utc(2026, 6, 1, 0, 0, 10));
  EXPECT_EQ(c.matched, Block("2.2.2.2"));
  clock.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_TRUE(bans.Check(Ip("2.2.2.2")).banned);
  clock.Advance(absl::Nanoseconds(1));  // until == now: expired
  EXPECT_FALSE(bans.Check(Ip("2.2.2.2")).banned);
  clock.Advance(absl::Hours(24 * 365 * 50));
  BanCheck perm = bans.Check(Ip("3.3.3.3"));
  EXPECT_TRUE(perm.banned);
  EXPECT_FALSE(perm.until.has_value());
}

TEST(BanListTest, ExpiredNarrowBlockDoesNotHideWiderBan) {
  FakeClock clock;
  BanList bans(BanListConfig{}, clock);
  const absl::Time now = clock.WallNow();
  ASSERT_TRUE(bans.Add(Block("10.0.0.0/8"), std::nullopt, "wide").ok());
  ASSERT_TRUE(
      bans.Add(Block("10.1.1.1"), now + absl::Seconds(5), "narrow").ok());
  EXPECT_EQ(bans.Check(Ip("10.1.1.1")).reason, "narrow");
  clock.Advance(absl::Seconds(5));
  BanCheck c = bans.Check(Ip("10.1.1.1"));
  EXPECT_TRUE(c.banned);
  EXPECT_EQ(c.reason, "wide");
  EXPECT_EQ(c.matched, Block("10.0.0.0/8"));
}

TEST(BanListTest, CidrMatching) {
  FakeClock clock;
  BanList bans(BanListConfig{}, clock);
  ASSERT_TRUE(bans.Add(Block("172.16.0.0/12"), std::nullopt, "").ok());
  ASSERT_TRUE(bans.Add(Block("2001:db8:5::/48"), std::nullopt, "").ok());
  EXPECT_TRUE(bans.Check(Ip("172.31.255.255")).banned);
  EXPECT_FALSE(bans.Check(Ip("172.32.0.0")).banned);
  EXPECT_TRUE(bans.Check(Ip("::ffff:172.16.0.1")).banned);
  EXPECT_TRUE(bans.Check(Ip("2001:db8:5:ffff::1")).banned);
  EXPECT_FALSE(bans.Check(Ip("2001:db8:6::1")).banned);
  BanList all(BanListConfig{}, clock);
  ASSERT_TRUE(all.Add(Block("0.0.0.0/0"), std::nullopt, "").ok());
  EXPECT_TRUE(all.Check(Ip("8.8.8.8")).banned);
  EXPECT_FALSE(all.Check(Ip("2001:db8::1")).banned);
}

// ---- persistence ----

TEST(BanListTest, TheObserverHearsOfBansPutInForceUnlessNotPublished) {
  TempDir dir("banlist");
  FakeClock clock;
  BanList bans(At(dir.Path("bans.txt")), clock);
  std::vector<std::string> heard;
  bans.SetObserver([&](const std::vector<BanEntry>& entries) {
    for (const BanEntry& e : entries) heard.push_back(e.cidr.ToString());
  });
  ASSERT_TRUE(bans.Add(Block("203.0.113.7"), std::nullopt, "operator").ok());
  ASSERT_EQ(bans.AddMany({{Block("198.51.100.0/24"), std::nullopt, "a"},
                          {Block("192.0.2.1"), std::nullopt, "b"}})
                .size(),
            2u);
  // From the shared database: in force, not told back.
  bans.AddMany({{Block("192.0.2.9"), std::nullopt, "remote"}},
               /*publish=*/false);
  EXPECT_TRUE(bans.Check(Ip("192.0.2.9")).banned);
  EXPECT_EQ(heard, (std::vector<std::string>{"203.0.113.7", "198.51.100.0/24",
                                             "192.0.2.1"}));
  bans.SetObserver(nullptr);
  ASSERT_TRUE(bans.Add(Block("192.0.2.10"), std::nullopt, "x").ok());
  EXPECT_EQ(heard.size(), 3u);
}

TEST(BanListTest, AddPersistsAndAFreshListSeesIt) {
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  const absl::Time until = clock.WallNow() + absl::Hours(1);
  {
    BanList bans(At(path), clock);
    ASSERT_TRUE(bans.Load().ok());
    // Creates the file.
    ASSERT_TRUE(
        bans.Add(Block("203.0.113.7"), until, "Auto-banned flood").ok());
    ASSERT_TRUE(bans.Add(Block("2001:db8:1:2::/64"), std::nullopt, "").ok());
    EXPECT_TRUE(bans.Check(Ip("203.0.113.7")).banned);
  }
  EXPECT_EQ(ReadAll(path),
            "203.0.113.7 until=2026-01-01T01:00:00Z reason=Auto-banned flood\n"
            "2001:db8:1:2::/64\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  BanList fresh(At(path), clock);
  absl::StatusOr<BanLoadResult> r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  BanCheck c = fresh.Check(Ip("203.0.113.7"));
  EXPECT_TRUE(c.banned);
  EXPECT_EQ(c.until, until);
  EXPECT_EQ(c.reason, "Auto-banned flood");
  EXPECT_TRUE(fresh.Check(Ip("2001:db8:1:2::5")).banned);
}

TEST(BanListTest, AddAfterLastLineWithoutNewline) {
  TempDir dir("banlist");
  const std::string path = dir.Write("bans.txt", "# edited by hand\n1.1.1.1");
  FakeClock clock;
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  ASSERT_TRUE(bans.Add(Block("2.2.2.2"), std::nullopt, "x").ok());
  EXPECT_EQ(ReadAll(path), "# edited by hand\n1.1.1.1\n2.2.2.2 reason=x\n");
  BanList fresh(At(path), clock);
  absl::StatusOr<BanLoadResult> r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  EXPECT_TRUE(r->warnings.empty());
}

TEST(BanListTest, AddSanitisesReasonAndRoundsUntilUp) {
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  BanList bans(At(path), clock);
  const absl::Time until = clock.WallNow() + absl::Milliseconds(1500);
  ASSERT_TRUE(bans.Add(Block("5.5.5.5"), until, " a\nb #c\r ").ok());
  BanCheck c = bans.Check(Ip("5.5.5.5"));
  EXPECT_EQ(c.reason, "a b _c");
  EXPECT_EQ(c.until, clock.WallNow() + absl::Seconds(2));
  BanList fresh(At(path), clock);
  ASSERT_TRUE(fresh.Load().ok());
  EXPECT_EQ(fresh.Check(Ip("5.5.5.5")).reason, "a b _c");
  EXPECT_EQ(fresh.Check(Ip("5.5.5.5")).until, c.until);
  // InfiniteFuture is permanent.
  ASSERT_TRUE(bans.Add(Block("6.6.6.6"), absl::InfiniteFuture(), "").ok());
  EXPECT_FALSE(bans.Check(Ip("6.6.6.6")).until.has_value());
  EXPECT_EQ(ReadAll(path).find("infinite"), std::string::npos);
}

TEST(BanListTest, AddingAgainExtendsAndFileAgrees) {
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  const absl::Time now = clock.WallNow();
  BanList bans(At(path), clock);
  const Cidr ip = Block("7.7.7.7");
  ASSERT_TRUE(bans.Add(ip, now + absl::Hours(1), "first").ok());
  ASSERT_TRUE(bans.Add(ip, now + absl::Hours(3), "second").ok());
  EXPECT_EQ(bans.Check(Ip("7.7.7.7")).until, now + absl::Hours(3));
  // A shorter ban does not shorten a longer one; the reason is updated.
  ASSERT_TRUE(bans.Add(ip, now + absl::Hours(2), "third").ok());
  EXPECT_EQ(bans.Check(Ip("7.7.7.7")).until, now + absl::Hours(3));
  EXPECT_EQ(bans.Check(Ip("7.7.7.7")).reason, "third");
  ASSERT_TRUE(bans.Add(ip, std::nullopt, "").ok());
  ASSERT_TRUE(bans.Add(ip, now + absl::Hours(9), "").ok());
  EXPECT_FALSE(bans.Check(Ip("7.7.7.7")).until.has_value());
  EXPECT_EQ(bans.Check(Ip("7.7.7.7")).reason, "third");
  EXPECT_EQ(bans.size(), 1u);
  BanList fresh(At(path), clock);
  absl::StatusOr<BanLoadResult> r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 1u);
  BanCheck c = fresh.Check(Ip("7.7.7.7"));
  EXPECT_FALSE(c.until.has_value());
  EXPECT_EQ(c.reason, "third");
}

TEST(BanListTest, AddReplacesAnExpiredEntry) {
  FakeClock clock;
  BanList bans(BanListConfig{}, clock);
  ASSERT_TRUE(
      bans.Add(Block("8.8.8.8"), clock.WallNow() + absl::Seconds(1), "old")
          .ok());
  clock.Advance(absl::Seconds(5));
  ASSERT_TRUE(
      bans.Add(Block("8.8.8.8"), clock.WallNow() + absl::Seconds(1), "").ok());
  BanCheck c = bans.Check(Ip("8.8.8.8"));
  EXPECT_TRUE(c.banned);
  EXPECT_EQ(c.reason, "");
  EXPECT_EQ(c.until, clock.WallNow() + absl::Seconds(1));
}

TEST(BanListTest, RewriteDropsExpiredKeepsComments) {
  TempDir dir("banlist");
  const std::string path = dir.Write(
      "bans.txt",
      "# operator notes\n"
      "\n"
      "1.1.1.1 until=2026-01-01T00:30:00Z reason=short   # soon gone\n"
      "bogus line\n"
      "2.2.2.0/24 reason=hand\n"
      "1.1.1.1 until=2026-01-01T00:10:00Z\n");
  ::chmod(path.c_str(), 0600);
  FakeClock clock;  // 2026-01-01T00:00:00Z
  BanList bans(At(path), clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warnings.size(), 1u);
  ASSERT_TRUE(
      bans.Add(Block("3.3.3.3"), clock.WallNow() + absl::Hours(2), "auto")
          .ok());
  ASSERT_TRUE(
      bans.Add(Block("4.4.4.4"), clock.WallNow() + absl::Minutes(5), "auto")
          .ok());
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path),
            "# operator notes\n"
            "\n"
            "1.1.1.1 until=2026-01-01T00:30:00Z reason=short\n"
            "bogus line\n"
            "2.2.2.0/24 reason=hand\n"
            "3.3.3.3 until=2026-01-01T02:00:00Z reason=auto\n"
            "4.4.4.4 until=2026-01-01T00:05:00Z reason=auto\n");
  clock.Advance(absl::Hours(1));
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path),
            "# operator notes\n"
            "\n"
            "bogus line\n"
            "2.2.2.0/24 reason=hand\n"
            "3.3.3.3 until=2026-01-01T02:00:00Z reason=auto\n");
  EXPECT_EQ(bans.size(), 2u);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // mode kept across the rename
  EXPECT_NE(::access(dir.Path("bans.txt.tmp").c_str(), F_OK), 0);
  // Adding again after a rewrite appends once.
  ASSERT_TRUE(bans.Add(Block("1.1.1.1"), std::nullopt, "back").ok());
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path),
            "# operator notes\n"
            "\n"
            "bogus line\n"
            "2.2.2.0/24 reason=hand\n"
            "3.3.3.3 until=2026-01-01T02:00:00Z reason=auto\n"
            "1.1.1.1 reason=back\n");
  BanList fresh(At(path), clock);
  r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 3u);
}

TEST(BanListTest, ReloadPicksUpEdits) {
  TempDir dir("banlist");
  const std::string path = dir.Write("bans.txt", "1.1.1.1\n");
  FakeClock clock;
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  WriteFile(path, "2.2.2.2\n3.3.3.3\nbad\n");
  absl::StatusOr<BanLoadResult> r = bans.Reload();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0].line_number, 3);
  EXPECT_FALSE(bans.Check(Ip("1.1.1.1")).banned);
  EXPECT_TRUE(bans.Check(Ip("3.3.3.3")).banned);
}

TEST(BanListTest, WriteFailureStillBansInMemory) {
  TempDir dir("banlist");
  FakeClock clock;
  BanList bans(At(dir.Path("sub") + "/missing/bans.txt"), clock);
  absl::Status s = bans.Add(Block("9.9.9.9"), std::nullopt, "x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(bans.Check(Ip("9.9.9.9")).banned);
}

TEST(BanListTest, InMemoryOnly) {
  FakeClock clock;
  BanList bans(BanListConfig{}, clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 0u);
  ASSERT_TRUE(
      bans.Add(Block("1.2.3.4"), clock.WallNow() + absl::Seconds(1), "").ok());
  EXPECT_TRUE(bans.Check(Ip("1.2.3.4")).banned);
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(bans.size(), 0u);
}

TEST(BanListTest, AFullListGivesWayToBansThatEndLater) {
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  const absl::Time now = clock.WallNow();
  BanListConfig config = At(path);
  config.max_entries = 3;
  BanList bans(config, clock);
  ASSERT_TRUE(bans.Add(Block("1.1.1.1"), now + absl::Hours(1), "").ok());
  ASSERT_TRUE(bans.Add(Block("2.2.2.2"), now + absl::Hours(2), "").ok());
  ASSERT_TRUE(bans.Add(Block("3.3.3.3"), std::nullopt, "").ok());
  // Ends later than 1.1.1.1, the soonest: 1.1.1.1 goes.
  ASSERT_TRUE(bans.Add(Block("4.4.4.4"), now + absl::Hours(3), "").ok());
  EXPECT_FALSE(bans.Check(Ip("1.1.1.1")).banned);
  EXPECT_TRUE(bans.Check(Ip("4.4.4.4")).banned);
  EXPECT_EQ(bans.displaced(), 1u);
  EXPECT_EQ(bans.size(), 3u);
  // Ends sooner than every ban in force: refused.
  EXPECT_EQ(bans.Add(Block("5.5.5.5"), now + absl::Minutes(30), "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(bans.Check(Ip("5.5.5.5")).banned);
  // Re-adding a present block is always possible.
  EXPECT_TRUE(bans.Add(Block("3.3.3.3"), std::nullopt, "again").ok());
  // A permanent ban displaces the soonest temporary one (2.2.2.2).
  ASSERT_TRUE(bans.Add(Block("6.6.6.6"), std::nullopt, "").ok());
  EXPECT_FALSE(bans.Check(Ip("2.2.2.2")).banned);
  EXPECT_EQ(bans.displaced(), 2u);
  // An expired ban makes room without counting as displaced.
  clock.Advance(absl::Hours(3));
  ASSERT_TRUE(bans.Add(Block("5.5.5.5"), now + absl::Hours(4), "").ok());
  EXPECT_EQ(bans.displaced(), 2u);
  // A list full of permanent bans refuses.
  ASSERT_TRUE(bans.Add(Block("7.7.7.7"), std::nullopt, "").ok());
  EXPECT_EQ(bans.Add(Block("8.8.8.8"), std::nullopt, "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(bans.size(), 3u);
  // The file agrees once rewritten: the displaced bans are gone from it.
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path), "3.3.3.3 reason=again\n6.6.6.6\n7.7.7.7\n");
}

TEST(BanListTest, LoadOverTheCapKeepsTheBansThatEndLast) {
  TempDir dir("banlist");
  const std::string path = dir.Write(
      "bans.txt",
      "1.1.1.1 until=2026-01-01T01:00:00Z\n"
      "2.2.2.2\n"
      "3.3.3.3 until=2026-01-01T03:00:00Z\n"
      "4.4.4.4 until=2026-01-01T00:30:00Z\n");
  FakeClock clock;
  BanListConfig config = At(path);
  config.max_entries = 2;
  BanList bans(config, clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  EXPECT_EQ(r->over_cap, 2u);
  EXPECT_TRUE(bans.Check(Ip("2.2.2.2")).banned);
  EXPECT_TRUE(bans.Check(Ip("3.3.3.3")).banned);
  EXPECT_FALSE(bans.Check(Ip("1.1.1.1")).banned);
  EXPECT_FALSE(bans.Check(Ip("4.4.4.4")).banned);
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path), "2.2.2.2\n3.3.3.3 until=2026-01-01T03:00:00Z\n");
  // Permanent lines over the cap are never dropped from the file.
  WriteFile(path, "1.1.1.1\n2.2.2.2 reason=x\n");
  config.max_entries = 1;
  BanList one(config, clock);
  r = one.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 1u);
  ASSERT_TRUE(one.Rewrite().ok());
  EXPECT_EQ(ReadAll(path), "1.1.1.1\n2.2.2.2 reason=x\n");
}

TEST(BanListTest, ExpiredBansLeaveMemoryWithoutARewrite) {
  FakeClock clock;
  BanList bans(BanListConfig{}, clock);
  const absl::Time now = clock.WallNow();
  ASSERT_TRUE(bans.Add(Block("1.1.1.1"), now + absl::Seconds(1), "").ok());
  ASSERT_TRUE(bans.Add(Block("2.2.2.2"), now + absl::Seconds(2), "").ok());
  ASSERT_TRUE(bans.Add(Block("3.3.3.3"), now + absl::Seconds(3), "").ok());
  ASSERT_TRUE(bans.Add(Block("4.4.4.4"), std::nullopt, "").ok());
  // Extending a ban leaves its earlier end behind in the index: not dropped.
  ASSERT_TRUE(bans.Add(Block("2.2.2.2"), now + absl::Hours(1), "").ok());
  EXPECT_EQ(bans.DropExpired(100), 0u);
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(bans.DropExpired(1), 1u);  // the budget holds
  EXPECT_EQ(bans.size(), 3u);
  EXPECT_EQ(bans.DropExpired(100), 1u);
  EXPECT_EQ(bans.size(), 2u);
  EXPECT_TRUE(bans.Check(Ip("2.2.2.2")).banned);
  EXPECT_TRUE(bans.Check(Ip("4.4.4.4")).banned);
}

TEST(BanListTest, WarningsAreCappedAndCounted) {
  TempDir dir("banlist");
  std::string text;
  for (size_t i = 0; i < kMaxBanFileWarnings + 50; ++i) text += "bad\n";
  text += "1.2.3.4\n";
  const std::string path = dir.Write("bans.txt", text);
  FakeClock clock;
  BanList bans(At(path), clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warnings.size(), kMaxBanFileWarnings);
  EXPECT_EQ(r->more_warnings, 50u);
  EXPECT_EQ(r->entries, 1u);
}

// ---- the file is the operator's too ----

TEST(BanListTest, ALineAddedByHandBetweenTwoAutobansSurvivesTheRewrite) {
  TempDir dir("banlist");
  const std::string path = dir.Write("bans.txt", "# operator\n");
  FakeClock clock;
  const absl::Time until = clock.WallNow() + absl::Hours(1);
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  ASSERT_TRUE(bans.Add(Block("10.0.0.1"), until, "flood autoban").ok());
  {
    std::FILE* f = std::fopen(path.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("198.51.100.0/24 reason=by hand", f);  // no newline either
    std::fclose(f);
  }
  ASSERT_TRUE(bans.Add(Block("10.0.0.2"), until, "flood autoban").ok());
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(ReadAll(path),
            "# operator\n"
            "10.0.0.1 until=2026-01-01T01:00:00Z reason=flood autoban\n"
            "198.51.100.0/24 reason=by hand\n"
            "10.0.0.2 until=2026-01-01T01:00:00Z reason=flood autoban\n");
  // The rewrite read it, so it applies now too.
  EXPECT_TRUE(bans.Check(Ip("198.51.100.9")).banned);
  EXPECT_EQ(bans.Check(Ip("198.51.100.9")).reason, "by hand");
  EXPECT_EQ(bans.size(), 3u);
  EXPECT_EQ(bans.file_lines(), 4u);
  EXPECT_EQ(bans.compact_lines(), 4u);
}

TEST(BanListTest, ALineDeletedByHandUnbansAtTheNextRewrite) {
  TempDir dir("banlist");
  const std::string path = dir.Write("bans.txt", "1.1.1.1\n2.2.2.2\n");
  FakeClock clock;
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  ASSERT_TRUE(bans.Add(Block("3.3.3.3"), std::nullopt, "auto").ok());
  // The operator deletes 1.1.1.1 (an editor writes a new file).
  WriteFile(path, "2.2.2.2\n3.3.3.3 reason=auto\n");
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_FALSE(bans.Check(Ip("1.1.1.1")).banned);
  EXPECT_TRUE(bans.Check(Ip("2.2.2.2")).banned);
  EXPECT_TRUE(bans.Check(Ip("3.3.3.3")).banned);
  EXPECT_EQ(ReadAll(path), "2.2.2.2\n3.3.3.3 reason=auto\n");
}

TEST(BanListTest, AnUnwrittenBanIsWrittenByTheNextRewrite) {
  TempDir dir("banlist");
  const std::string path = dir.Path("sub/bans.txt");
  FakeClock clock;
  BanList bans(At(path), clock);
  EXPECT_FALSE(bans.Add(Block("9.9.9.9"), std::nullopt, "x").ok());
  EXPECT_EQ(bans.unwritten(), 1u);
  // A reload keeps it: the operator cannot have deleted a line never written.
  ASSERT_TRUE(bans.Load().ok());
  EXPECT_TRUE(bans.Check(Ip("9.9.9.9")).banned);
  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(bans.unwritten(), 0u);
  EXPECT_EQ(ReadAll(path), "9.9.9.9 reason=x\n");
}

TEST(BanListTest, UnbanObserverIsToldOfFoundUnbansThatArePublished) {
  TempDir dir("banlist");
  FakeClock clock;
  BanList bans(At(dir.Path("bans.txt")), clock);
  ASSERT_TRUE(bans.Load().ok());
  std::vector<std::string> told;
  bans.SetUnbanObserver([&](const Cidr& c) { told.push_back(c.ToString()); });
  ASSERT_TRUE(bans.Add(Block("1.2.3.4"), std::nullopt, "x").ok());
  ASSERT_TRUE(bans.Add(Block("5.6.7.0/24"), std::nullopt, "x").ok());
  ASSERT_TRUE(bans.Remove(Block("1.2.3.4")).ok());
  // Not found: nothing to share.
  EXPECT_EQ(bans.Remove(Block("1.2.3.4")).code(), absl::StatusCode::kNotFound);
  // Came from the shared database: applied, not passed on again.
  ASSERT_TRUE(bans.Remove(Block("5.6.7.0/24"), /*publish=*/false).ok());
  EXPECT_FALSE(bans.Check(Ip("5.6.7.8")).banned);
  EXPECT_EQ(told, std::vector<std::string>{"1.2.3.4"});
}

TEST(BanListTest, RemoveUnbansAndTheFileForgetsIt) {
  TempDir dir("banlist");
  const std::string path =
      dir.Write("bans.txt", "# keep\n10.0.0.0/8 reason=wide\n1.2.3.4\n");
  FakeClock clock;
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  ASSERT_TRUE(bans.Add(Block("5.6.7.8"), std::nullopt, "auto").ok());
  ASSERT_TRUE(bans.Add(Block("1.2.3.4"), std::nullopt, "again").ok());
  ASSERT_TRUE(bans.Remove(Block("1.2.3.4")).ok());
  EXPECT_FALSE(bans.Check(Ip("1.2.3.4")).banned);
  EXPECT_EQ(ReadAll(path), "# keep\n10.0.0.0/8 reason=wide\n5.6.7.8 reason=auto\n");
  EXPECT_EQ(bans.Remove(Block("1.2.3.4")).code(), absl::StatusCode::kNotFound);
  // Only the exact block: an address inside a banned range stays banned.
  EXPECT_EQ(bans.Remove(Block("10.1.1.1")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(bans.Check(Ip("10.1.1.1")).banned);
  // A line the operator added by hand can be removed before any reload.
  {
    std::FILE* f = std::fopen(path.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("7.7.7.7\n", f);
    std::fclose(f);
  }
  EXPECT_TRUE(bans.Remove(Block("7.7.7.7")).ok());
  BanList fresh(At(path), clock);
  absl::StatusOr<BanLoadResult> r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u);
  EXPECT_FALSE(fresh.Check(Ip("1.2.3.4")).banned);
  EXPECT_FALSE(fresh.Check(Ip("7.7.7.7")).banned);
  // In memory only.
  BanList memory(BanListConfig{}, clock);
  ASSERT_TRUE(memory.Add(Block("1.1.1.1"), std::nullopt, "").ok());
  EXPECT_TRUE(memory.Remove(Block("1.1.1.1")).ok());
  EXPECT_FALSE(memory.Check(Ip("1.1.1.1")).banned);
  EXPECT_EQ(memory.Remove(Block("1.1.1.1")).code(),
            absl::StatusCode::kNotFound);
}

TEST(BanListTest, TwoListsOnOneFileLoseNoneOfEachOthersLines) {
  // Two BanLists stand for two processes: each has its own mutex, so only the
  // advisory lock keeps one's rewrite from dropping the other's append.
  TempDir dir("banlist");
  const std::string path = dir.Path("bans.txt");
  FakeClock clock;
  BanList a(At(path), clock);
  BanList b(At(path), clock);
  constexpr int kEach = 200;
  std::thread appender([&] {
    for (int i = 0; i < kEach; ++i) {
      EXPECT_TRUE(a.Add(HostCidr(IpAddress::V4(10, 0, static_cast<uint8_t>(
                                                           i / 256),
                                               static_cast<uint8_t>(i))),
                        std::nullopt, "a")
                      .ok());
    }
  });
  for (int i = 0; i < kEach; ++i) {
    EXPECT_TRUE(b.Add(HostCidr(IpAddress::V4(
                          20, 0, static_cast<uint8_t>(i / 256),
                          static_cast<uint8_t>(i))),
                      std::nullopt, "b")
                    .ok());
    if (i % 10 == 0) {
      EXPECT_TRUE(b.Rewrite().ok());
    }
  }
  appender.join();
  ASSERT_TRUE(b.Rewrite().ok());
  BanList fresh(At(path), clock);
  absl::StatusOr<BanLoadResult> r = fresh.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 2u * kEach);
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(b.size(), 2u * kEach);  // b's rewrites read a's lines
  EXPECT_EQ(::access((path + ".lock").c_str(), F_OK), 0);
}

TEST(BanListTest, TenThousandEntries) {
  TempDir dir("banlist");
  const std::string path = dir.Path("big.txt");
  std::mt19937 rng(12345);
  std::vector<Cidr> cidrs;
  std::string text = "# generated\n";
  auto add = [&](const std::string& entry) {
    cidrs.push_back(*ParseCidr(entry));
    absl::StrAppend(&text, entry, "\n");
  };
  for (int i = 0; i < 6000; ++i) {  // addresses in 100.64.0.0/10
    add(absl::StrFormat("100.%d.%d.%d", 64 + (rng() % 64), rng() % 256,
                        rng() % 256));
  }
  for (int i = 0; i < 2000; ++i) {  // v4 blocks of varied lengths
    const int len = 8 + static_cast<int>(rng() % 25);
    add(absl::StrFormat("%d.%d.%d.%d/%d", 1 + rng() % 99, rng() % 256,
                        rng() % 256, rng() % 256, len));
  }
  for (int i = 0; i < 1500; ++i) {  // v6 /64s and /48s
    add(absl::StrFormat("2001:db8:%x:%x::/%d", rng() % 65536, rng() % 65536,
                        i % 2 ? 64 : 48));
  }
  for (int i = 0; i < 500; ++i) {  // v6 hosts
    add(absl::StrFormat("2001:db8:%x:%x::%x", rng() % 65536, rng() % 65536,
                        1 + rng() % 65535));
  }
  WriteFile(path, text);
  FakeClock clock;
  BanList bans(At(path), clock);
  absl::StatusOr<BanLoadResult> r = bans.Load();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(r->entries, bans.size());
  EXPECT_GT(r->entries, 9900u);  // random duplicates merge

  auto brute = [&](const IpAddress& ip) {
    for (const Cidr& c : cidrs) {
      if (Contains(c, ip)) return true;
    }
    return false;
  };
  // Every entry matches its own base address.
  for (const Cidr& c : cidrs) ASSERT_TRUE(bans.Check(c.address).banned);
  // Random probes agree with a brute-force scan, hits and misses both.
  int hits = 0;
  for (int i = 0; i < 3000; ++i) {
    IpAddress ip;
    if (i % 3 == 0) {
      ip = IpAddress::V4(
          static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
          static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()));
    } else if (i % 3 == 1) {
      // Near an entry: same block, random host bits.
      const Cidr& c = cidrs[rng() % cidrs.size()];
      ip = c.address;
      for (size_t b = 0; b < (ip.family == IpFamily::kV4 ? 4u : 16u); ++b) {
        ip.bytes[b] =
            static_cast<uint8_t>(ip.bytes[b] ^ (rng() % 2 ? 0 : rng()));
      }
    } else {
      ip = *ParseIp(absl::StrFormat("2001:db8:%x:%x::%x", rng() % 65536,
                                    rng() % 65536, rng() % 65536));
    }
    const bool expected = brute(ip);
    hits += expected ? 1 : 0;
    ASSERT_EQ(bans.Check(ip).banned, expected) << ip.ToString();
  }
  EXPECT_GT(hits, 100);
  EXPECT_LT(hits, 2900);
}

TEST(BanListTest, ConcurrentCheckAddReload) {
  TempDir dir("banlist");
  const std::string path = dir.Write("bans.txt", "10.0.0.0/8\n");
  FakeClock clock;
  BanList bans(At(path), clock);
  ASSERT_TRUE(bans.Load().ok());
  std::thread checker([&] {
    for (int i = 0; i < 2000; ++i) {
      EXPECT_TRUE(
          bans.Check(IpAddress::V4(10, 1, 2, static_cast<uint8_t>(i))).banned);
    }
  });
  std::thread adder([&] {
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(
          bans.Add(HostCidr(IpAddress::V4(20, 0, 0, static_cast<uint8_t>(i))),
                   std::nullopt, "auto")
              .ok());
    }
  });
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(bans.Reload().ok());
  checker.join();
  adder.join();
  ASSERT_TRUE(bans.Reload().ok());
  EXPECT_EQ(bans.size(), 51u);
  ASSERT_TRUE(bans.Rewrite().ok());
  EXPECT_EQ(bans.size(), 51u);
}

}  // namespace
}  // namespace muwarden::guard
