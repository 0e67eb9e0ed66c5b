#include "server/game/account/account_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/game/account/pg_account_store.h"
#include "server/game/account/sqlite_account_store.h"

namespace muwarden::game {
namespace {

// Longest stretch of an invalid name quoted back in an error message.
constexpr size_t kMaxQuotedNameLength = 32;

std::string QuoteName(absl::string_view name) {
  if (name.size() <= kMaxQuotedNameLength) {
    return absl::StrCat("'", absl::CHexEscape(name), "'");
  }
  return absl::StrCat(
      "'", absl::CHexEscape(name.substr(0, kMaxQuotedNameLength)), "'...");
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccountStore>> AccountStore::Open(
    const AccountStoreConfig& config, Clock& clock) {
  if (!config.url.empty()) {
    absl::StatusOr<std::unique_ptr<PgAccountStore>> store =
        PgAccountStore::Open(config, clock);
    if (!store.ok()) return store.status();
    return std::unique_ptr<AccountStore>(*std::move(store));
  }
  absl::StatusOr<std::unique_ptr<SqliteAccountStore>> store =
      SqliteAccountStore::Open(config, clock);
  if (!store.ok()) return store.status();
  return std::unique_ptr<AccountStore>(*std::move(store));
}

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

absl::StatusOr<std::string> HashNewPassword(PasswordHasher& hasher,
                                            absl::string_view name,
                                            absl::string_view password) {
  if (absl::Status s = ValidateAccountName(name); !s.ok()) return s;
  if (absl::Status s = ValidatePassword(password); !s.ok()) return s;
  return hasher.Hash(password);
}

absl::Status NoSuchAccountError(absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("no account named ", QuoteName(name)));
}

absl::Status AccountNameTakenError(absl::string_view name) {
  return absl::AlreadyExistsError(
      absl::StrCat("account name ", QuoteName(name), " is taken"));
}

void AccountStoreConfig::Describe(config::Schema& s) {
  s.Path("game", "database", &path,
         "account database (SQLite), created on first start", {},
         config::CheckNonEmpty);
  s.Integer("game", "max_concurrent_hashes", &hasher.max_concurrent_hashes, 1,
            kMaxHashSlots,
            "Argon2id password checks at once, each holding 64 MiB; more wait "
            "their prefix's turn (about the core count)");
}

}  // namespace muwarden::game
