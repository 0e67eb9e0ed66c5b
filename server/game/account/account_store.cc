#include "server/game/account/account_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace muwarden::game {

static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE == 2,
              "AccountStoreConfig::opslimit default mirrors libsodium");
static_assert(crypto_pwhash_MEMLIMIT_INTERACTIVE == 64 * 1024 * 1024,
              "AccountStoreConfig::memlimit default mirrors libsodium");
static_assert(crypto_pwhash_ALG_DEFAULT == crypto_pwhash_ALG_ARGON2ID13,
              "crypto_pwhash_str must produce Argon2id hashes");

namespace {

constexpr int kSchemaVersion = 1;
// Far more than any machine has cores; only guards against a typo'd setting.
constexpr int kMaxHashSlots = 1024;
// Longest stretch of an invalid name quoted back in an error message.
constexpr size_t kMaxQuotedNameLength = 32;

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

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Leaves a prepared statement ready for its next use on every exit path.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  ~StmtUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

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

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  return absl::Status(
      CodeFor(rc),
      absl::StrCat("account database: ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

absl::Status BindText(sqlite3_stmt* stmt, int index, absl::string_view text) {
  // Callers pass validated names (<= 10 bytes) and hashes (< 128 bytes).
  int rc = sqlite3_bind_text(stmt, index, text.data(),
                             static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    return SqliteError(sqlite3_db_handle(stmt), rc, "bind");
  }
  return absl::OkStatus();
}

absl::Status BindInt(sqlite3_stmt* stmt, int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt, index, value);
  if (rc != SQLITE_OK) {
    return SqliteError(sqlite3_db_handle(stmt), rc, "bind");
  }
  return absl::OkStatus();
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

std::optional<absl::Time> OptionalTime(int64_t unix_seconds) {
  if (unix_seconds == 0) return std::nullopt;
  return absl::FromUnixSeconds(unix_seconds);
}

// Reads a row produced by kSelectColumns; the hash goes to *hash if asked.
AccountInfo ReadRow(sqlite3_stmt* stmt, std::string* hash) {
  AccountInfo info;
  info.name = ColumnText(stmt, 0);
  info.state = sqlite3_column_int64(stmt, 1) == kStateActive
                   ? AccountState::kActive
                   : AccountState::kBlocked;
  if (info.state == AccountState::kBlocked) {
    info.blocked_until = OptionalTime(sqlite3_column_int64(stmt, 2));
  }
  info.created_at = absl::FromUnixSeconds(sqlite3_column_int64(stmt, 3));
  info.last_login = OptionalTime(sqlite3_column_int64(stmt, 4));
  if (hash != nullptr) *hash = ColumnText(stmt, 5);
  return info;
}

std::string QuoteName(absl::string_view name) {
  if (name.size() <= kMaxQuotedNameLength) {
    return absl::StrCat("'", absl::CHexEscape(name), "'");
  }
  return absl::StrCat(
      "'", absl::CHexEscape(name.substr(0, kMaxQuotedNameLength)), "'...");
}

absl::Status NoSuchAccount(absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("no account named ", QuoteName(name)));
}

// libsodium >= 1.0.16 makes sodium_init thread-safe and idempotent; the static
// just keeps its cost to the first store.
bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// Creates the file with owner-only permissions before SQLite sees it: it holds
// password hashes, and SQLite gives the -wal and -shm files the same mode.
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

bool AccountInfo::IsBlockedAt(absl::Time now) const {
  if (state != AccountState::kBlocked) return false;
  return !blocked_until.has_value() || now < *blocked_until;
}

absl::string_view LoginResultName(LoginResult result) {
  switch (result) {
    case LoginResult::kOk:
      return "ok";
    case LoginResult::kNoSuchAccount:
      return "no such account";
    case LoginResult::kWrongPassword:
      return "wrong password";
    case LoginResult::kBlocked:
      return "blocked";
    case LoginResult::kTemporarilyBlocked:
      return "temporarily blocked";
    case LoginResult::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

absl::Status ValidateAccountName(absl::string_view name) {
  bool ok = name.size() >= kMinAccountNameLength &&
            name.size() <= kMaxAccountNameLength;
  for (char c : name) {
    if (!ok) break;
    ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_';
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("account name ", QuoteName(name),
                   " is invalid: 4 to 10 characters of A-Z a-z 0-9 _"));
}

absl::Status ValidatePassword(absl::string_view password) {
  bool ok = !password.empty() && password.size() <= kMaxPasswordLength;
  for (char c : password) {
    if (!ok) break;
    ok = c >= 0x20 && c <= 0x7e;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "password is invalid: 1 to 20 printable ASCII characters");
}

// ---------------------------------------------------------------- HashGate

HashGate::HashGate(int slots) : slots_(slots) {}

HashGate::Slot::Slot(Slot&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)) {}

HashGate::Slot& HashGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->Release();
    gate_ = std::exchange(other.gate_, nullptr);
  }
  return *this;
}

HashGate::Slot::~Slot() {
  if (gate_ != nullptr) gate_->Release();
}

HashGate::Slot HashGate::Acquire(absl::Duration timeout) {
  MutexLock lock(&mu_);
  bool free = freed_.WaitWithTimeout(
      &mu_, timeout,
      [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return in_use_ < slots_; });
  if (!free) return Slot();
  ++in_use_;
  return Slot(this);
}

int HashGate::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

void HashGate::Release() {
  {
    MutexLock lock(&mu_);
    --in_use_;
  }
  freed_.Signal();
}

// ------------------------------------------------------------ AccountStore

struct AccountStore::Statements {
  Stmt select_one;
  Stmt select_all;
  Stmt insert;
  Stmt block;
  Stmt unblock;
  Stmt set_password;
  Stmt record_login;
  Stmt rehash;
};

AccountStore::AccountStore(const AccountStoreConfig& config, Clock& clock)
    : config_(config), clock_(clock), gate_(config.max_concurrent_hashes) {}

AccountStore::~AccountStore() {
  MutexLock lock(&mu_);
  stmts_.reset();
  // The last connection to close checkpoints the WAL into the main file.
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

absl::StatusOr<std::unique_ptr<AccountStore>> AccountStore::Open(
    const std::string& path, Clock& clock) {
  AccountStoreConfig config;
  config.path = path;
  return Open(config, clock);
}

absl::StatusOr<std::unique_ptr<AccountStore>> AccountStore::Open(
    const AccountStoreConfig& config, Clock& clock) {
  if (config.path.empty()) {
    return absl::InvalidArgumentError("account database path is empty");
  }
  if (config.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      config.opslimit > crypto_pwhash_OPSLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account opslimit ", config.opslimit, " is out of range ",
        crypto_pwhash_OPSLIMIT_MIN, "..", crypto_pwhash_OPSLIMIT_MAX));
  }
  if (config.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      config.memlimit > crypto_pwhash_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account memlimit ", config.memlimit, " is out of range ",
        crypto_pwhash_MEMLIMIT_MIN, "..", crypto_pwhash_MEMLIMIT_MAX));
  }
  if (config.max_concurrent_hashes < 1 ||
      config.max_concurrent_hashes > kMaxHashSlots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account max_concurrent_hashes ", config.max_concurrent_hashes,
        " is out of range 1..", kMaxHashSlots));
  }
  if (config.hash_wait_timeout < absl::ZeroDuration() ||
      config.busy_timeout < absl::ZeroDuration() ||
      config.busy_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "account hash_wait_timeout and busy_timeout must be 0 to 3600 s");
  }
  if (!SodiumReady()) {
    return absl::InternalError("libsodium failed to initialise");
  }
  std::unique_ptr<AccountStore> store(new AccountStore(config, clock));
  absl::Status status = store->Init();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot open account database '",
                                     config.path, "': ", status.message()));
  }
  return store;
}

absl::Status AccountStore::Init() {
  if (absl::Status s = CreatePrivateFile(config_.path); !s.ok()) return s;
  MutexLock lock(&mu_);
  // NOMUTEX: mu_ already serialises every use of the connection.
  int rc = sqlite3_open_v2(
      config_.path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    if (db_ != nullptr && sqlite3_system_errno(db_) != 0) {
      absl::StrAppend(&reason, " (", strerror(sqlite3_system_errno(db_)), ")");
    }
    return absl::UnavailableError(reason);
  }
  sqlite3_extended_result_codes(db_, 1);
  if (sqlite3_db_readonly(db_, "main") == 1) {
    return absl::PermissionDeniedError("the file is read-only");
  }
  sqlite3_busy_timeout(
      db_, static_cast<int>(absl::ToInt64Milliseconds(config_.busy_timeout)));

  // WAL: readers never block the one writer, and the operator CLI can write
  // while the server runs. synchronous=FULL: each commit is fsynced to the WAL
  // before it returns, so a crash or power cut loses nothing committed.
  {
    sqlite3_stmt* raw = nullptr;
    rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "journal_mode");
    rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "journal_mode");
    std::string mode = ColumnText(stmt.get(), 0);
    if (mode != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot use WAL journal mode (got '", mode,
                       "'); is the file on a network filesystem?"));
    }
  }
  rc = sqlite3_exec(db_,
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA trusted_schema=OFF;",
                    nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "pragmas");

  // Schema creation or check in one write transaction, so two processes that
  // start on a fresh file at once cannot both create it.
  rc = sqlite3_exec(db_,
                    "BEGIN IMMEDIATE;"
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER NOT NULL);",
                    nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return SqliteError(db_, rc, "schema");
  }
  int64_t version = 0;
  {
    sqlite3_stmt* raw = nullptr;
    rc = sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1,
                            &raw, nullptr);
    Stmt stmt(raw);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) {
      absl::Status error = SqliteError(db_, rc, "schema version");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return error;
    }
    version = sqlite3_column_int64(stmt.get(), 0);  // NULL reads as 0
  }
  if (version == 0) {
    rc = sqlite3_exec(db_, kCreateSchema, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      absl::Status error = SqliteError(db_, rc, "create schema");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return error;
    }
  } else if (version != kSchemaVersion) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::FailedPreconditionError(absl::StrCat(
        "schema version ", version, " is not the one this build understands (",
        kSchemaVersion, ")"));
  }
  rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return SqliteError(db_, rc, "schema commit");
  }

  stmts_ = std::make_unique<Statements>();
  struct {
    Stmt* stmt;
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
    sqlite3_stmt* raw = nullptr;
    rc = sqlite3_prepare_v3(db_, p.sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                            &raw, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
    p.stmt->reset(raw);
  }

  // A hash of random bytes with the configured cost: verifying against it
  // takes as long as a real account's, and no password can match it.
  unsigned char secret[32];
  randombytes_buf(secret, sizeof(secret));
  char dummy[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(dummy, reinterpret_cast<const char*>(secret),
                        sizeof(secret), config_.opslimit,
                        config_.memlimit) != 0) {
    return absl::ResourceExhaustedError(
        "cannot compute the dummy password hash (out of memory?)");
  }
  dummy_hash_ = dummy;
  return absl::OkStatus();
}

absl::StatusOr<std::string> AccountStore::HashPassword(
    absl::string_view password) {
  HashGate::Slot slot = gate_.Acquire(config_.hash_wait_timeout);
  if (!slot.held()) {
    hash_slot_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnavailableError("all password hash slots are busy");
  }
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(),
                        config_.opslimit, config_.memlimit) != 0) {
    return absl::ResourceExhaustedError(
        "cannot compute the password hash (out of memory?)");
  }
  return std::string(hash);
}

absl::Status AccountStore::AddAccount(absl::string_view name,
                                      absl::string_view password) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  if (absl::Status s = ValidatePassword(password); !s.ok()) return s;
  absl::StatusOr<std::string> hash = HashPassword(password);
  if (!hash.ok()) return hash.status();

  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->insert.get();
  StmtUse use(stmt);
  if (absl::Status s = BindText(stmt, 1, name); !s.ok()) return s;
  if (absl::Status s = BindText(stmt, 2, *hash); !s.ok()) return s;
  if (absl::Status s = BindInt(stmt, 3, absl::ToUnixSeconds(clock_.WallNow()));
      !s.ok()) {
    return s;
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return absl::AlreadyExistsError(
        absl::StrCat("account name ", QuoteName(name), " is taken"));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "add account");
  return absl::OkStatus();
}

absl::Status AccountStore::RunNamedUpdate(sqlite3_stmt* stmt,
                                          absl::string_view name,
                                          absl::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, what);
  if (sqlite3_changes(db_) == 0) return NoSuchAccount(name);
  return absl::OkStatus();
}

absl::Status AccountStore::Block(absl::string_view name,
                                 std::optional<absl::Time> until) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  int64_t until_seconds = 0;
  if (until.has_value()) {
    absl::Time now = clock_.WallNow();
    until_seconds = absl::ToUnixSeconds(*until);
    if (absl::FromUnixSeconds(until_seconds) <= now) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block end ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until, absl::UTCTimeZone()),
          " is not in the future"));
    }
  }
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->block.get();
  StmtUse use(stmt);
  if (absl::Status s = BindText(stmt, 1, name); !s.ok()) return s;
  if (absl::Status s = BindInt(stmt, 2, kStateBlocked); !s.ok()) return s;
  if (absl::Status s = BindInt(stmt, 3, until_seconds); !s.ok()) return s;
  return RunNamedUpdate(stmt, name, "block");
}

absl::Status AccountStore::Unblock(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->unblock.get();
  StmtUse use(stmt);
  if (absl::Status s = BindText(stmt, 1, name); !s.ok()) return s;
  if (absl::Status s = BindInt(stmt, 2, kStateActive); !s.ok()) return s;
  return RunNamedUpdate(stmt, name, "unblock");
}

absl::Status AccountStore::SetPassword(absl::string_view name,
                                       absl::string_view password) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  if (absl::Status s = ValidatePassword(password); !s.ok()) return s;
  absl::StatusOr<std::string> hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->set_password.get();
  StmtUse use(stmt);
  if (absl::Status s = BindText(stmt, 1, name); !s.ok()) return s;
  if (absl::Status s = BindText(stmt, 2, *hash); !s.ok()) return s;
  return RunNamedUpdate(stmt, name, "set password");
}

absl::StatusOr<AccountInfo> AccountStore::Get(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->select_one.get();
  StmtUse use(stmt);
  if (absl::Status s = BindText(stmt, 1, name); !s.ok()) return s;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return NoSuchAccount(name);
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read account");
  return ReadRow(stmt, nullptr);
}

absl::StatusOr<std::vector<AccountInfo>> AccountStore::List() {
  MutexLock lock(&mu_);
  sqlite3_stmt* stmt = stmts_->select_all.get();
  StmtUse use(stmt);
  std::vector<AccountInfo> accounts;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    accounts.push_back(ReadRow(stmt, nullptr));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list accounts");
  return accounts;
}

LoginCheck AccountStore::Verify(absl::string_view name,
                                absl::string_view password) {
  LoginCheck check;
  std::string stored_hash;
  if (ValidateAccountName(name).ok()) {
    MutexLock lock(&mu_);
    sqlite3_stmt* stmt = stmts_->select_one.get();
    StmtUse use(stmt);
    if (!BindText(stmt, 1, name).ok()) return check;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      check.account = ReadRow(stmt, &stored_hash);
    } else if (rc != SQLITE_DONE) {
      return check;  // kUnavailable; says nothing about the name
    }
  }

  // The one Argon2id run, outside mu_. An unknown name, an oversize password
  // (which no stored hash can match) and a damaged stored hash all go against
  // the dummy, so every path costs the same.
  bool real = check.account.has_value() &&
              password.size() <= kMaxPasswordLength &&
              stored_hash.size() < crypto_pwhash_STRBYTES;
  bool match = false;
  std::string new_hash;
  {
    HashGate::Slot slot = gate_.Acquire(config_.hash_wait_timeout);
    if (!slot.held()) {
      hash_slot_timeouts_.fetch_add(1, std::memory_order_relaxed);
      check.result = LoginResult::kUnavailable;
      return check;
    }
    const std::string& against = real ? stored_hash : dummy_hash_;
    match = crypto_pwhash_str_verify(against.c_str(), password.data(),
                                     password.size()) == 0 &&
            real;
    hash_verifies_.fetch_add(1, std::memory_order_relaxed);
    // A hash made under older limits is upgraded at the one moment the
    // plaintext is known to be right.
    if (match &&
        crypto_pwhash_str_needs_rehash(stored_hash.c_str(), config_.opslimit,
                                       config_.memlimit) != 0) {
      char hash[crypto_pwhash_STRBYTES];
      if (crypto_pwhash_str(hash, password.data(), password.size(),
                            config_.opslimit, config_.memlimit) == 0) {
        new_hash = hash;
      }
    }
  }

  if (!check.account.has_value()) {
    check.result = LoginResult::kNoSuchAccount;
    return check;
  }
  if (!match) {
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
    StmtUse use(stmt);
    // last_login is informational: failing to record it does not refuse a
    // login the credentials allow.
    if (BindText(stmt, 1, name).ok() &&
        BindInt(stmt, 2, absl::ToUnixSeconds(now)).ok()) {
      sqlite3_step(stmt);
    }
  }
  if (!new_hash.empty()) {
    // Guarded by the old hash so a concurrent SetPassword wins.
    sqlite3_stmt* stmt = stmts_->rehash.get();
    StmtUse use(stmt);
    if (BindText(stmt, 1, name).ok() && BindText(stmt, 2, stored_hash).ok() &&
        BindText(stmt, 3, new_hash).ok()) {
      sqlite3_step(stmt);
    }
  }
  check.result = LoginResult::kOk;
  return check;
}

absl::StatusOr<std::string> AccountStore::Pragma(absl::string_view name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) {
      return absl::InvalidArgumentError("pragma name must be [a-z_]+");
    }
  }
  if (name.empty()) {
    return absl::InvalidArgumentError("pragma name must be [a-z_]+");
  }
  MutexLock lock(&mu_);
  sqlite3_stmt* raw = nullptr;
  std::string sql = absl::StrCat("PRAGMA ", name);
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "pragma");
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "pragma");
  return ColumnText(stmt.get(), 0);
}

uint64_t AccountStore::hash_verifies() const {
  return hash_verifies_.load(std::memory_order_relaxed);
}

uint64_t AccountStore::hash_slot_timeouts() const {
  return hash_slot_timeouts_.load(std::memory_order_relaxed);
}

}  // namespace muwarden::game

namespace muwarden::game {

void AccountStoreConfig::Describe(config::Schema& s) {
  s.Path("game", "database", &path,
         "account database (SQLite), created on first start");
  s.OnLoaded([this](config::SettingsErrors& errors) {
    if (path.empty()) errors.Add("game.database: must not be empty");
  });
}

}  // namespace muwarden::game
