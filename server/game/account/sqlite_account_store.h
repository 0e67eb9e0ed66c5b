// SqliteAccountStore: the AccountStore in one SQLite file (see sqlite.h for
// its durability settings), names under COLLATE NOCASE, which is exact for the
// ASCII names ValidateAccountName allows. Thread-safe: one connection, every
// statement under mu_. The only slow step, the Argon2id hash, runs outside mu_
// (the stored hash is copied out under the lock and checked after it is
// released), so concurrent Verify calls only serialise on microsecond point
// lookups. A connection per call would pay an open, the pragmas and statement
// preparation on every login for no gain.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_ACCOUNT_STORE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_ACCOUNT_STORE_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "server/game/account/account_store.h"
#include "server/game/account/known_devices.h"
#include "server/game/account/character_store.h"
#include "server/game/account/password_hasher.h"
#include "server/game/account/sqlite.h"

namespace muwarden::game {

class SqliteAccountStore final : public AccountStore, public CharacterStore {
 public:
  // Creates the file and its schema on first use. InvalidArgument for a bad
  // config; otherwise "cannot open account database '<path>': <reason>",
  // FailedPrecondition for a schema version this build does not know.
  static absl::StatusOr<std::unique_ptr<SqliteAccountStore>> Open(
      const AccountStoreConfig& config, Clock& clock);

  SqliteAccountStore(const SqliteAccountStore&) = delete;
  SqliteAccountStore& operator=(const SqliteAccountStore&) = delete;
  ~SqliteAccountStore() override;

  absl::Status AddAccount(absl::string_view name,
                          absl::string_view password) override;
  absl::Status Block(absl::string_view name,
                     std::optional<absl::Time> until) override;
  absl::Status Unblock(absl::string_view name) override;
  absl::Status SetPassword(absl::string_view name,
                           absl::string_view password) override;
  absl::StatusOr<AccountInfo> Get(absl::string_view name) override;
  absl::StatusOr<std::vector<AccountInfo>> List() override;
  LoginCheck Verify(absl::string_view name,
                    absl::string_view password) override;
  bool IsKnownBlock(absl::string_view name, absl::string_view block,
                    absl::Time since) override;
  void RecordKnownBlock(absl::string_view name, absl::string_view block,
                        absl::Time forget_before) override;
  uint64_t hash_verifies() const override;
  uint64_t hash_slot_timeouts() const override;
  CharacterStore& characters() override { return *this; }

  // CharacterStore, on the same connection and mutex as the accounts.
  absl::StatusOr<std::vector<CharacterRecord>> ListCharacters(
      absl::string_view account) override;
  absl::StatusOr<CharacterRecord> CreateCharacter(
      absl::string_view account, const CharacterRecord& character,
      int max_characters) override;
  absl::Status DeleteCharacter(absl::string_view account,
                               absl::string_view name) override;
  absl::StatusOr<CharacterRecord> GetCharacter(absl::string_view account,
                                               absl::string_view name) override;
  absl::Status SavePosition(absl::string_view name, uint8_t map, uint8_t x,
                            uint8_t y, uint8_t direction) override;
  absl::StatusOr<std::string> SecurityCode(absl::string_view account) override;
  absl::Status SetSecurityCode(absl::string_view account,
                               absl::string_view code) override;

  // Reads `PRAGMA name` on the store's own connection (per-connection pragmas
  // such as synchronous are not visible from another one). Diagnostics only.
  absl::StatusOr<std::string> Pragma(absl::string_view name);

 private:
  struct Statements;

  SqliteAccountStore(Clock& clock, std::unique_ptr<PasswordHasher> hasher);
  absl::Status Init(const AccountStoreConfig& config);
  // Creates the schema, or checks its version, in one write transaction.
  absl::Status InitSchema() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the row of `name` (validated) into *info, its hash into *hash.
  // False with OK when there is no such account.
  absl::StatusOr<bool> ReadAccount(absl::string_view name, AccountInfo* info,
                                   std::string* hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs one prepared write statement with `values` (the first is the name)
  // and returns NotFound if it matched no row.
  absl::Status UpdateNamed(sqlite3_stmt* stmt,
                           std::initializer_list<sqlite::Value> values,
                           absl::string_view name, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  const std::unique_ptr<PasswordHasher> hasher_;

  mutable Mutex mu_;
  sqlite::Db db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);
  std::optional<KnownDevices> known_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_SQLITE_ACCOUNT_STORE_H_
