#include "server/game/account/password_hasher.h"

#include <sodium.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::FastHasherConfig;

std::unique_ptr<PasswordHasher> MakeHasher(
    PasswordHasherConfig config = FastHasherConfig()) {
  auto hasher = PasswordHasher::Create(config);
  EXPECT_TRUE(hasher.ok()) << hasher.status();
  return hasher.ok() ? *std::move(hasher) : nullptr;
}

TEST(PasswordHasherConfigTest, DefaultsAreLibsodiumInteractive) {
  PasswordHasherConfig config;
  EXPECT_EQ(config.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
  EXPECT_EQ(config.memlimit, size_t{crypto_pwhash_MEMLIMIT_INTERACTIVE});
  EXPECT_EQ(config.max_concurrent_hashes, 4);
  EXPECT_EQ(config.hash_wait_timeout, absl::Seconds(2));
  EXPECT_EQ(kMinOpsLimit, crypto_pwhash_OPSLIMIT_MIN);
  EXPECT_EQ(kMinMemLimit, size_t{crypto_pwhash_MEMLIMIT_MIN});
}

TEST(PasswordHasherConfigTest, OutOfRangeFieldsAreNamed) {
  PasswordHasherConfig config = FastHasherConfig();
  EXPECT_TRUE(ValidatePasswordHasherConfig(config).ok());
  config.opslimit = 0;
  EXPECT_TRUE(absl::StartsWith(ValidatePasswordHasherConfig(config).message(),
                               "opslimit 0 is out of range 1.."));
  config = FastHasherConfig();
  config.memlimit = 1024;
  EXPECT_TRUE(absl::StartsWith(ValidatePasswordHasherConfig(config).message(),
                               "memlimit 1024 is out of range 8192.."));
  config = FastHasherConfig();
  config.max_concurrent_hashes = kMaxHashSlots + 1;
  EXPECT_EQ(ValidatePasswordHasherConfig(config).message(),
            "max_concurrent_hashes 1025 is out of range 1..1024");
  config.max_concurrent_hashes = 0;
  EXPECT_EQ(PasswordHasher::Create(config).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PasswordHasherTest, HashIsArgon2idWithTheConfiguredLimitsAndASalt) {
  auto hasher = MakeHasher();
  absl::StatusOr<std::string> a = hasher->Hash("hunter2");
  absl::StatusOr<std::string> b = hasher->Hash("hunter2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(absl::StartsWith(*a, "$argon2id$")) << *a;
  EXPECT_TRUE(absl::StrContains(*a, "m=8,t=1,")) << *a;
  EXPECT_FALSE(absl::StrContains(*a, "hunter2"));
  EXPECT_NE(*a, *b);  // salted
}

TEST(PasswordHasherTest, VerifyMatchesOnlyTheRightPassword) {
  auto hasher = MakeHasher();
  const std::string hash = *hasher->Hash("right");
  EXPECT_EQ(hasher->Verify(&hash, "right").match, PasswordMatch::kMatch);
  EXPECT_EQ(hasher->Verify(&hash, "righ").match, PasswordMatch::kMismatch);
  EXPECT_EQ(hasher->Verify(&hash, "right ").match, PasswordMatch::kMismatch);
  EXPECT_EQ(hasher->Verify(&hash, "").match, PasswordMatch::kMismatch);
  EXPECT_EQ(hasher->verifies(), 4u);
  // Same limits: nothing to upgrade.
  EXPECT_EQ(hasher->Verify(&hash, "right").upgraded_hash, "");
}

TEST(PasswordHasherTest, MissingOrDamagedHashCostsOneDummyVerify) {
  auto hasher = MakeHasher();
  EXPECT_EQ(hasher->Verify(nullptr, "anything").match,
            PasswordMatch::kMismatch);
  EXPECT_EQ(hasher->verifies(), 1u);
  const std::string damaged(crypto_pwhash_STRBYTES + 10, 'x');
  EXPECT_EQ(hasher->Verify(&damaged, "anything").match,
            PasswordMatch::kMismatch);
  const std::string garbage = "not a hash";
  EXPECT_EQ(hasher->Verify(&garbage, "not a hash").match,
            PasswordMatch::kMismatch);
  EXPECT_EQ(hasher->verifies(), 3u);
}

TEST(PasswordHasherTest, HashFromOtherLimitsIsUpgradedOnAMatchOnly) {
  const std::string old_hash = *MakeHasher()->Hash("pw");
  PasswordHasherConfig stronger = FastHasherConfig();
  stronger.opslimit = 2;
  stronger.memlimit = 16 * 1024;
  auto hasher = MakeHasher(stronger);
  EXPECT_EQ(hasher->Verify(&old_hash, "nope").upgraded_hash, "");
  PasswordCheck check = hasher->Verify(&old_hash, "pw");
  EXPECT_EQ(check.match, PasswordMatch::kMatch);
  EXPECT_TRUE(absl::StrContains(check.upgraded_hash, "m=16,t=2,"))
      << check.upgraded_hash;
  EXPECT_EQ(hasher->Verify(&check.upgraded_hash, "pw").match,
            PasswordMatch::kMatch);
}

TEST(PasswordHasherTest, NoFreeSlotIsRefusedAndCounted) {
  PasswordHasherConfig config = FastHasherConfig();
  config.max_concurrent_hashes = 1;
  config.hash_wait_timeout = absl::Milliseconds(10);
  auto hasher = MakeHasher(config);
  const std::string hash = *hasher->Hash("pw");
  HashGate::Slot taken = hasher->gate().Acquire(absl::ZeroDuration());
  ASSERT_TRUE(taken.held());
  EXPECT_EQ(hasher->Hash("pw").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(hasher->Verify(&hash, "pw").match, PasswordMatch::kNoSlot);
  EXPECT_EQ(hasher->Verify(nullptr, "pw").match, PasswordMatch::kNoSlot);
  EXPECT_EQ(hasher->slot_timeouts(), 3u);
  EXPECT_EQ(hasher->verifies(), 0u);
  taken = HashGate::Slot();
  EXPECT_EQ(hasher->Verify(&hash, "pw").match, PasswordMatch::kMatch);
  EXPECT_EQ(hasher->gate().in_use(), 0);
}

}  // namespace
}  // namespace muwarden::game
