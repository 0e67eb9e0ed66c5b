// KnownDevices: the SQL of the account database's known_devices table, the
// client blocks (an IPv4 address or IPv6 /64, as text) each account logged in
// from successfully, with the time of the last such login: OWASP's "known
// device", which the account lock spares. At most kMaxKnownBlocksPerAccount
// rows per account (the most recent kept), rows older than the caller's
// horizon (known_days) dropped on each record. The table lives outside the
// versioned schema (CREATE TABLE IF NOT EXISTS, called from the store's open),
// so a file made before it existed gains it on the next start. Thread-
// compatible: the store calls it under its connection's mutex.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_KNOWN_DEVICES_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_KNOWN_DEVICES_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/game/account/sqlite.h"

namespace muwarden::game {

// Enough for a player's home, work, phone and a few more; an old one is
// forgotten first.
inline constexpr int kMaxKnownBlocksPerAccount = 8;

class KnownDevices {
 public:
  // Creates the table if missing and prepares the statements on `db`.
  static absl::StatusOr<KnownDevices> Open(sqlite3* db);

  // Whether `account` logged in from `block` at or after `since` (UTC).
  absl::StatusOr<bool> IsKnown(absl::string_view account,
                               absl::string_view block, absl::Time since);
  // Records a login of `account` from `block` at `now`, then keeps the
  // account's kMaxKnownBlocksPerAccount most recent rows not older than
  // `forget_before`.
  absl::Status Record(absl::string_view account, absl::string_view block,
                      absl::Time now, absl::Time forget_before);
  // The account's rows (for tests and diagnostics).
  absl::StatusOr<int64_t> Count(absl::string_view account);

 private:
  KnownDevices() = default;
  sqlite::Stmt select_;
  sqlite::Stmt upsert_;
  sqlite::Stmt trim_;
  sqlite::Stmt count_;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_KNOWN_DEVICES_H_
