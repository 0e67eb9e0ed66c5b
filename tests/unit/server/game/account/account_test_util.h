// Shared fixture pieces for the account tests: a private temp directory and a
// store config with libsodium's minimum Argon2id cost so tests stay fast.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_
#define MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_

#include <sodium.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "server/game/account/account_store.h"

namespace muwarden::game::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/mw_account_test.XXXXXX";
    const char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    if (made != nullptr) path_ = made;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline AccountStoreConfig FastConfig(const std::string& path) {
  AccountStoreConfig config;
  config.path = path;
  config.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  config.memlimit = crypto_pwhash_MEMLIMIT_MIN;
  return config;
}

}  // namespace muwarden::game::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_GAME_ACCOUNT_ACCOUNT_TEST_UTIL_H_
