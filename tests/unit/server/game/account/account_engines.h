// The two engines of the account repository tests: each gives a store config
// on an empty database of its own, and runs raw SQL on it beside the store.
// PostgresEngine shares one real PostgreSQL server per test process (started
// on first use, stopped and deleted at exit) and empties its schema for each
// test. Thread-compatible.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_ENGINES_H_
#define MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_ENGINES_H_

#include <sqlite3.h>

#include <memory>
#include <string>

#include "common/db/pg.h"
#include "common/db/pg_schema.h"
#include "gtest/gtest.h"
#include "server/game/account/account_store.h"
#include "tests/support/postgres_instance.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game::testing {

class SqliteEngine {
 public:
  static constexpr const char* kName = "Sqlite";
  static constexpr int kSchemaVersion = 2;

  std::string Init() { return ""; }
  AccountStoreConfig Config() const {
    return FastConfig(dir_.File("accounts.db"));
  }
  // The first column of the first row as text ("" if none).
  std::string Query(const std::string& sql) const {
    sqlite3* db = nullptr;
    sqlite3_open_v2(dir_.File("accounts.db").c_str(), &db,
                    SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string text;
    if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_text(stmt, 0) != nullptr) {
      text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return text;
  }
  void Exec(const std::string& sql) const {
    sqlite3* db = nullptr;
    sqlite3_open_v2(dir_.File("accounts.db").c_str(), &db,
                    SQLITE_OPEN_READWRITE, nullptr);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

 private:
  TempDir dir_;
};

// The process's PostgreSQL server, started on first use; null with the reason
// in *error when it could not be.
inline ::muwarden::testing::PostgresInstance* SharedPostgres(
    std::string* error) {
  static std::string init_error;
  static ::muwarden::testing::PostgresInstance* instance = [] {
    auto* pg = new ::muwarden::testing::PostgresInstance();
    if (!::muwarden::testing::PostgresInstance::Available()) {
      init_error =
          "PostgreSQL 15 is not installed (scripts/setup installs it)";
      return pg;
    }
    init_error = pg->Init();
    // Stopped and deleted when the test process ends.
    std::atexit([] { delete SharedPostgres(nullptr); });
    return pg;
  }();
  if (error != nullptr) *error = init_error;
  return instance;
}

class PostgresEngine {
 public:
  static constexpr const char* kName = "Postgres";
  static constexpr int kSchemaVersion = 3;  // 3: unbans and known blocks shared

  // Empties the shared database; "" or what failed.
  std::string Init() {
    std::string error;
    pg_ = SharedPostgres(&error);
    if (!error.empty()) return error;
    conn_ = std::make_unique<pg::Connection>(pg::ConnectionConfig{pg_->url()});
    absl::StatusOr<pg::Result> r = conn_->ExecScript(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    return r.ok() ? "" : std::string(r.status().message());
  }
  AccountStoreConfig Config() const {
    AccountStoreConfig config = FastConfig("unused.db");
    config.url = pg_->url();
    return config;
  }
  std::string Query(const std::string& sql) {
    absl::StatusOr<pg::Result> r = conn_->ExecScript(sql.c_str());
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || *r == nullptr || PQntuples(r->get()) == 0) return "";
    return pg::Text(r->get(), 0, 0);
  }
  void Exec(const std::string& sql) {
    absl::StatusOr<pg::Result> r = conn_->ExecScript(sql.c_str());
    EXPECT_TRUE(r.ok()) << r.status();
  }
  ::muwarden::testing::PostgresInstance& server() { return *pg_; }

 private:
  ::muwarden::testing::PostgresInstance* pg_ = nullptr;
  std::unique_ptr<pg::Connection> conn_;
};

}  // namespace muwarden::game::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_ENGINES_H_
