#include "common/db/pg.h"

#include <string>

#include "common/db/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_instance.h"

namespace muwarden::pg {
namespace {

using ::muwarden::testing::PostgresInstance;

class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(PostgresInstance::Available())
        << "PostgreSQL 15 is not installed (scripts/setup installs it)";
    ASSERT_EQ(server_.Init(), "");
  }
  ConnectionConfig Config() const {
    ConnectionConfig config;
    config.url = server_.url();
    return config;
  }
  PostgresInstance server_;
};

constexpr Statement kEcho{"t_echo", "SELECT $1::text, $2::bigint, $3::text"};
constexpr Statement kInsert{"t_insert", "INSERT INTO t (k) VALUES ($1)"};
constexpr Statement kCount{"t_count", "SELECT count(*) FROM t"};

TEST(PgUrlTest, UrlsAndKeyValueStringsArePostgres) {
  EXPECT_TRUE(IsPostgresUrl("postgresql://u@h/db"));
  EXPECT_TRUE(IsPostgresUrl("postgres://h/db"));
  EXPECT_TRUE(IsPostgresUrl("host=127.0.0.1 dbname=mu"));
  EXPECT_FALSE(IsPostgresUrl(""));
  EXPECT_FALSE(IsPostgresUrl("accounts.db"));
  EXPECT_FALSE(IsPostgresUrl("mysql://h/db"));
}

TEST(PgUrlTest, PrintedUrlsHideTheirPassword) {
  EXPECT_EQ(HidePassword("postgresql://mw:s3cret@db.example:5432/mw"),
            "postgresql://mw:********@db.example:5432/mw");
  EXPECT_EQ(HidePassword("host=db user=mw password=s3cret dbname=mw"),
            "host=db user=mw password=******** dbname=mw");
  EXPECT_EQ(HidePassword("postgresql://mw@db/mw"), "postgresql://mw@db/mw");
  // Percent-encoded, or the same text twice: the whole url is hidden.
  EXPECT_EQ(HidePassword("postgresql://mw:p%40ss@db/mw"),
            "<hidden: the url holds a password>");
  EXPECT_EQ(HidePassword("postgresql://db:db@db/mw"),
            "<hidden: the url holds a password>");
  EXPECT_EQ(HidePassword(""), "");
}

TEST_F(PgTest, ParametersRoundTripAsDataNullsIncluded) {
  auto conn = Connection::Open(Config());
  ASSERT_TRUE(conn.ok()) << conn.status();
  const std::string tricky = "a'b\"c; DROP TABLE x;--";
  absl::StatusOr<Result> r = (*conn)->Exec(kEcho, {tricky, int64_t{-42}, std::nullopt});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(PQntuples(r->get()), 1);
  EXPECT_EQ(Text(r->get(), 0, 0), tricky);
  EXPECT_EQ(Int(r->get(), 0, 1), -42);
  EXPECT_TRUE(IsNull(r->get(), 0, 2));
  // Prepared once, run again on the same connection.
  r = (*conn)->Exec(kEcho, {"x", int64_t{1}, "y"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(r->get(), 0, 2), "y");
}

TEST_F(PgTest, UniqueViolationIsAlreadyExistsWithItsSqlState) {
  auto conn = Connection::Open(Config());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->ExecScript("CREATE TABLE t (k text PRIMARY KEY)").ok());
  ASSERT_TRUE((*conn)->Exec(kInsert, {"one"}).ok());
  absl::StatusOr<Result> dup = (*conn)->Exec(kInsert, {"one"});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  EXPECT_EQ(SqlState(dup.status()), "23505");
  // The connection stays usable after a statement error.
  absl::StatusOr<Result> count = (*conn)->Exec(kCount, {});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(Int(count->get(), 0, 0), 1);
  EXPECT_EQ((*conn)->connects(), 1u);
}

TEST_F(PgTest, UnreachableAtOpenIsUnavailableWithTheReason) {
  ConnectionConfig config = Config();
  server_.Stop();
  const absl::Time start = absl::Now();
  auto conn = Connection::Open(config);
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(conn.status().message().find("cannot connect to PostgreSQL: "),
            std::string::npos)
      << conn.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(PgTest, AServerThatGoesAwayIsUnavailableFastThenReconnects) {
  auto conn = Connection::Open(Config());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->Exec(kEcho, {"a", int64_t{1}, "b"}).ok());
  server_.Stop();
  const absl::Time start = absl::Now();
  absl::StatusOr<Result> r = (*conn)->Exec(kEcho, {"a", int64_t{1}, "b"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  r = (*conn)->Exec(kEcho, {"a", int64_t{1}, "b"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE((*conn)->connected());
  ASSERT_EQ(server_.Start(), "");
  // The same object reconnects on its next call and prepares again.
  r = (*conn)->Exec(kEcho, {"c", int64_t{2}, "d"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Text(r->get(), 0, 0), "c");
  EXPECT_EQ((*conn)->connects(), 2u);
}

TEST_F(PgTest, AnIdleConnectionToARestartedServerIsReplacedBeforeUse) {
  auto conn = Connection::Open(Config());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->Exec(kEcho, {"a", int64_t{1}, "b"}).ok());
  server_.Stop();
  ASSERT_EQ(server_.Start(), "");
  // The first statement after the restart succeeds: the stale socket's close
  // was noticed before sending.
  absl::StatusOr<Result> r = (*conn)->Exec(kEcho, {"c", int64_t{2}, "d"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*conn)->connects(), 2u);
}

TEST_F(PgTest, StatementTimeoutBoundsASlowStatement) {
  ConnectionConfig config = Config();
  config.statement_timeout = absl::Milliseconds(300);
  auto conn = Connection::Open(config);
  ASSERT_TRUE(conn.ok()) << conn.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<Result> r = (*conn)->ExecScript("SELECT pg_sleep(5)");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(SqlState(r.status()), "57014");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(PgTest, SchemaIsCreatedOnceWithItsVersionRow) {
  auto conn = Connection::Open(Config());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE(MigrateSchema(**conn).ok());
  ASSERT_TRUE(MigrateSchema(**conn).ok());  // a second server's start
  absl::StatusOr<Result> r = (*conn)->ExecScript(
      "SELECT version, (SELECT count(*) FROM schema_version) FROM "
      "schema_version");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Int(r->get(), 0, 0), SchemaVersion());
  EXPECT_EQ(Int(r->get(), 0, 1), 1);
  ASSERT_TRUE((*conn)->ExecScript("UPDATE schema_version SET version = 99").ok());
  absl::Status s = MigrateSchema(**conn);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "schema version 99 is newer than this build understands (" +
                             std::to_string(SchemaVersion()) + ")");
}

TEST_F(PgTest, PoolHandsOutAtMostItsSize) {
  Pool pool(Config(), 2);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  auto c = pool.Acquire(absl::Milliseconds(50));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  { auto released = std::move(*a); }
  auto d = pool.Acquire(absl::Milliseconds(50));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)->Exec(kEcho, {"p", int64_t{0}, "q"}).ok());
}

}  // namespace
}  // namespace muwarden::pg
