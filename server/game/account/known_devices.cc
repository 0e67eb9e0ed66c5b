#include "server/game/account/known_devices.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>

namespace muwarden::game {
namespace {

// Names under NOCASE like accounts.name; WITHOUT ROWID: the key is the row.
constexpr char kCreateTable[] = R"sql(
CREATE TABLE IF NOT EXISTS known_devices (
  account TEXT NOT NULL COLLATE NOCASE,
  block TEXT NOT NULL,
  last_login INTEGER NOT NULL,
  PRIMARY KEY (account, block)
) WITHOUT ROWID;
)sql";

}  // namespace

absl::StatusOr<KnownDevices> KnownDevices::Open(sqlite3* db) {
  if (absl::Status s = sqlite::Exec(db, kCreateTable, "known devices table");
      !s.ok()) {
    return s;
  }
  KnownDevices d;
  struct {
    sqlite::Stmt* stmt;
    const char* sql;
  } const prepared[] = {
      {&d.select_,
       "SELECT 1 FROM known_devices "
       "WHERE account = ?1 AND block = ?2 AND last_login >= ?3"},
      {&d.upsert_,
       "INSERT INTO known_devices (account, block, last_login) "
       "VALUES (?1, ?2, ?3) ON CONFLICT (account, block) "
       "DO UPDATE SET last_login = excluded.last_login"},
      {&d.trim_,
       "DELETE FROM known_devices WHERE account = ?1 AND (last_login < ?3 OR "
       "block NOT IN (SELECT block FROM known_devices WHERE account = ?1 "
       "ORDER BY last_login DESC, block LIMIT ?2))"},
      {&d.count_, "SELECT count(*) FROM known_devices WHERE account = ?1"},
  };
  for (const auto& p : prepared) {
    absl::StatusOr<sqlite::Stmt> stmt =
        sqlite::Prepare(db, p.sql, /*persistent=*/true, "prepare");
    if (!stmt.ok()) return stmt.status();
    *p.stmt = *std::move(stmt);
  }
  return d;
}

absl::StatusOr<bool> KnownDevices::IsKnown(absl::string_view account,
                                           absl::string_view block,
                                           absl::Time since) {
  sqlite3_stmt* stmt = select_.get();
  sqlite::StmtUse use(stmt);
  if (absl::Status s =
          sqlite::Bind(stmt, {account, block, absl::ToUnixSeconds(since)});
      !s.ok()) {
    return s;
  }
  return sqlite::StepRow(stmt, "known device");
}

absl::Status KnownDevices::Record(absl::string_view account,
                                  absl::string_view block, absl::Time now,
                                  absl::Time forget_before) {
  {
    sqlite3_stmt* stmt = upsert_.get();
    sqlite::StmtUse use(stmt);
    if (absl::Status s =
            sqlite::Bind(stmt, {account, block, absl::ToUnixSeconds(now)});
        !s.ok()) {
      return s;
    }
    if (absl::Status s = sqlite::StepDone(stmt, "record known device");
        !s.ok()) {
      return s;
    }
  }
  sqlite3_stmt* stmt = trim_.get();
  sqlite::StmtUse use(stmt);
  if (absl::Status s = sqlite::Bind(
          stmt, {account, int64_t{kMaxKnownBlocksPerAccount},
                 absl::ToUnixSeconds(forget_before)});
      !s.ok()) {
    return s;
  }
  return sqlite::StepDone(stmt, "trim known devices");
}

absl::StatusOr<int64_t> KnownDevices::Count(absl::string_view account) {
  sqlite3_stmt* stmt = count_.get();
  sqlite::StmtUse use(stmt);
  if (absl::Status s = sqlite::Bind(stmt, {account}); !s.ok()) return s;
  absl::StatusOr<bool> row = sqlite::StepRow(stmt, "count known devices");
  if (!row.ok()) return row.status();
  return *row ? sqlite::ColumnInt(stmt, 0) : 0;
}

}  // namespace muwarden::game
