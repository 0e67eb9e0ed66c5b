// AccountStore: the interface of the game server's accounts (name, password
// hash, block state, times), whatever holds them, with the account rules every
// backend shares: name and password validation and the error texts. Open
// picks the backend: SqliteAccountStore on [game] database, or PgAccountStore
// when [database] url names PostgreSQL.
// Implementations are thread-safe.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/config/schema.h"
#include "server/game/account/character_store.h"
#include "server/game/account/password_hasher.h"

namespace muwarden::game {

// Limits of what the Season 6 login packet can carry (PROTOCOL.md section 3):
// a 10-byte username field and a 20-byte password field.
inline constexpr size_t kMinAccountNameLength = 4;
inline constexpr size_t kMaxAccountNameLength = 10;
inline constexpr size_t kMaxPasswordLength = 20;

struct AccountStoreConfig {
  std::string path = "accounts.db";
  // Argon2id cost and the bound on hashes in flight. When every slot stays
  // busy for hash_wait_timeout, a login is answered kUnavailable.
  PasswordHasherConfig hasher;
  // How long a statement waits for another process's write lock (the operator
  // running `game-server account ...` while the server runs).
  absl::Duration busy_timeout = absl::Seconds(5);
  // [database] url: empty = the SQLite file at `path`; a postgresql:// URI or
  // a libpq key=value string = that PostgreSQL database (SPEC section 11).
  std::string url;
  // PostgreSQL connect and statement timeout: the longest a call waits on a
  // database that went away before it answers kUnavailable.
  absl::Duration db_timeout = absl::Seconds(2);

  // [game] database, max_concurrent_hashes (url and db_timeout are set from
  // db::ClusterConfig by the settings).
  void Describe(config::Schema& schema);
};

enum class AccountState { kActive, kBlocked };

struct AccountInfo {
  // As first added; lookups ignore ASCII case (see AccountStore).
  std::string name;
  AccountState state = AccountState::kActive;
  // Set only for a temporary block: the block ends at this UTC time.
  std::optional<absl::Time> blocked_until;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> last_login;

  // Whether the account is blocked at wall time `now`; a temporary block is
  // over once `now` reaches `blocked_until`.
  bool IsBlockedAt(absl::Time now) const;
};

enum class LoginResult {
  kOk,
  kNoSuchAccount,
  kWrongPassword,
  kBlocked,
  kTemporarilyBlocked,
  // The store could not answer: a database error, or every hash slot stayed
  // busy for hash_wait_timeout. Answer the client "connection error".
  kUnavailable,
};

absl::string_view LoginResultName(LoginResult result);

struct LoginCheck {
  LoginResult result = LoginResult::kUnavailable;
  // Set whenever the account exists (also for a wrong password), as it was
  // read before this login (so last_login is the previous one).
  std::optional<AccountInfo> account;
};

// Account names are case-insensitive (ASCII only) and keep the spelling they
// were added with: "Admin" and "admin" are one account, as on the original
// MSSQL-backed servers, so nobody can register a look-alike of an existing
// name.
class AccountStore {
 public:
  // The store `config` names: PostgreSQL when config.url is set, else the
  // SQLite file at config.path.
  static absl::StatusOr<std::unique_ptr<AccountStore>> Open(
      const AccountStoreConfig& config, Clock& clock);

  virtual ~AccountStore() = default;

  // AlreadyExists if the name (in any case) is taken; InvalidArgument naming
  // the rule for a bad name or password.
  virtual absl::Status AddAccount(absl::string_view name,
                                  absl::string_view password) = 0;
  // `until` set: a temporary block ending then (InvalidArgument if it is not
  // in the future); nullopt: blocked until Unblock. NotFound if no account.
  virtual absl::Status Block(absl::string_view name,
                             std::optional<absl::Time> until) = 0;
  virtual absl::Status Unblock(absl::string_view name) = 0;
  virtual absl::Status SetPassword(absl::string_view name,
                                   absl::string_view password) = 0;
  virtual absl::StatusOr<AccountInfo> Get(absl::string_view name) = 0;
  // Every account, ordered by name.
  virtual absl::StatusOr<std::vector<AccountInfo>> List() = 0;

  // Checks a login. Exactly one Argon2id verify runs whatever the outcome
  // (against a dummy hash for an unknown or malformed name), so the time
  // taken does not tell whether a name exists. The block state is reported
  // only with the right password. On kOk, last_login is set, and a hash made
  // with other limits than the configured ones is replaced.
  virtual LoginCheck Verify(absl::string_view name,
                            absl::string_view password) = 0;

  // Known client blocks (OWASP's known devices; see known_devices.h): the
  // blocks `name` logged in from successfully. `block` is the ClientBlock's
  // text. IsKnownBlock: whether such a login happened at or after `since`
  // (UTC); false for an unknown name and when the database cannot answer
  // (unknown is the safe side). RecordKnownBlock: records a login at the
  // store's wall time now, keeps the kMaxKnownBlocksPerAccount most recent
  // and forgets blocks not seen since `forget_before`; a failure is ignored
  // (the login it follows stands).
  virtual bool IsKnownBlock(absl::string_view name, absl::string_view block,
                            absl::Time since) = 0;
  virtual void RecordKnownBlock(absl::string_view name,
                                absl::string_view block,
                                absl::Time forget_before) = 0;

  // Argon2id verifies run so far, dummy ones included.
  virtual uint64_t hash_verifies() const = 0;
  // Requests refused because no hash slot freed up in time.
  virtual uint64_t hash_slot_timeouts() const = 0;

  // The characters kept in the same database.
  virtual CharacterStore& characters() = 0;
};

// Validation shared by every store and the CLI; InvalidArgument messages name
// the rule and never contain the password.
absl::Status ValidateAccountName(absl::string_view name);
absl::Status ValidatePassword(absl::string_view password);

// What every store's AddAccount and SetPassword do first: validate the name
// and the password, then hash the password.
absl::StatusOr<std::string> HashNewPassword(PasswordHasher& hasher,
                                            absl::string_view name,
                                            absl::string_view password);

// The errors every store gives for these cases, the name quoted and escaped.
absl::Status NoSuchAccountError(absl::string_view name);
absl::Status AccountNameTakenError(absl::string_view name);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_
