#include "server/game/account/pg_account_store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/db/pg_schema.h"
#include "server/game/account/known_devices.h"

namespace muwarden::game {
namespace {

// Connections per store: enough for the login workers' point lookups to
// overlap; the Argon2id checks, not the database, bound the login rate.
constexpr int kPoolSize = 4;

// Stored encodings as in the SQLite file: state 0 active, anything else
// blocked (fail closed); times are UTC unix seconds, 0 = none.
constexpr int64_t kStateActive = 0;
constexpr int64_t kStateBlocked = 1;

#define MW_ACCOUNT_COLUMNS \
  "SELECT name, state, blocked_until, created_at, last_login, password_hash "
#define MW_CHARACTER_COLUMNS                                                 \
  "SELECT name, account, slot, class, level, experience, level_up_points, " \
  "strength, agility, vitality, energy, leadership, health, max_health, "   \
  "mana, max_mana, zen, map, x, y, direction, status FROM characters "

constexpr pg::Statement kSelectOne{
    "acc_select_one",
    MW_ACCOUNT_COLUMNS "FROM accounts WHERE name_key = lower($1::text)"};
constexpr pg::Statement kSelectAll{
    "acc_select_all", MW_ACCOUNT_COLUMNS "FROM accounts ORDER BY name_key"};
constexpr pg::Statement kInsert{
    "acc_insert",
    "INSERT INTO accounts (name_key, name, password_hash, state, "
    "blocked_until, created_at, last_login) "
    "VALUES (lower($1::text), $1::text, $2, 0, 0, $3, 0)"};
constexpr pg::Statement kBlock{
    "acc_block",
    "UPDATE accounts SET state = $2, blocked_until = $3 "
    "WHERE name_key = lower($1::text)"};
constexpr pg::Statement kUnblock{
    "acc_unblock",
    "UPDATE accounts SET state = $2, blocked_until = 0 "
    "WHERE name_key = lower($1::text)"};
constexpr pg::Statement kSetPassword{
    "acc_set_password",
    "UPDATE accounts SET password_hash = $2 WHERE name_key = lower($1::text)"};
constexpr pg::Statement kRecordLogin{
    "acc_record_login",
    "UPDATE accounts SET last_login = $2 WHERE name_key = lower($1::text)"};
constexpr pg::Statement kRehash{
    "acc_rehash",
    "UPDATE accounts SET password_hash = $3 "
    "WHERE name_key = lower($1::text) AND password_hash = $2"};
constexpr pg::Statement kKnownSelect{
    "acc_known_select",
    "SELECT 1 FROM known_devices WHERE account_key = lower($1::text) "
    "AND block = $2 AND last_login >= $3"};
constexpr pg::Statement kKnownUpsert{
    "acc_known_upsert",
    "INSERT INTO known_devices (account_key, block, last_login) "
    "VALUES (lower($1::text), $2, $3) ON CONFLICT (account_key, block) "
    "DO UPDATE SET last_login = excluded.last_login"};
constexpr pg::Statement kKnownTrim{
    "acc_known_trim",
    "DELETE FROM known_devices WHERE account_key = lower($1::text) AND "
    "(last_login < $3 OR block NOT IN (SELECT block FROM known_devices "
    "WHERE account_key = lower($1::text) ORDER BY last_login DESC, block "
    "LIMIT $2))"};
constexpr pg::Statement kCharList{
    "chr_list", MW_CHARACTER_COLUMNS
    "WHERE account_key = lower($1::text) ORDER BY slot"};
constexpr pg::Statement kCharLock{
    "chr_lock", "SELECT pg_advisory_xact_lock(hashtext(lower($1::text)))"};
constexpr pg::Statement kCharSlots{
    "chr_slots", "SELECT slot FROM characters WHERE account_key = lower($1::text)"};
constexpr pg::Statement kCharInsert{
    "chr_insert",
    "INSERT INTO characters (name_key, name, account_key, account, slot, "
    "class, level, experience, level_up_points, strength, agility, vitality, "
    "energy, leadership, health, max_health, mana, max_mana, zen, map, x, y, "
    "direction, status, created_at) VALUES (lower($1::text), $1::text, "
    "lower($2::text), $2::text, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"};
constexpr pg::Statement kCharDelete{
    "chr_delete",
    "DELETE FROM characters WHERE account_key = lower($1::text) "
    "AND name_key = lower($2::text)"};
constexpr pg::Statement kCharGet{
    "chr_get", MW_CHARACTER_COLUMNS
    "WHERE account_key = lower($1::text) AND name_key = lower($2::text)"};
constexpr pg::Statement kCharSavePosition{
    "chr_save_position",
    "UPDATE characters SET map = $2, x = $3, y = $4, direction = $5 "
    "WHERE name_key = lower($1::text)"};
constexpr pg::Statement kSecurityCode{
    "acc_security_code",
    "SELECT security_code FROM accounts WHERE name_key = lower($1::text)"};
constexpr pg::Statement kSetSecurityCode{
    "acc_set_security_code",
    "UPDATE accounts SET security_code = $2 WHERE name_key = lower($1::text)"};

std::optional<absl::Time> OptionalTime(int64_t unix_seconds) {
  if (unix_seconds == 0) return std::nullopt;
  return absl::FromUnixSeconds(unix_seconds);
}

AccountInfo ReadAccountRow(const PGresult* r, int row, std::string* hash) {
  AccountInfo info;
  info.name = pg::Text(r, row, 0);
  info.state = pg::Int(r, row, 1) == kStateActive ? AccountState::kActive
                                                  : AccountState::kBlocked;
  if (info.state == AccountState::kBlocked) {
    info.blocked_until = OptionalTime(pg::Int(r, row, 2));
  }
  info.created_at = absl::FromUnixSeconds(pg::Int(r, row, 3));
  info.last_login = OptionalTime(pg::Int(r, row, 4));
  if (hash != nullptr) *hash = pg::Text(r, row, 5);
  return info;
}

// Stored values were written by this code from the narrow fields; anything
// else is clamped, not trusted.
CharacterRecord ReadCharacterRow(const PGresult* r, int row) {
  auto u8 = [&](int c) {
    return static_cast<uint8_t>(pg::Int(r, row, c) & 0xFF);
  };
  auto u16 = [&](int c) {
    return static_cast<uint16_t>(pg::Int(r, row, c) & 0xFFFF);
  };
  CharacterRecord c;
  c.name = pg::Text(r, row, 0);
  c.account = pg::Text(r, row, 1);
  c.slot = static_cast<int>(pg::Int(r, row, 2));
  c.class_number = u8(3);
  c.level = u16(4);
  c.experience = static_cast<uint64_t>(pg::Int(r, row, 5));
  c.level_up_points = u16(6);
  c.strength = u16(7);
  c.agility = u16(8);
  c.vitality = u16(9);
  c.energy = u16(10);
  c.leadership = u16(11);
  c.health = u16(12);
  c.max_health = u16(13);
  c.mana = u16(14);
  c.max_mana = u16(15);
  c.zen = static_cast<uint32_t>(pg::Int(r, row, 16) & 0xFFFFFFFF);
  c.map = u8(17);
  c.x = u8(18);
  c.y = u8(19);
  c.direction = u8(20);
  c.status = u8(21);
  return c;
}

absl::Status NoSuchCharacterError(absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("no character '", absl::CHexEscape(name), "'"));
}

absl::Status CannotOpen(const absl::Status& status) {
  // Not the URL: it may carry a password.
  return absl::Status(status.code(),
                      absl::StrCat("cannot open account database "
                                   "(PostgreSQL): ",
                                   status.message()));
}

}  // namespace

PgAccountStore::PgAccountStore(Clock& clock,
                               std::unique_ptr<PasswordHasher> hasher,
                               pg::ConnectionConfig config, int connections)
    : clock_(clock),
      hasher_(std::move(hasher)),
      pool_(std::move(config), connections) {}

absl::StatusOr<std::unique_ptr<PgAccountStore>> PgAccountStore::Open(
    const AccountStoreConfig& config, Clock& clock) {
  if (absl::Status s = ValidatePasswordHasherConfig(config.hasher); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("account ", s.message()));
  }
  absl::StatusOr<std::unique_ptr<PasswordHasher>> hasher =
      PasswordHasher::Create(config.hasher);
  if (!hasher.ok()) return hasher.status();
  pg::ConnectionConfig pg_config;
  pg_config.url = config.url;
  pg_config.connect_timeout = config.db_timeout;
  pg_config.statement_timeout = config.db_timeout;
  std::unique_ptr<PgAccountStore> store(new PgAccountStore(
      clock, *std::move(hasher), std::move(pg_config), kPoolSize));
  absl::StatusOr<pg::Pool::Lease> conn = store->pool_.Acquire();
  if (!conn.ok()) return CannotOpen(conn.status());
  if (absl::Status s = (*conn)->EnsureConnected(); !s.ok()) {
    return CannotOpen(s);
  }
  if (absl::Status s = pg::MigrateSchema(**conn); !s.ok()) {
    return CannotOpen(s);
  }
  return store;
}

absl::StatusOr<pg::Result> PgAccountStore::Run(
    const pg::Statement& stmt, std::initializer_list<pg::Param> params) {
  absl::StatusOr<pg::Pool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->Exec(stmt, params);
}

absl::Status PgAccountStore::UpdateNamed(
    const pg::Statement& stmt, std::initializer_list<pg::Param> params,
    absl::string_view name) {
  absl::StatusOr<pg::Result> r = Run(stmt, params);
  if (!r.ok()) return r.status();
  if (pg::Affected(r->get()) == 0) return NoSuchAccountError(name);
  return absl::OkStatus();
}

absl::Status PgAccountStore::AddAccount(absl::string_view name,
                                        absl::string_view password) {
  absl::StatusOr<std::string> hash = HashNewPassword(*hasher_, name, password);
  if (!hash.ok()) return hash.status();
  absl::StatusOr<pg::Result> r =
      Run(kInsert, {name, *hash, absl::ToUnixSeconds(clock_.WallNow())});
  if (absl::IsAlreadyExists(r.status())) return AccountNameTakenError(name);
  return r.status();
}

absl::Status PgAccountStore::Block(absl::string_view name,
                                   std::optional<absl::Time> until) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  int64_t until_seconds = 0;
  if (until.has_value()) {
    until_seconds = absl::ToUnixSeconds(*until);
    if (absl::FromUnixSeconds(until_seconds) <= clock_.WallNow()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block end ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until, absl::UTCTimeZone()),
          " is not in the future"));
    }
  }
  return UpdateNamed(kBlock, {name, kStateBlocked, until_seconds}, name);
}

absl::Status PgAccountStore::Unblock(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  return UpdateNamed(kUnblock, {name, kStateActive}, name);
}

absl::Status PgAccountStore::SetPassword(absl::string_view name,
                                         absl::string_view password) {
  absl::StatusOr<std::string> hash = HashNewPassword(*hasher_, name, password);
  if (!hash.ok()) return hash.status();
  return UpdateNamed(kSetPassword, {name, *hash}, name);
}

absl::StatusOr<AccountInfo> PgAccountStore::Get(absl::string_view name) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  absl::StatusOr<pg::Result> r = Run(kSelectOne, {name});
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) == 0) return NoSuchAccountError(name);
  return ReadAccountRow(r->get(), 0, nullptr);
}

absl::StatusOr<std::vector<AccountInfo>> PgAccountStore::List() {
  absl::StatusOr<pg::Result> r = Run(kSelectAll, {});
  if (!r.ok()) return r.status();
  std::vector<AccountInfo> out;
  const int rows = PQntuples(r->get());
  out.reserve(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) out.push_back(ReadAccountRow(r->get(), i, nullptr));
  return out;
}

LoginCheck PgAccountStore::Verify(absl::string_view name,
                                  absl::string_view password) {
  LoginCheck check;
  std::string stored_hash;
  if (ValidateAccountName(name).ok()) {
    absl::StatusOr<pg::Result> r = Run(kSelectOne, {name});
    if (!r.ok()) return check;  // kUnavailable; says nothing about the name
    if (PQntuples(r->get()) > 0) {
      check.account = ReadAccountRow(r->get(), 0, &stored_hash);
    }
  }
  // The one Argon2id run, with no connection held; the same cost whatever
  // the outcome (see AccountStore::Verify).
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
  const absl::Time now = clock_.WallNow();
  if (check.account->IsBlockedAt(now)) {
    check.result = check.account->blocked_until.has_value()
                       ? LoginResult::kTemporarilyBlocked
                       : LoginResult::kBlocked;
    return check;
  }
  // last_login is informational: failing to record it does not refuse a
  // login the credentials allow.
  Run(kRecordLogin, {name, absl::ToUnixSeconds(now)}).IgnoreError();
  if (!verdict.upgraded_hash.empty()) {
    Run(kRehash, {name, stored_hash, verdict.upgraded_hash}).IgnoreError();
  }
  check.result = LoginResult::kOk;
  return check;
}

bool PgAccountStore::IsKnownBlock(absl::string_view name,
                                  absl::string_view block, absl::Time since) {
  if (!ValidateAccountName(name).ok()) return false;
  absl::StatusOr<pg::Result> r =
      Run(kKnownSelect, {name, block, absl::ToUnixSeconds(since)});
  return r.ok() && PQntuples(r->get()) > 0;
}

void PgAccountStore::RecordKnownBlock(absl::string_view name,
                                      absl::string_view block,
                                      absl::Time forget_before) {
  if (!ValidateAccountName(name).ok()) return;
  absl::StatusOr<pg::Pool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return;
  if (!(*conn)
           ->Exec(kKnownUpsert,
                  {name, block, absl::ToUnixSeconds(clock_.WallNow())})
           .ok()) {
    return;
  }
  (*conn)
      ->Exec(kKnownTrim, {name, int64_t{kMaxKnownBlocksPerAccount},
                          absl::ToUnixSeconds(forget_before)})
      .IgnoreError();
}

uint64_t PgAccountStore::hash_verifies() const { return hasher_->verifies(); }

uint64_t PgAccountStore::hash_slot_timeouts() const {
  return hasher_->slot_timeouts();
}

absl::StatusOr<std::vector<CharacterRecord>> PgAccountStore::ListCharacters(
    absl::string_view account) {
  absl::StatusOr<pg::Result> r = Run(kCharList, {account});
  if (!r.ok()) return r.status();
  std::vector<CharacterRecord> out;
  const int rows = PQntuples(r->get());
  for (int i = 0; i < rows; ++i) out.push_back(ReadCharacterRow(r->get(), i));
  return out;
}

absl::StatusOr<CharacterRecord> PgAccountStore::CreateCharacter(
    absl::string_view account, const CharacterRecord& c, int max_characters) {
  absl::StatusOr<pg::Pool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  pg::Connection& db = **conn;
  auto fail = [&](absl::Status s) {
    if (db.connected()) db.ExecScript("ROLLBACK").IgnoreError();
    return s;
  };
  if (absl::StatusOr<pg::Result> r = db.ExecScript("BEGIN"); !r.ok()) {
    return r.status();
  }
  // One creation per account at a time, whichever server runs it, so the
  // slot chosen below is still free at the insert.
  if (absl::StatusOr<pg::Result> r = db.Exec(kCharLock, {account}); !r.ok()) {
    return fail(r.status());
  }
  absl::StatusOr<pg::Result> slots = db.Exec(kCharSlots, {account});
  if (!slots.ok()) return fail(slots.status());
  bool used[kMaxCharacterSlots] = {};
  const int count = PQntuples(slots->get());
  for (int i = 0; i < count; ++i) {
    const int64_t slot = pg::Int(slots->get(), i, 0);
    if (slot >= 0 && slot < kMaxCharacterSlots) used[slot] = true;
  }
  int slot = 0;
  while (slot < kMaxCharacterSlots && used[slot]) ++slot;
  if (count >= max_characters || slot == kMaxCharacterSlots) {
    return fail(absl::ResourceExhaustedError("the account has its characters"));
  }
  absl::StatusOr<pg::Result> insert = db.Exec(
      kCharInsert,
      {c.name, account, int64_t{slot}, int64_t{c.class_number},
       int64_t{c.level}, static_cast<int64_t>(c.experience),
       int64_t{c.level_up_points}, int64_t{c.strength}, int64_t{c.agility},
       int64_t{c.vitality}, int64_t{c.energy}, int64_t{c.leadership},
       int64_t{c.health}, int64_t{c.max_health}, int64_t{c.mana},
       int64_t{c.max_mana}, int64_t{c.zen}, int64_t{c.map}, int64_t{c.x},
       int64_t{c.y}, int64_t{c.direction}, int64_t{c.status},
       absl::ToUnixSeconds(clock_.WallNow())});
  if (absl::IsAlreadyExists(insert.status())) {
    return fail(absl::AlreadyExistsError(absl::StrCat(
        "character name '", absl::CHexEscape(c.name), "' is taken")));
  }
  if (!insert.ok()) return fail(insert.status());
  if (absl::StatusOr<pg::Result> r = db.ExecScript("COMMIT"); !r.ok()) {
    return fail(r.status());
  }
  CharacterRecord stored = c;
  stored.account = std::string(account);
  stored.slot = slot;
  return stored;
}

absl::Status PgAccountStore::DeleteCharacter(absl::string_view account,
                                             absl::string_view name) {
  absl::StatusOr<pg::Result> r = Run(kCharDelete, {account, name});
  if (!r.ok()) return r.status();
  if (pg::Affected(r->get()) == 0) return NoSuchCharacterError(name);
  return absl::OkStatus();
}

absl::StatusOr<CharacterRecord> PgAccountStore::GetCharacter(
    absl::string_view account, absl::string_view name) {
  absl::StatusOr<pg::Result> r = Run(kCharGet, {account, name});
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) == 0) return NoSuchCharacterError(name);
  return ReadCharacterRow(r->get(), 0);
}

absl::Status PgAccountStore::SavePosition(absl::string_view name, uint8_t map,
                                          uint8_t x, uint8_t y,
                                          uint8_t direction) {
  absl::StatusOr<pg::Result> r =
      Run(kCharSavePosition, {name, int64_t{map}, int64_t{x}, int64_t{y},
                              int64_t{direction}});
  if (!r.ok()) return r.status();
  if (pg::Affected(r->get()) == 0) return NoSuchCharacterError(name);
  return absl::OkStatus();
}

absl::StatusOr<std::string> PgAccountStore::SecurityCode(
    absl::string_view account) {
  absl::StatusOr<pg::Result> r = Run(kSecurityCode, {account});
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) == 0) return NoSuchAccountError(account);
  return pg::Text(r->get(), 0, 0);
}

absl::Status PgAccountStore::SetSecurityCode(absl::string_view account,
                                             absl::string_view code) {
  return UpdateNamed(kSetSecurityCode, {account, code}, account);
}

}  // namespace muwarden::game
