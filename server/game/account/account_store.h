// AccountStore: the game server's accounts (name, Argon2id password hash,
// block state, times) in one SQLite file in WAL mode with synchronous=FULL.
// Thread-safe: one connection behind a mutex; password hashing runs outside it.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
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
#include "common/config/schema.h"

struct sqlite3;
struct sqlite3_stmt;

namespace muwarden::game {

// Limits of what the Season 6 login packet can carry (PROTOCOL.md section 3):
// a 10-byte username field and a 20-byte password field.
inline constexpr size_t kMinAccountNameLength = 4;
inline constexpr size_t kMaxAccountNameLength = 10;
inline constexpr size_t kMaxPasswordLength = 20;

struct AccountStoreConfig {
  std::string path = "accounts.db";
  // Argon2id cost of new hashes. libsodium's INTERACTIVE pair (2 passes over
  // 64 MiB) is its recommendation for online logins: 45-85 ms per verify on
  // the 2-core build host, under the ~100 ms a player would notice, while an
  // offline guesser with a stolen file pays 64 MiB and the same time per
  // guess. Tests use crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN (1 pass,
  // 8 KiB) for speed.
  uint64_t opslimit = 2;               // crypto_pwhash_OPSLIMIT_INTERACTIVE
  size_t memlimit = 64 * 1024 * 1024;  // crypto_pwhash_MEMLIMIT_INTERACTIVE
  // Every hash in flight holds `memlimit` bytes, so a login flood would
  // otherwise turn into max_clients * 64 MiB. At most this many run at once
  // (peak memory max_concurrent_hashes * memlimit); more than the core count
  // adds no throughput anyway.
  int max_concurrent_hashes = 4;
  // How long a login waits for a hash slot before it is answered kUnavailable.
  absl::Duration hash_wait_timeout = absl::Seconds(2);
  // How long a statement waits for another process's write lock (the operator
  // running `game-server account ...` while the server runs).
  absl::Duration busy_timeout = absl::Seconds(5);

  // [game] database.
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

// Bounds the password hashes in flight; each one holds memlimit bytes.
// Thread-safe.
class HashGate {
 public:
  explicit HashGate(int slots);

  // Move-only; gives the slot back on destruction.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();
    bool held() const { return gate_ != nullptr; }

   private:
    friend class HashGate;
    explicit Slot(HashGate* gate) : gate_(gate) {}
    HashGate* gate_ = nullptr;
  };

  // Waits up to `timeout` (real time) for a free slot; an empty Slot if none.
  Slot Acquire(absl::Duration timeout);
  int in_use() const;

 private:
  void Release();

  const int slots_;
  mutable Mutex mu_;
  CondVar freed_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

// Account names are case-insensitive (ASCII only, so SQLite's NOCASE is exact)
// and keep the spelling they were added with: "Admin" and "admin" are one
// account, as on the original MSSQL-backed servers, so nobody can register a
// look-alike of an existing name.
//
// Concurrency: one SQLite connection, every statement under mu_. The only slow
// step, the Argon2id hash, runs outside mu_ (the stored hash is copied out
// under the lock and checked after it is released), so concurrent Verify calls
// only serialise on microsecond point lookups. A connection per call would pay
// an open, the pragmas and statement preparation on every login for no gain.
class AccountStore {
 public:
  static absl::StatusOr<std::unique_ptr<AccountStore>> Open(
      const AccountStoreConfig& config, Clock& clock);
  static absl::StatusOr<std::unique_ptr<AccountStore>> Open(
      const std::string& path, Clock& clock);

  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;
  ~AccountStore();

  // AlreadyExists if the name (in any case) is taken; InvalidArgument naming
  // the rule for a bad name or password.
  absl::Status AddAccount(absl::string_view name, absl::string_view password);
  // `until` set: a temporary block ending then (InvalidArgument if it is not
  // in the future); nullopt: blocked until Unblock. NotFound if no account.
  absl::Status Block(absl::string_view name, std::optional<absl::Time> until);
  absl::Status Unblock(absl::string_view name);
  absl::Status SetPassword(absl::string_view name, absl::string_view password);
  absl::StatusOr<AccountInfo> Get(absl::string_view name);
  // Every account, ordered by name.
  absl::StatusOr<std::vector<AccountInfo>> List();

  // Checks a login. Exactly one Argon2id verify runs whatever the outcome
  // (against a dummy hash for an unknown or malformed name), so the time
  // taken does not tell whether a name exists. The block state is reported
  // only with the right password. On kOk, last_login is set, and a hash made
  // with other limits than the configured ones is replaced.
  LoginCheck Verify(absl::string_view name, absl::string_view password);

  // Reads `PRAGMA name` on the store's own connection (per-connection pragmas
  // such as synchronous are not visible from another one). Diagnostics only.
  absl::StatusOr<std::string> Pragma(absl::string_view name);

  // Argon2id verifies run so far, dummy ones included.
  uint64_t hash_verifies() const;
  // Logins answered kUnavailable because no hash slot freed up in time.
  uint64_t hash_slot_timeouts() const;

 private:
  struct Statements;

  AccountStore(const AccountStoreConfig& config, Clock& clock);
  absl::Status Init();
  absl::StatusOr<std::string> HashPassword(absl::string_view password);
  // Runs one prepared write statement whose parameter 1 is the name and
  // returns NotFound if it matched no row.
  absl::Status RunNamedUpdate(sqlite3_stmt* stmt, absl::string_view name,
                              absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const AccountStoreConfig config_;
  Clock& clock_;
  HashGate gate_;
  // Same cost as a real hash; written once in Init, then read-only.
  std::string dummy_hash_;

  mutable Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> hash_verifies_{0};
  std::atomic<uint64_t> hash_slot_timeouts_{0};
};

// Validation shared with the CLI; InvalidArgument messages name the rule and
// never contain the password.
absl::Status ValidateAccountName(absl::string_view name);
absl::Status ValidatePassword(absl::string_view password);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_STORE_H_
