#include "server/game/account/sqlite_account_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace muwarden::game {
namespace {

// Schema migrations: kMigrations[i] takes a database from version i to i + 1,
// so a file made by an older build is brought forward step by step, and other
// parts' tables are added as further steps (never by editing a shipped one).
constexpr const char* kMigrations[] = {
    // 1: accounts.
    R"sql(
CREATE TABLE accounts (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  state INTEGER NOT NULL,
  blocked_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_login INTEGER NOT NULL
);
)sql",
    // 2: characters (names unique server-wide in any case, one per slot) and
    // the account's security code for deleting them ('' = none set).
    R"sql(
CREATE TABLE characters (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  account TEXT NOT NULL COLLATE NOCASE,
  slot INTEGER NOT NULL,
  class INTEGER NOT NULL,
  level INTEGER NOT NULL,
  experience INTEGER NOT NULL,
  level_up_points INTEGER NOT NULL,
  strength INTEGER NOT NULL,
  agility INTEGER NOT NULL,
  vitality INTEGER NOT NULL,
  energy INTEGER NOT NULL,
  leadership INTEGER NOT NULL,
  health INTEGER NOT NULL,
  max_health INTEGER NOT NULL,
  mana INTEGER NOT NULL,
  max_mana INTEGER NOT NULL,
  zen INTEGER NOT NULL,
  map INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  status INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (account, slot)
);
CREATE INDEX characters_by_account ON characters (account, slot);
ALTER TABLE accounts ADD COLUMN security_code TEXT NOT NULL DEFAULT '';
)sql",
};
constexpr int kSchemaVersion =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

constexpr char kCharacterColumns[] =
    "SELECT name, account, slot, class, level, experience, level_up_points, "
    "strength, agility, vitality, energy, leadership, health, max_health, "
    "mana, max_mana, zen, map, x, y, direction, status FROM characters";

// Reads a row produced by kCharacterColumns. Stored values were written by
// this code from the narrow fields; a hand-edited file is clamped, not trusted.
CharacterRecord ReadCharacter(sqlite3_stmt* stmt) {
  auto u8 = [&](int c) {
    return static_cast<uint8_t>(sqlite::ColumnInt(stmt, c) & 0xFF);
  };
  auto u16 = [&](int c) {
    return static_cast<uint16_t>(sqlite::ColumnInt(stmt, c) & 0xFFFF);
  };
  CharacterRecord r;
  r.name = sqlite::ColumnText(stmt, 0);
  r.account = sqlite::ColumnText(stmt, 1);
  r.slot = static_cast<int>(sqlite::ColumnInt(stmt, 2));
  r.class_number = u8(3);
  r.level = u16(4);
  r.experience = static_cast<uint64_t>(sqlite::ColumnInt(stmt, 5));
  r.level_up_points = u16(6);
  r.strength = u16(7);
  r.agility = u16(8);
  r.vitality = u16(9);
  r.energy = u16(10);
  r.leadership = u16(11);
  r.health = u16(12);
  r.max_health = u16(13);
  r.mana = u16(14);
  r.max_mana = u16(15);
  r.zen = static_cast<uint32_t>(sqlite::ColumnInt(stmt, 16) & 0xFFFFFFFF);
  r.map = u8(17);
  r.x = u8(18);
  r.y = u8(19);
  r.direction = u8(20);
  r.status = u8(21);
  return r;
}

absl::Status NoSuchCharacterError(absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("no character '", absl::CHexEscape(name), "'"));
}

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
  // A fresh file reads 0 (max() of no rows is NULL).
  if (*version < 0 || *version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "schema version ", *version, " is newer than this build understands (",
        kSchemaVersion, ")"));
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    if (absl::Status s = sqlite::Exec(db_.get(), kMigrations[v],
                                      absl::StrCat("migrate to ", v + 1));
        !s.ok()) {
      return s;
    }
  }
  if (*version != kSchemaVersion) {
    const std::string row =
        absl::StrCat("DELETE FROM schema_version; INSERT INTO schema_version "
                     "(version) VALUES (",
                     kSchemaVersion, ");");
    if (absl::Status s = sqlite::Exec(db_.get(), row.c_str(), "schema version");
        !s.ok()) {
      return s;
    }
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

absl::StatusOr<std::vector<CharacterRecord>> SqliteAccountStore::ListCharacters(
    absl::string_view account) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(),
      absl::StrCat(kCharacterColumns, " WHERE account = ?1 ORDER BY slot"),
      /*persistent=*/false, "list characters");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = sqlite::Bind(stmt->get(), {account}); !s.ok()) return s;
  std::vector<CharacterRecord> out;
  // Bounded: UNIQUE (account, slot) and slots 0..4 (checked at create).
  for (;;) {
    absl::StatusOr<bool> row = sqlite::StepRow(stmt->get(), "list characters");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadCharacter(stmt->get()));
  }
}

absl::StatusOr<CharacterRecord> SqliteAccountStore::CreateCharacter(
    absl::string_view account, const CharacterRecord& c, int max_characters) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Transaction> transaction =
      sqlite::Transaction::BeginImmediate(db_.get(), "create character");
  if (!transaction.ok()) return transaction.status();
  bool used[kMaxCharacterSlots] = {};
  int count = 0;
  {
    absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
        db_.get(), "SELECT slot FROM characters WHERE account = ?1",
        /*persistent=*/false, "character slots");
    if (!stmt.ok()) return stmt.status();
    if (absl::Status s = sqlite::Bind(stmt->get(), {account}); !s.ok()) {
      return s;
    }
    for (;;) {
      absl::StatusOr<bool> row = sqlite::StepRow(stmt->get(), "slots");
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++count;
      const int64_t slot = sqlite::ColumnInt(stmt->get(), 0);
      if (slot >= 0 && slot < kMaxCharacterSlots) used[slot] = true;
    }
  }
  int slot = 0;
  while (slot < kMaxCharacterSlots && used[slot]) ++slot;
  if (count >= max_characters || slot == kMaxCharacterSlots) {
    return absl::ResourceExhaustedError("the account has its characters");
  }
  absl::StatusOr<sqlite::Stmt> insert = sqlite::Prepare(
      db_.get(),
      "INSERT INTO characters (name, account, slot, class, level, experience, "
      "level_up_points, strength, agility, vitality, energy, leadership, "
      "health, max_health, mana, max_mana, zen, map, x, y, direction, status, "
      "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
      "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
      /*persistent=*/false, "insert character");
  if (!insert.ok()) return insert.status();
  if (absl::Status s = sqlite::Bind(
          insert->get(),
          {c.name, account, int64_t{slot}, int64_t{c.class_number},
           int64_t{c.level}, static_cast<int64_t>(c.experience),
           int64_t{c.level_up_points}, int64_t{c.strength},
           int64_t{c.agility}, int64_t{c.vitality}, int64_t{c.energy},
           int64_t{c.leadership}, int64_t{c.health}, int64_t{c.max_health},
           int64_t{c.mana}, int64_t{c.max_mana}, int64_t{c.zen},
           int64_t{c.map}, int64_t{c.x}, int64_t{c.y}, int64_t{c.direction},
           int64_t{c.status}, absl::ToUnixSeconds(clock_.WallNow())});
      !s.ok()) {
    return s;
  }
  const int rc = sqlite3_step(insert->get());
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    return absl::AlreadyExistsError(
        absl::StrCat("character name '", absl::CHexEscape(c.name),
                     "' is taken"));
  }
  if (rc != SQLITE_DONE) return sqlite::Error(db_.get(), rc, "add character");
  if (absl::Status s = transaction->Commit("create character"); !s.ok()) {
    return s;
  }
  CharacterRecord stored = c;
  stored.account = std::string(account);
  stored.slot = slot;
  return stored;
}

absl::Status SqliteAccountStore::DeleteCharacter(absl::string_view account,
                                                 absl::string_view name) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(), "DELETE FROM characters WHERE account = ?1 AND name = ?2",
      /*persistent=*/false, "delete character");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = sqlite::Bind(stmt->get(), {account, name}); !s.ok()) {
    return s;
  }
  if (absl::Status s = sqlite::StepDone(stmt->get(), "delete character");
      !s.ok()) {
    return s;
  }
  if (sqlite::Changes(stmt->get()) == 0) return NoSuchCharacterError(name);
  return absl::OkStatus();
}

absl::StatusOr<CharacterRecord> SqliteAccountStore::GetCharacter(
    absl::string_view account, absl::string_view name) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(),
      absl::StrCat(kCharacterColumns, " WHERE account = ?1 AND name = ?2"),
      /*persistent=*/false, "read character");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = sqlite::Bind(stmt->get(), {account, name}); !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> row = sqlite::StepRow(stmt->get(), "read character");
  if (!row.ok()) return row.status();
  if (!*row) return NoSuchCharacterError(name);
  return ReadCharacter(stmt->get());
}

absl::Status SqliteAccountStore::SavePosition(absl::string_view name,
                                              uint8_t map, uint8_t x,
                                              uint8_t y, uint8_t direction) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(),
      "UPDATE characters SET map = ?2, x = ?3, y = ?4, direction = ?5 "
      "WHERE name = ?1",
      /*persistent=*/false, "save position");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = sqlite::Bind(stmt->get(),
                                    {name, int64_t{map}, int64_t{x},
                                     int64_t{y}, int64_t{direction}});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = sqlite::StepDone(stmt->get(), "save position");
      !s.ok()) {
    return s;
  }
  if (sqlite::Changes(stmt->get()) == 0) return NoSuchCharacterError(name);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteAccountStore::SecurityCode(
    absl::string_view account) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(), "SELECT security_code FROM accounts WHERE name = ?1",
      /*persistent=*/false, "security code");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = sqlite::Bind(stmt->get(), {account}); !s.ok()) return s;
  absl::StatusOr<bool> row = sqlite::StepRow(stmt->get(), "security code");
  if (!row.ok()) return row.status();
  if (!*row) return NoSuchAccountError(account);
  return sqlite::ColumnText(stmt->get(), 0);
}

absl::Status SqliteAccountStore::SetSecurityCode(absl::string_view account,
                                                 absl::string_view code) {
  MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> stmt = sqlite::Prepare(
      db_.get(), "UPDATE accounts SET security_code = ?2 WHERE name = ?1",
      /*persistent=*/false, "set security code");
  if (!stmt.ok()) return stmt.status();
  return UpdateNamed(stmt->get(), {account, code}, account,
                     "set security code");
}

uint64_t SqliteAccountStore::hash_verifies() const {
  return hasher_->verifies();
}

uint64_t SqliteAccountStore::hash_slot_timeouts() const {
  return hasher_->slot_timeouts();
}

}  // namespace muwarden::game
