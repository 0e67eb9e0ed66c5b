// BanSync against a real PostgreSQL server (tests/support): two processes'
// ban lists and known blocks, each with its own BanSync on one database, see
// each other's bans, unbans and known blocks within a second; the late row of
// a writer that committed after a higher id was seen is still applied, once;
// changes made while the database is away arrive after it is back; a sync
// started later reads the bans in force, in order (a ban and its unban: none).
#include "common/db/ban_sync.h"

#include <functional>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/base/clock.h"
#include "common/db/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_instance.h"

namespace muwarden::db {
namespace {

using ::muwarden::testing::PostgresInstance;

guard::Cidr Block(const char* text) { return *guard::ParseCidr(text); }
guard::IpAddress Ip(const char* text) { return *guard::ParseIp(text); }

// Polls `done` every 10 ms for at most `limit`.
bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time end = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// One server's side: its ban list, its known blocks, its sync.
struct Side {
  Side() : bans(guard::BanListConfig{}, Clock::Real()),
           known(guard::KnownBlocksConfig{}, Clock::Real()) {}
  guard::BanList bans;
  guard::KnownBlocks known;
  std::unique_ptr<BanSync> sync;
};

class BanSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(PostgresInstance::Available())
        << "PostgreSQL 15 is not installed (scripts/setup installs it)";
    ASSERT_EQ(pg_.Init(), "");
    pg::Connection conn(Db());
    ASSERT_TRUE(pg::MigrateSchema(conn).ok());
  }

  pg::ConnectionConfig Db() const {
    pg::ConnectionConfig db;
    db.url = pg_.url();
    return db;
  }

  void Start(Side& side, const std::string& origin) {
    BanSyncConfig config;
    config.db = Db();
    config.origin = origin;
    config.catch_up = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<BanSync>> sync =
        BanSync::Start(std::move(config), side.bans, &side.known);
    ASSERT_TRUE(sync.ok()) << sync.status();
    side.sync = *std::move(sync);
  }

  static bool Banned(Side& side, const char* ip) {
    return side.bans.Check(Ip(ip)).banned;
  }

  PostgresInstance pg_;
};

TEST_F(BanSyncTest, BansUnbansAndKnownBlocksReachTheOtherWithinASecond) {
  Side a, b;
  Start(a, "a");
  Start(b, "b");
  ASSERT_TRUE(a.bans.Add(Block("198.51.100.7"), absl::Now() + absl::Hours(1),
                         "flood").ok());
  ASSERT_TRUE(a.bans.Add(Block("203.0.113.0/24"), std::nullopt,
                         "prefix autoban").ok());
  EXPECT_TRUE(WaitFor([&] { return Banned(b, "198.51.100.7") &&
                                   Banned(b, "203.0.113.99"); },
                      absl::Seconds(1)));
  EXPECT_EQ(b.bans.Check(Ip("203.0.113.99")).reason, "prefix autoban");
  // An unban on b (not where the ban was made) reaches a.
  ASSERT_TRUE(b.bans.Remove(Block("198.51.100.7")).ok());
  EXPECT_TRUE(WaitFor([&] { return !Banned(a, "198.51.100.7"); },
                      absl::Seconds(1)));
  EXPECT_TRUE(Banned(a, "203.0.113.99"));
  // A good visit on a makes the block known on b.
  a.known.Record(Ip("2001:db8:5:6::1"));
  EXPECT_TRUE(WaitFor([&] { return b.known.IsKnown(Ip("2001:db8:5:6::99")); },
                      absl::Seconds(1)));
  EXPECT_FALSE(b.known.IsKnown(Ip("2001:db8:5:7::1")));
  // Nothing came back to where it was made.
  EXPECT_EQ(a.sync->received(), 1u);  // the unban
  EXPECT_EQ(b.sync->received(), 2u);
  EXPECT_EQ(a.sync->visits_published(), 1u);
}

TEST_F(BanSyncTest, ALateCommittedRowIsAppliedOnce) {
  Side b;
  Start(b, "b");
  // Rows 100 and then 50: 50 took its id first but committed last, as a
  // second writer's row can.
  pg_.Psql("INSERT INTO bans (id, cidr, until, reason, origin) VALUES "
           "(100, '192.0.2.100/32', 0, 'x', 'a')");
  ASSERT_TRUE(WaitFor([&] { return Banned(b, "192.0.2.100"); }, absl::Seconds(1)));
  pg_.Psql("INSERT INTO bans (id, cidr, until, reason, origin) VALUES "
           "(50, '192.0.2.50/32', 0, 'x', 'a')");
  EXPECT_TRUE(WaitFor([&] { return Banned(b, "192.0.2.50"); }, absl::Seconds(1)));
  absl::SleepFor(absl::Milliseconds(600));  // a few more catch-ups
  EXPECT_EQ(b.sync->received(), 2u);
}

TEST_F(BanSyncTest, ChangesMadeWhileTheDatabaseIsAwayArriveAfterIt) {
  Side a, b;
  Start(a, "a");
  Start(b, "b");
  pg_.Stop();
  ASSERT_TRUE(a.bans.Add(Block("198.51.100.9"), std::nullopt, "op").ok());
  a.known.Record(Ip("192.0.2.44"));
  // Enforced where it was made all along.
  EXPECT_TRUE(Banned(a, "198.51.100.9"));
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_EQ(pg_.Start(), "");
  EXPECT_TRUE(WaitFor([&] { return Banned(b, "198.51.100.9") &&
                                   b.known.IsKnown(Ip("192.0.2.44")); },
                      absl::Seconds(10)));
}

TEST_F(BanSyncTest, ALaterStartReadsTheBansInForceInOrder) {
  Side a;
  Start(a, "a");
  ASSERT_TRUE(a.bans.Add(Block("198.51.100.1"), std::nullopt, "x").ok());
  ASSERT_TRUE(a.bans.Add(Block("198.51.100.2"), std::nullopt, "x").ok());
  ASSERT_TRUE(a.bans.Add(Block("198.51.100.3"), absl::Now() - absl::Seconds(5),
                         "expired").ok());
  ASSERT_TRUE(a.bans.Remove(Block("198.51.100.1")).ok());
  a.known.Record(Ip("192.0.2.45"));
  ASSERT_TRUE(WaitFor([&] { return a.sync->published() == 4 &&
                                   a.sync->visits_published() == 1; },
                      absl::Seconds(2)));
  Side b;
  Start(b, "b");  // Start returns after its first catch-up
  EXPECT_FALSE(Banned(b, "198.51.100.1"));
  EXPECT_TRUE(Banned(b, "198.51.100.2"));
  EXPECT_FALSE(Banned(b, "198.51.100.3"));
  EXPECT_TRUE(b.known.IsKnown(Ip("192.0.2.45")));
}

}  // namespace
}  // namespace muwarden::db
