// SQLite helpers for the account database: opening it durably (owner-only
// file, WAL journal, synchronous=FULL), statements and write transactions as
// RAII handles, and bind/step/query helpers that turn SQLite result codes into
// absl::Status. Thread-compatible: a connection is opened NOMUTEX, so its
// owner serialises every use (one mutex around the connection).
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct sqlite3;
struct sqlite3_stmt;

namespace muwarden::game::sqlite {

struct DbCloser {
  // The last connection to close checkpoints the WAL into the main file.
  void operator()(sqlite3* db) const;
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Leaves a prepared statement ready for its next use (reset, bindings
// cleared) on every exit path.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  ~StmtUse();

 private:
  sqlite3_stmt* stmt_;
};

// The canonical code for an SQLite result code: busy or locked kUnavailable,
// full kResourceExhausted, a constraint kAlreadyExists, read-only or denied
// kPermissionDenied, anything else kInternal.
absl::StatusCode CodeFor(int rc);
// "account database: <what>: <SQLite's message>" with CodeFor(rc).
absl::Status Error(sqlite3* db, int rc, absl::string_view what);

// Opens `path` read-write, creating it owner-only (0600) first: it holds
// password hashes, and SQLite gives the -wal and -shm files the same mode.
// WAL journal (readers never block the one writer, so the operator CLI can
// write while the server runs), synchronous=FULL (each commit is fsynced
// before it returns, so a crash or power cut loses nothing committed), foreign
// keys on, trusted_schema off, and `busy_timeout` for another process's write
// lock. kUnavailable (with the reason) for a file that cannot be created or
// opened, kPermissionDenied for a read-only one, kFailedPrecondition when WAL
// cannot be used.
absl::StatusOr<Db> OpenDurable(const std::string& path,
                               absl::Duration busy_timeout);

// `persistent`: a statement kept for the connection's lifetime.
absl::StatusOr<Stmt> Prepare(sqlite3* db, const std::string& sql,
                             bool persistent, absl::string_view what);
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what);

// A statement parameter: an integer, or text (copied: SQLITE_TRANSIENT).
using Value = std::variant<int64_t, absl::string_view>;
// Binds `values` to parameters 1, 2, ... of `stmt`.
absl::Status Bind(sqlite3_stmt* stmt, std::initializer_list<Value> values);
// Steps once: true with a row to read, false when done, Error(what) else.
absl::StatusOr<bool> StepRow(sqlite3_stmt* stmt, absl::string_view what);
// Steps a statement that returns no rows: Error(what) unless it completed.
absl::Status StepDone(sqlite3_stmt* stmt, absl::string_view what);
// Rows changed by the last completed write on the statement's connection.
int64_t Changes(sqlite3_stmt* stmt);
// Column `column` of the current row as text ("" for NULL).
std::string ColumnText(sqlite3_stmt* stmt, int column);
int64_t ColumnInt(sqlite3_stmt* stmt, int column);

// The first column of the first row of `sql`: Error(what) when it cannot be
// prepared or yields no row. An integer NULL reads as 0.
absl::StatusOr<std::string> QueryText(sqlite3* db, const std::string& sql,
                                      absl::string_view what);
absl::StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& sql,
                                 absl::string_view what);

// One write transaction: BEGIN IMMEDIATE takes the write lock at once, so two
// processes cannot both act on what they read. Rolled back on destruction
// unless Commit succeeded. Move-only.
class Transaction {
 public:
  static absl::StatusOr<Transaction> BeginImmediate(sqlite3* db,
                                                    absl::string_view what);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  absl::Status Commit(absl::string_view what);

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or moved from
};

}  // namespace muwarden::game::sqlite

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_H_
