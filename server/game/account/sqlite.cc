#include "server/game/account/sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace muwarden::game::sqlite {
namespace {

absl::Status CreatePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return absl::OkStatus();
  }
  if (errno == EEXIST) return absl::OkStatus();
  return absl::UnavailableError(strerror(errno));
}

}  // namespace

void DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void StmtFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

StmtUse::~StmtUse() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kAlreadyExists;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status Error(sqlite3* db, int rc, absl::string_view what) {
  return absl::Status(
      CodeFor(rc),
      absl::StrCat("account database: ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

absl::StatusOr<Db> OpenDurable(const std::string& path,
                               absl::Duration busy_timeout) {
  if (absl::Status s = CreatePrivateFile(path); !s.ok()) return s;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  Db db(raw);  // closed on every error path below
  if (rc != SQLITE_OK) {
    std::string reason = raw != nullptr ? sqlite3_errmsg(raw) : "out of memory";
    if (raw != nullptr && sqlite3_system_errno(raw) != 0) {
      absl::StrAppend(&reason, " (", strerror(sqlite3_system_errno(raw)), ")");
    }
    return absl::UnavailableError(reason);
  }
  sqlite3_extended_result_codes(raw, 1);
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return absl::PermissionDeniedError("the file is read-only");
  }
  sqlite3_busy_timeout(
      raw, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));

  absl::StatusOr<std::string> mode =
      QueryText(raw, "PRAGMA journal_mode=WAL", "journal_mode");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use WAL journal mode (got '", *mode,
                     "'); is the file on a network filesystem?"));
  }
  if (absl::Status s = Exec(raw,
                            "PRAGMA synchronous=FULL;"
                            "PRAGMA foreign_keys=ON;"
                            "PRAGMA trusted_schema=OFF;",
                            "pragmas");
      !s.ok()) {
    return s;
  }
  return db;
}

absl::StatusOr<Stmt> Prepare(sqlite3* db, const std::string& sql,
                             bool persistent, absl::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.c_str(), -1,
                              persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw,
                              nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error(db, rc, what);
  return stmt;
}

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, what);
  return absl::OkStatus();
}

absl::Status Bind(sqlite3_stmt* stmt, std::initializer_list<Value> values) {
  int index = 0;
  for (const Value& value : values) {
    ++index;
    int rc;
    if (const int64_t* number = std::get_if<int64_t>(&value)) {
      rc = sqlite3_bind_int64(stmt, index, *number);
    } else {
      const absl::string_view text = std::get<absl::string_view>(value);
      rc = sqlite3_bind_text(stmt, index, text.data(),
                             static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return Error(sqlite3_db_handle(stmt), rc, "bind");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> StepRow(sqlite3_stmt* stmt, absl::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(sqlite3_db_handle(stmt), rc, what);
}

absl::Status StepDone(sqlite3_stmt* stmt, absl::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return Error(sqlite3_db_handle(stmt), rc, what);
  return absl::OkStatus();
}

int64_t Changes(sqlite3_stmt* stmt) {
  return sqlite3_changes64(sqlite3_db_handle(stmt));
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

int64_t ColumnInt(sqlite3_stmt* stmt, int column) {
  return sqlite3_column_int64(stmt, column);
}

namespace {

// Prepares `sql` and steps it to its first row.
absl::StatusOr<Stmt> FirstRow(sqlite3* db, const std::string& sql,
                              absl::string_view what) {
  absl::StatusOr<Stmt> stmt = Prepare(db, sql, false, what);
  if (!stmt.ok()) return stmt.status();
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) return Error(db, rc, what);
  return stmt;
}

}  // namespace

absl::StatusOr<std::string> QueryText(sqlite3* db, const std::string& sql,
                                      absl::string_view what) {
  absl::StatusOr<Stmt> stmt = FirstRow(db, sql, what);
  if (!stmt.ok()) return stmt.status();
  return ColumnText(stmt->get(), 0);
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& sql,
                                 absl::string_view what) {
  absl::StatusOr<Stmt> stmt = FirstRow(db, sql, what);
  if (!stmt.ok()) return stmt.status();
  return ColumnInt(stmt->get(), 0);
}

absl::StatusOr<Transaction> Transaction::BeginImmediate(
    sqlite3* db, absl::string_view what) {
  // Constructed first so that every exit path rolls back; a ROLLBACK with no
  // transaction open (BEGIN itself failed) is a harmless no-op.
  Transaction transaction(db);
  if (absl::Status s = Exec(db, "BEGIN IMMEDIATE", what); !s.ok()) return s;
  return transaction;
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

absl::Status Transaction::Commit(absl::string_view what) {
  absl::Status s = Exec(db_, "COMMIT", what);
  if (s.ok()) db_ = nullptr;
  return s;
}

}  // namespace muwarden::game::sqlite
