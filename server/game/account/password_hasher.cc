#include "server/game/account/password_hasher.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace muwarden::game {

static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE == kInteractiveOpsLimit,
              "kInteractiveOpsLimit mirrors libsodium");
static_assert(crypto_pwhash_MEMLIMIT_INTERACTIVE == kInteractiveMemLimit,
              "kInteractiveMemLimit mirrors libsodium");
static_assert(crypto_pwhash_OPSLIMIT_MIN == kMinOpsLimit,
              "kMinOpsLimit mirrors libsodium");
static_assert(crypto_pwhash_MEMLIMIT_MIN == kMinMemLimit,
              "kMinMemLimit mirrors libsodium");
static_assert(crypto_pwhash_ALG_DEFAULT == crypto_pwhash_ALG_ARGON2ID13,
              "crypto_pwhash_str must produce Argon2id hashes");

namespace {

// libsodium >= 1.0.16 makes sodium_init thread-safe and idempotent; the static
// just keeps its cost to the first hasher.
bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

absl::Status ValidatePasswordHasherConfig(const PasswordHasherConfig& config) {
  if (config.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      config.opslimit > crypto_pwhash_OPSLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "opslimit ", config.opslimit, " is out of range ",
        crypto_pwhash_OPSLIMIT_MIN, "..", crypto_pwhash_OPSLIMIT_MAX));
  }
  if (config.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      config.memlimit > crypto_pwhash_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memlimit ", config.memlimit, " is out of range ",
        crypto_pwhash_MEMLIMIT_MIN, "..", crypto_pwhash_MEMLIMIT_MAX));
  }
  if (config.max_concurrent_hashes < 1 ||
      config.max_concurrent_hashes > kMaxHashSlots) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_concurrent_hashes ", config.max_concurrent_hashes,
                     " is out of range 1..", kMaxHashSlots));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PasswordHasher>> PasswordHasher::Create(
    const PasswordHasherConfig& config) {
  if (absl::Status s = ValidatePasswordHasherConfig(config); !s.ok()) return s;
  if (!SodiumReady()) {
    return absl::InternalError("libsodium failed to initialise");
  }
  // A hash of random bytes with the configured cost: verifying against it
  // takes as long as a real account's, and no password can match it.
  unsigned char secret[32];
  randombytes_buf(secret, sizeof(secret));
  char dummy[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(dummy, reinterpret_cast<const char*>(secret),
                        sizeof(secret), config.opslimit,
                        config.memlimit) != 0) {
    return absl::ResourceExhaustedError(
        "cannot compute the dummy password hash (out of memory?)");
  }
  return std::unique_ptr<PasswordHasher>(new PasswordHasher(config, dummy));
}

PasswordHasher::PasswordHasher(const PasswordHasherConfig& config,
                               std::string dummy_hash)
    : config_(config),
      dummy_hash_(std::move(dummy_hash)),
      gate_(config.max_concurrent_hashes) {}

bool PasswordHasher::HashInSlot(absl::string_view password,
                                std::string* hash) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), config_.opslimit,
                        config_.memlimit) != 0) {
    return false;
  }
  *hash = out;
  return true;
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) {
  HashGate::Slot slot = gate_.Acquire(config_.hash_wait_timeout);
  if (!slot.held()) {
    slot_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnavailableError("all password hash slots are busy");
  }
  std::string hash;
  if (!HashInSlot(password, &hash)) {
    return absl::ResourceExhaustedError(
        "cannot compute the password hash (out of memory?)");
  }
  return hash;
}

PasswordCheck PasswordHasher::Verify(const std::string* stored_hash,
                                     absl::string_view password) {
  PasswordCheck check;
  // A damaged stored hash (longer than any libsodium writes) goes against the
  // dummy like a missing one, so every path costs the same.
  const bool real =
      stored_hash != nullptr && stored_hash->size() < crypto_pwhash_STRBYTES;
  HashGate::Slot slot = gate_.Acquire(config_.hash_wait_timeout);
  if (!slot.held()) {
    slot_timeouts_.fetch_add(1, std::memory_order_relaxed);
    return check;
  }
  const std::string& against = real ? *stored_hash : dummy_hash_;
  const bool match = crypto_pwhash_str_verify(against.c_str(), password.data(),
                                              password.size()) == 0 &&
                     real;
  verifies_.fetch_add(1, std::memory_order_relaxed);
  check.match = match ? PasswordMatch::kMatch : PasswordMatch::kMismatch;
  if (match && crypto_pwhash_str_needs_rehash(against.c_str(), config_.opslimit,
                                              config_.memlimit) != 0) {
    // An upgrade that runs out of memory is skipped: the old hash still works.
    std::string upgraded;
    if (HashInSlot(password, &upgraded)) check.upgraded_hash = upgraded;
  }
  return check;
}

uint64_t PasswordHasher::verifies() const {
  return verifies_.load(std::memory_order_relaxed);
}

uint64_t PasswordHasher::slot_timeouts() const {
  return slot_timeouts_.load(std::memory_order_relaxed);
}

}  // namespace muwarden::game
