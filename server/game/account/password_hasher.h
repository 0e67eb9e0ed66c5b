// PasswordHasher: Argon2id password hashes (libsodium's crypto_pwhash_str, the
// PHC string with its salt and limits) made and checked under a HashGate slot,
// so at most max_concurrent_hashes run at once. Every Argon2id parameter of the
// server is here. Thread-safe.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_PASSWORD_HASHER_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_PASSWORD_HASHER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/game/account/hash_gate.h"

namespace muwarden::game {

// libsodium's INTERACTIVE pair (2 passes over 64 MiB) is its recommendation
// for online logins: 45-85 ms per verify on the 2-core build host, under the
// ~100 ms a player would notice, while an offline guesser with a stolen file
// pays 64 MiB and the same time per guess. Checked against libsodium's own
// constants in the .cc.
inline constexpr uint64_t kInteractiveOpsLimit = 2;
inline constexpr size_t kInteractiveMemLimit = 64 * 1024 * 1024;
// libsodium's floor (1 pass over 8 KiB): what the tests use, for speed.
inline constexpr uint64_t kMinOpsLimit = 1;
inline constexpr size_t kMinMemLimit = 8 * 1024;
// Far more than any machine has cores; only guards against a typo'd setting.
inline constexpr int kMaxHashSlots = 1024;

struct PasswordHasherConfig {
  // Argon2id cost of new hashes.
  uint64_t opslimit = kInteractiveOpsLimit;
  size_t memlimit = kInteractiveMemLimit;
  // Every hash in flight holds `memlimit` bytes, so a login flood would
  // otherwise turn into max_clients * 64 MiB. At most this many run at once
  // (peak memory max_concurrent_hashes * memlimit); more than the core count
  // adds no throughput anyway.
  int max_concurrent_hashes = 4;
  // How long a hash waits for a slot before it is refused.
  absl::Duration hash_wait_timeout = absl::Seconds(2);
};

// InvalidArgument naming the field ("opslimit 0 is out of range 1..N") when
// opslimit, memlimit or max_concurrent_hashes is outside what libsodium and
// kMaxHashSlots allow.
absl::Status ValidatePasswordHasherConfig(const PasswordHasherConfig& config);

enum class PasswordMatch { kMatch, kMismatch, kNoSlot };

struct PasswordCheck {
  PasswordMatch match = PasswordMatch::kNoSlot;
  // Set on kMatch when the stored hash was made with other limits than the
  // configured ones: the same password hashed with the configured ones.
  std::string upgraded_hash;
};

class PasswordHasher {
 public:
  // Validates `config`, starts libsodium and makes the dummy hash:
  // InvalidArgument as ValidatePasswordHasherConfig, Internal if libsodium
  // cannot start, ResourceExhausted if the dummy cannot be computed.
  static absl::StatusOr<std::unique_ptr<PasswordHasher>> Create(
      const PasswordHasherConfig& config);

  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // A new hash of `password` with the configured cost. Unavailable when no
  // slot freed up in time, ResourceExhausted when Argon2id ran out of memory.
  absl::StatusOr<std::string> Hash(absl::string_view password);

  // Exactly one Argon2id verify: against `stored_hash`, or against a dummy
  // hash of the same cost (never a match) when it is null or malformed, so the
  // time taken does not tell which. A hash made under other limits is
  // upgraded at the one moment the plaintext is known to be right.
  PasswordCheck Verify(const std::string* stored_hash,
                       absl::string_view password);

  // Argon2id verifies run so far, dummy ones included.
  uint64_t verifies() const;
  // Hashes and verifies refused because no slot freed up in time.
  uint64_t slot_timeouts() const;
  // The slots every hash and verify takes (a slot held here is one they
  // cannot have).
  HashGate& gate() { return gate_; }

 private:
  PasswordHasher(const PasswordHasherConfig& config, std::string dummy_hash);
  // Hashes `password` into the caller's slot; false when out of memory.
  bool HashInSlot(absl::string_view password, std::string* hash) const;

  const PasswordHasherConfig config_;
  // A hash of random bytes: verifying against it costs what a real one does.
  const std::string dummy_hash_;
  HashGate gate_;
  std::atomic<uint64_t> verifies_{0};
  std::atomic<uint64_t> slot_timeouts_{0};
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_PASSWORD_HASHER_H_
