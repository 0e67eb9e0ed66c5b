// PgAccountStore: the AccountStore and CharacterStore on a PostgreSQL
// database shared by several GameServers (SPEC section 11; schema in
// common/db/pg_schema.h). Names are matched through a lower-case key, the
// spelling they were added with is kept. Thread-safe: every call takes a
// connection of its own from a small pool (so one slow statement does not
// hold up the others), and the Argon2id hash runs with no connection held.
// Every call is bounded by the connection's timeouts: a database that went
// away answers kUnavailable (a login kUnavailable, "connection error") in
// about statement_timeout, and the next call reconnects.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_PG_ACCOUNT_STORE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_PG_ACCOUNT_STORE_H_

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
#include "common/db/pg.h"
#include "server/game/account/account_store.h"
#include "server/game/account/character_store.h"
#include "server/game/account/password_hasher.h"

namespace muwarden::game {

class PgAccountStore final : public AccountStore, public CharacterStore {
 public:
  // Connects to config.url and creates or migrates the schema: kUnavailable
  // "cannot open account database: <reason>" when the database cannot be
  // reached, FailedPrecondition for a newer schema.
  static absl::StatusOr<std::unique_ptr<PgAccountStore>> Open(
      const AccountStoreConfig& config, Clock& clock);

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

 private:
  PgAccountStore(Clock& clock, std::unique_ptr<PasswordHasher> hasher,
                 pg::ConnectionConfig config, int connections);
  // Runs one statement on a pooled connection.
  absl::StatusOr<pg::Result> Run(const pg::Statement& stmt,
                                 std::initializer_list<pg::Param> params);
  // Runs a write on the row of `name`; NotFound if it matched no row.
  absl::Status UpdateNamed(const pg::Statement& stmt,
                           std::initializer_list<pg::Param> params,
                           absl::string_view name);

  Clock& clock_;
  const std::unique_ptr<PasswordHasher> hasher_;
  pg::Pool pool_;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_PG_ACCOUNT_STORE_H_
