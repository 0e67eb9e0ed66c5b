// ClusterPresence against a real PostgreSQL (tests/support): leases claimed
// once across server ids, taken over from this server's own id, renewed in one
// round for the held keys only, expired after heartbeat_timeout, cleared at
// start and on a clean stop; the heartbeat row carries the load.
#include "server/game/cluster_presence.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/db/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_instance.h"

namespace muwarden::game {
namespace {

using ::muwarden::testing::PostgresInstance;

class ClusterPresenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(PostgresInstance::Available())
        << "PostgreSQL 15 is not installed (scripts/setup installs it)";
    ASSERT_EQ(pg_.Init(), "");
    conn_ = std::make_unique<pg::Connection>(pg::ConnectionConfig{pg_.url()});
    ASSERT_TRUE(pg::MigrateSchema(*conn_).ok());
  }

  PresenceConfig Config(int id) const {
    PresenceConfig c;
    c.cluster.url = pg_.url();
    c.cluster.server_id = id;
    // Long interval: the tests drive RenewOnce themselves.
    c.cluster.heartbeat_interval = absl::Seconds(60);
    c.cluster.heartbeat_timeout = absl::Milliseconds(800);
    c.host = "192.0.2.1";
    c.port = 55900 + id;
    c.max_players = 8;
    return c;
  }

  std::string Query(const std::string& sql) {
    absl::StatusOr<pg::Result> r = conn_->ExecScript(sql.c_str());
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || PQntuples(r->get()) == 0) return "";
    return pg::Text(r->get(), 0, 0);
  }

  PostgresInstance pg_;
  std::unique_ptr<pg::Connection> conn_;
};

TEST(TextArrayTest, QuotesEveryItem) {
  EXPECT_EQ(TextArray({}), "{}");
  EXPECT_EQ(TextArray({"a", "b_1"}), "{\"a\",\"b_1\"}");
  EXPECT_EQ(TextArray({"q\"x\\"}), "{\"q\\\"x\\\\\"}");
}

TEST_F(ClusterPresenceTest, OneHolderAcrossServersUntilReleasedOrExpired) {
  std::vector<std::string> held1, held2;
  auto s1 = ClusterPresence::Start(Config(1), [&] { return held1; });
  auto s2 = ClusterPresence::Start(Config(2), [&] { return held2; });
  ASSERT_TRUE(s1.ok()) << s1.status();
  ASSERT_TRUE(s2.ok()) << s2.status();
  ASSERT_TRUE((*s1)->Claim("alice").ok());
  held1 = {"alice"};
  EXPECT_EQ((*s2)->Claim("alice").code(), absl::StatusCode::kAlreadyExists);
  // Its own id's row is taken over (the registry is the authority there).
  EXPECT_TRUE((*s1)->Claim("alice").ok());
  (*s1)->Release("alice");
  held1.clear();
  EXPECT_TRUE((*s2)->Claim("alice").ok());
  held2 = {"alice"};
  // Renewed, it outlives the timeout; no longer renewed, it expires.
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(400));
    ASSERT_TRUE((*s2)->RenewOnce().ok());
  }
  EXPECT_EQ((*s1)->Claim("alice").code(), absl::StatusCode::kAlreadyExists);
  held2.clear();  // a lost release: the row is only no longer renewed
  absl::SleepFor(absl::Milliseconds(900));
  EXPECT_TRUE((*s1)->Claim("alice").ok());
}

TEST_F(ClusterPresenceTest, OneRoundRenewsEveryHeldLeaseAndWritesTheRow) {
  std::vector<std::string> held = {"p1", "p2", "p3"};
  auto s = ClusterPresence::Start(Config(3), [&] { return held; });
  ASSERT_TRUE(s.ok()) << s.status();
  for (const std::string& k : held) ASSERT_TRUE((*s)->Claim(k).ok());
  const uint64_t before = (*s)->leases_renewed();
  ASSERT_TRUE((*s)->RenewOnce().ok());
  EXPECT_EQ((*s)->leases_renewed() - before, 3u);
  EXPECT_EQ(Query("SELECT host || ':' || port || ' ' || players || '/' || "
                  "max_players FROM servers WHERE server_id = 3"),
            "192.0.2.1:55903 3/8");
}

TEST_F(ClusterPresenceTest, StartClearsItsOwnOldLeasesAndAStopLeaves) {
  conn_->ExecScript(
          "INSERT INTO sessions VALUES ('ghost', 4, now() + interval '1 hour'),"
          " ('other', 5, now() + interval '1 hour')")
      .IgnoreError();
  {
    auto s = ClusterPresence::Start(Config(4), [] {
      return std::vector<std::string>{};
    });
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(Query("SELECT string_agg(account_key, ',' ORDER BY account_key) "
                    "FROM sessions"),
              "other");
    EXPECT_EQ(Query("SELECT count(*) FROM servers WHERE server_id = 4"), "1");
    ASSERT_TRUE((*s)->Claim("mine").ok());
  }
  EXPECT_EQ(Query("SELECT count(*) FROM servers WHERE server_id = 4"), "0");
  EXPECT_EQ(Query("SELECT count(*) FROM sessions WHERE server_id = 4"), "0");
}

TEST_F(ClusterPresenceTest, ADatabaseAwayIsUnavailableNotAHang) {
  auto s = ClusterPresence::Start(Config(6), [] {
    return std::vector<std::string>{"x"};
  });
  ASSERT_TRUE(s.ok()) << s.status();
  pg_.Stop();
  const absl::Time start = absl::Now();
  EXPECT_EQ((*s)->Claim("bob").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE((*s)->RenewOnce().ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_EQ(pg_.Start(), "");
  absl::Status again = (*s)->Claim("bob");
  EXPECT_TRUE(again.ok()) << again;
}

}  // namespace
}  // namespace muwarden::game
