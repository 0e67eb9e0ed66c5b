// Shared fixture pieces for the account and GameServer tests: a private temp
// directory, and store (and hasher) configs with libsodium's minimum Argon2id
// cost so tests stay fast.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_
#define MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_

#include <memory>
#include <string>

#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "server/game/account/account_store.h"
#include "tests/support/temp_dir.h"

namespace muwarden::game::testing {

// The shared temp directory, named for these tests, with the name the account
// tests use for a file in it.
class TempDir : public ::muwarden::testing::TempDir {
 public:
  TempDir() : ::muwarden::testing::TempDir("mw_account_test") {}
  std::string File(const std::string& name) const { return Path(name); }
};

inline PasswordHasherConfig FastHasherConfig() {
  PasswordHasherConfig config;
  config.opslimit = kMinOpsLimit;
  config.memlimit = kMinMemLimit;
  return config;
}

inline AccountStoreConfig FastConfig(const std::string& path) {
  AccountStoreConfig config;
  config.path = path;
  config.hasher = FastHasherConfig();
  return config;
}

// A fast store on "accounts.db" in `dir` (null, with a test failure, if it
// cannot be opened).
inline std::unique_ptr<AccountStore> OpenFastStore(const TempDir& dir,
                                                   Clock& clock) {
  auto store = AccountStore::Open(FastConfig(dir.File("accounts.db")), clock);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace muwarden::game::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_
