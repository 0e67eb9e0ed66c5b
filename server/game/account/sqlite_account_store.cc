#include "server/game/account/sqlite_account_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace muwarden::game {
namespace {

constexpr int kSchemaVersion = 1;

constexpr char kCreateSchema[] = R"sql(
CREATE TABLE accounts (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  state INTEGER NOT NULL,
  blocked_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_login INTEGER NOT NULL
);
INSERT INTO schema_version (version) VALUES (1);
)sql";

constexpr char kSelectColumns[] =
    "SELECT name, state, blocked_until, created_at, last_login, password_hash "
    "FROM accounts";

// Stored encodings: state 0 active / anything else blocked (fail closed on a
// hand-edited value); times are UTC unix seconds with 0 meaning "none".
constexpr int64_t kStateActive = 0;
constexpr int64_t kStateBlocked = 1;

std::optional<absl::Time> OptionalTime(int64_t unix_seconds) {
  if (unix_seconds == 0) return std::nullopt;
  return absl::FromUnixSeconds(unix_seconds);
}

// Reads a row produced by kSelectColumns; the hash goes to *hash if asked.
AccountInfo ReadRow(sqlite3_stmt* stmt, std::string* hash) {
  AccountInfo info;
  info.name = sqlite::ColumnText(stmt, 0);
  info.state = sqlite::ColumnInt(stmt, 1) == kStateActive
                   ? AccountState::kActive
                   : AccountState::kBlocked;
  if (info.state == AccountState::kBlocked) {
    info.blocked_until = OptionalTime(sqlite::ColumnInt(stmt, 2));
  }
  info.created_at = absl::FromUnixSeconds(sqlite::ColumnInt(stmt, 3));
  info.last_login = OptionalTime(sqlite::ColumnInt(stmt, 4));
  if (hash != nullptr) *hash = sqlite::ColumnText(stmt, 5);
  return info;
}

absl::Status CannotOpen(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("cannot open account database '", path,
                                   "': ", status.message()));
}

}  // namespace

struct SqliteAccountStore::Statements {
  sqlite::Stmt select_one;
  sqlite::Stmt select_all;
  sqlite::Stmt insert;
  sqlite::Stmt block;
  sqlite::Stmt unblock;
  sqlite::Stmt set_password;
  sqlite::Stmt record_login;
  sqlite::Stmt rehash;
};

SqliteAccountStore::SqliteAccountStore(Clock& clock,
                                       std::unique_ptr<PasswordHasher> hasher)
    : clock_(clock), hasher_(std::move(hasher)) {}

SqliteAccountStore::~SqliteAccountStore() {
  MutexLock lock(&mu_);
  known_.reset();  // statements before the connection they belong to
  stmts_.reset();
  db_.reset();
}

absl::StatusOr<std::unique_ptr<SqliteAccountStore>> SqliteAccountStore::Open(
    const AccountStoreConfig& config, Clock& clock) {
  if (config.path.empty()) {
    return absl::InvalidArgumentError("account database path is empty");
  }
  if (absl::Status s = ValidatePasswordHasherConfig(config.hasher); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("account ", s.message()));
  }
  if (config.hasher.hash_wait_timeout < absl::ZeroDuration() ||
      config.busy_timeout < absl::ZeroDuration() ||
      config.busy_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "account hash_wait_timeout and busy_timeout must be 0 to 3600 s");
  }
  absl::StatusOr<std::unique_ptr<PasswordHasher>> hasher =
      PasswordHasher::Create(config.hasher);
  if (!hasher.ok()) {
    // libsodium not starting is not about this file.
    if (absl::IsInternal(hasher.status())) return hasher.status();
    return CannotOpen(config.path, hasher.status());
  }
  std::unique_ptr<SqliteAccountStore> store(
      new SqliteAccountStore(clock, *std::move(hasher)));
  if (absl::Status s = store->Init(config); !s.ok()) {
    return CannotOpen(config.path, s);
  }
  return store;
}

absl::Status SqliteAccountStore::Init(const AccountStoreConfig& config) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Db> db =
      sqlite::OpenDurable(config.path, config.busy_timeout);
  if (!db.ok()) return db.status();
  db_ = *std::move(db);
  if (absl::Status s = InitSchema(); !s.ok()) return s;
  // Beside the versioned schema, in its own file's SQL.
  absl::StatusOr<KnownDevices> known = KnownDevices::Open(db_.get());
  if (!known.ok()) return known.status();
  known_.emplace(*std::move(known));

  stmts_ = std::make_unique<Statements>();
  struct {
    sqlite::Stmt* stmt;
    std::string sql;
  } const prepared[] = {
      {&stmts_->select_one, absl::StrCat(kSelectColumns, " WHERE name = ?1")},
      {&stmts_->select_all, absl::StrCat(kSelectColumns, " ORDER BY name")},
      {&stmts_->insert,
       "INSERT INTO accounts (name, password_hash, state, blocked_until, "
       "created_at, last_login) VALUES (?1, ?2, 0, 0, ?3, 0)"},
      {&stmts_->block,
       "UPDATE accounts SET state = ?2, blocked_until = ?3 WHERE name = ?1"},
      {&stmts_->unblock,
       "UPDATE accounts SET state = ?2, blocked_until = 0 WHERE name = ?1"},
      {&stmts_->set_password,
       "UPDATE accounts SET password_hash = ?2 WHERE name = ?1"},
      {&stmts_->record_login,
       "UPDATE accounts SET last_login = ?2 WHERE name = ?1"},
      {&stmts_->rehash,
       "UPDATE accounts SET password_hash = ?3 "
       "WHERE name = ?1 AND password_hash = ?2"},
  };
  for (const auto& p : prepared) {
    absl::StatusOr<sqlite::Stmt> stmt =
        sqlite::Prepare(db_.get(), p.sql, /*persistent=*/true, "prepare");
    if (!stmt.ok()) return stmt.status();
    *p.stmt = *std::move(stmt);
  }
  return absl::OkStatus();
}

absl::Status SqliteAccountStore::InitSchema() {
  // In one write transaction, so two processes that start on a fresh file at
  // once cannot both create it.
  absl::StatusOr<sqlite::Transaction> transaction =
      sqlite::Transaction::BeginImmediate(db_.get(), "schema");
  if (!transaction.ok()) return transaction.status();
  if (absl::Status s = sqlite::Exec(db_.get(),
                                    "CREATE TABLE IF NOT EXISTS schema_version "
                                    "(version INTEGER NOT NULL);",
                                    "schema");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int64_t> version = sqlite::QueryInt(
      db_.get(), "SELECT max(version) FROM schema_version", "schema version");
  if (!version.ok()) return version.status();
  if (*version == 0) {  // a fresh file: max() of no rows is NULL
    if (absl::Status s =
            sqlite::Exec(db_.get(), kCreateSchema, "create schema");
        !s.ok()) {
      return s;
    }
  } else if (*version != kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "schema version ", *version, " is not the one this build understands (",
        kSchemaVersion, ")"));
  }
  return transaction->Commit("schema commit");
}

absl::Status SqliteAccountStore::AddAccount(absl::string_view name,
                                            absl::string_view password) {
  absl::StatusOr<std::string> hash = HashNewPassword(*hasher_, name, password);
  if (!hash.ok()) return hash.status();

  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->insert.get();
  sqlite::StmtUse use(stmt);
  if (absl::Status s = sqlite::Bind(
          stmt, {name, *hash, absl::ToUnixSeconds(clock_.WallNow())});
      !s.ok()) {
    return s;
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AccountNameTakenError(name);
  if (rc != SQLITE_DONE) return sqlite::Error(db_.get(), rc, "add account");
  return absl::OkStatus();
}

absl::Status SqliteAccountStore::UpdateNamed(
    sqlite3_stmt* stmt, std::initializer_list<sqlite::Value> values,
    absl::string_view name, absl::string_view what) {
  sqlite::StmtUse use(stmt);
  if (absl::Status s = sqlite::Bind(stmt, values); !s.ok()) return s;
  if (absl::Status s = sqlite::StepDone(stmt, what); !s.ok()) return s;
  if (sqlite::Changes(stmt) == 0) return NoSuchAccountError(name);
  return absl::OkStatus();
}

absl::Status SqliteAccountStore::Block(absl::string_view name,
                                       std::optional<absl::Time> until) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  int64_t until_seconds = 0;
  if (until.has_value()) {
    // The file keeps whole seconds: what must be in the future is what it
    // will hold.
    until_seconds = absl::ToUnixSeconds(*until);
    if (absl::FromUnixSeconds(until_seconds) <= clock_.WallNow()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block end ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until, absl::UTCTimeZone()),
          " is not in the future"));
    }
  }
  MutexLock lock(&mu_);
  return UpdateNamed(stmts_->block.get(), {name, kStateBlocked, until_seconds},
                     name, "block");
}

absl::Status SqliteAccountStore::Unblock(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  MutexLock lock(&mu_);
  return UpdateNamed(stmts_->unblock.get(), {name, kStateActive}, name,
                     "unblock");
}

absl::Status SqliteAccountStore::SetPassword(absl::string_view name,
                                             absl::string_view password) {
  absl::StatusOr<std::string> hash = HashNewPassword(*hasher_, name, password);
  if (!hash.ok()) return hash.status();
  MutexLock lock(&mu_);
  return UpdateNamed(stmts_->set_password.get(), {name, *hash}, name,
                     "set password");
}

absl::StatusOr<bool> SqliteAccountStore::ReadAccount(absl::string_view name,
                                                     AccountInfo* info,
                                                     std::string* hash) {
  sqlite3_stmt* stmt = stmts_->select_one.get();
  sqlite::StmtUse use(stmt);
  if (absl::Status s = sqlite::Bind(stmt, {name}); !s.ok()) return s;
  absl::StatusOr<bool> row = sqlite::StepRow(stmt, "read account");
  if (!row.ok() || !*row) return row;
  *info = ReadRow(stmt, hash);
  return true;
}

absl::StatusOr<AccountInfo> SqliteAccountStore::Get(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  MutexLock lock(&mu_);
  AccountInfo info;
  absl::StatusOr<bool> found = ReadAccount(name, &info, nullptr);
  if (!found.ok()) return found.status();
  if (!*found) return NoSuchAccountError(name);
  return info;
}

absl::StatusOr<std::vector<AccountInfo>> SqliteAccountStore::List() {
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->select_all.get();
  sqlite::StmtUse use(stmt);
  std::vector<AccountInfo> accounts;
  for (;;) {
    absl::StatusOr<bool> row = sqlite::StepRow(stmt, "list accounts");
    if (!row.ok()) return row.status();
    if (!*row) return accounts;
    accounts.push_back(ReadRow(stmt, nullptr));
  }
}

LoginCheck SqliteAccountStore::Verify(absl::string_view name,
                                      absl::string_view password) {
  LoginCheck check;
  std::string stored_hash;
  if (ValidateAccountName(name).ok()) {
    MutexLock lock(&mu_);
    AccountInfo info;
    absl::StatusOr<bool> found = ReadAccount(name, &info, &stored_hash);
    if (!found.ok()) return check;  // kUnavailable; says nothing about the name
    if (*found) check.account = std::move(info);
  }

  // The one Argon2id run, outside mu_. An unknown name and an oversize
  // password (which no stored hash can match) go against the dummy, so every
  // path costs the same.
  const bool real =
      check.account.has_value() && password.size() <= kMaxPasswordLength;
  const PasswordCheck verdict =
      hasher_->Verify(real ? &stored_hash : nullptr, password);
  if (verdict.match == PasswordMatch::kNoSlot) {
    check.result = LoginResult::kUnavailable;
    return check;
  }
  if (!check.account.has_value()) {
    check.result = LoginResult::kNoSuchAccount;
    return check;
  }
  if (verdict.match != PasswordMatch::kMatch) {
    check.result = LoginResult::kWrongPassword;
    return check;
  }
  absl::Time now = clock_.WallNow();
  if (check.account->IsBlockedAt(now)) {
    check.result = check.account->blocked_until.has_value()
                       ? LoginResult::kTemporarilyBlocked
                       : LoginResult::kBlocked;
    return check;
  }

  MutexLock lock(&mu_);
  {
    sqlite3_stmt* stmt = stmts_->record_login.get();
    sqlite::StmtUse use(stmt);
    // last_login is informational: failing to record it does not refuse a
    // login the credentials allow.
    if (sqlite::Bind(stmt, {name, absl::ToUnixSeconds(now)}).ok()) {
      sqlite::StepDone(stmt, "record login").IgnoreError();
    }
  }
  if (!verdict.upgraded_hash.empty()) {
    // Guarded by the old hash so a concurrent SetPassword wins.
    sqlite3_stmt* stmt = stmts_->rehash.get();
    sqlite::StmtUse use(stmt);
    if (sqlite::Bind(stmt, {name, stored_hash, verdict.upgraded_hash}).ok()) {
      sqlite::StepDone(stmt, "rehash").IgnoreError();
    }
  }
  check.result = LoginResult::kOk;
  return check;
}

absl::StatusOr<std::string> SqliteAccountStore::Pragma(absl::string_view name) {
  bool ok = !name.empty();
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || c == '_');
  }
  if (!ok) return absl::InvalidArgumentError("pragma name must be [a-z_]+");
  MutexLock lock(&mu_);
  return sqlite::QueryText(db_.get(), absl::StrCat("PRAGMA ", name), "pragma");
}

bool SqliteAccountStore::IsKnownBlock(absl::string_view name,
                                      absl::string_view block,
                                      absl::Time since) {
  if (!ValidateAccountName(name).ok()) return false;
  MutexLock lock(&mu_);
  absl::StatusOr<bool> known = known_->IsKnown(name, block, since);
  return known.ok() && *known;
}

void SqliteAccountStore::RecordKnownBlock(absl::string_view name,
                                          absl::string_view block,
                                          absl::Time forget_before) {
  if (!ValidateAccountName(name).ok()) return;
  MutexLock lock(&mu_);
  known_->Record(name, block, clock_.WallNow(), forget_before).IgnoreError();
}

uint64_t SqliteAccountStore::hash_verifies() const {
  return hasher_->verifies();
}

uint64_t SqliteAccountStore::hash_slot_timeouts() const {
  return hasher_->slot_timeouts();
}

}  // namespace muwarden::game
