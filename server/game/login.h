// The login request (C3 F1 01, PROTOCOL.md section 3) after decryption, parsed
// and built (the codec pair: the server parses, test clients and tools build),
// and its answer C1 05 F1 01 <result>. The three client variants are told
// apart by exact length (60, 50, 48); username and password fields are Xor3'd
// whole and end at their first 0. Pure functions; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_LOGIN_H_
#define MUWARDEN_SERVER_GAME_LOGIN_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace muwarden::game {

// Decrypted lengths, header included.
inline constexpr size_t kLoginLongPasswordLength = 60;   // Season 6
inline constexpr size_t kLoginShortPasswordLength = 50;  // 10-byte password
inline constexpr size_t kLoginV075Length = 48;           // 0.75: 3-byte version

enum class LoginVariant { kLongPassword, kShortPassword, kV075 };

// The result byte of C1 05 F1 01 <result>.
enum class LoginAnswer : uint8_t {
  kInvalidPassword = 0,
  kOk = 1,
  kAccountInvalid = 2,
  kAlreadyConnected = 3,
  kServerFull = 4,
  kBlocked = 5,
  kWrongVersion = 6,
  kConnectionError = 7,
  kTooManyFailures = 8,
  kTemporarilyBlocked = 14,
};

// The password of a login: at most kCapacity bytes kept inline (never on the
// heap, so no allocator keeps a copy), wiped (sodium_memzero) when replaced
// and when destroyed, so no copy outlives its object. Thread-compatible.
class LoginSecret {
 public:
  static constexpr size_t kCapacity = 20;  // the longest password field

  LoginSecret() = default;
  // `text` cut to kCapacity.
  explicit LoginSecret(absl::string_view text) { Assign(text); }
  LoginSecret(const LoginSecret& other) { Assign(other.view()); }
  LoginSecret& operator=(const LoginSecret& other);
  LoginSecret& operator=(absl::string_view text);
  ~LoginSecret() { Wipe(); }

  absl::string_view view() const { return {bytes_.data(), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void Wipe();

  friend bool operator==(const LoginSecret& a, const LoginSecret& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const LoginSecret& a, absl::string_view b) {
    return a.view() == b;
  }

 private:
  void Assign(absl::string_view text);

  std::array<char, kCapacity> bytes_{};
  size_t size_ = 0;
};

struct LoginRequest {
  LoginVariant variant = LoginVariant::kLongPassword;
  // Xor3 undone and cut at the first 0: at most 10 and 20 (10) bytes. Not
  // validated here; the account store judges names and passwords.
  std::string username;
  LoginSecret password;
  uint32_t tick_count = 0;  // little-endian on the wire
  // Raw bytes as sent (5 bytes, 3 for 0.75 clients; 16 for the serial),
  // compared byte for byte with the accepted lists.
  std::string version;
  std::string serial;
};

// `packet` is the whole decrypted packet (header, F1 01, fields). Errors are
// kInvalidArgument (a malformed packet): a header other than C1/C3, a length
// field that does not match, a code other than F1 01, or a length that is none
// of the three variants (truncated or over-long).
// The decoded password exists only in the returned request (every temporary
// copy is wiped before returning).
absl::StatusOr<LoginRequest> ParseLogin(absl::Span<const uint8_t> packet);

// The decrypted packet a client sends for `request`, in its variant's layout:
// C3 <len> F1 01, username and password zero-padded to their fields (cut to
// them if longer) and Xor3'd, tick count little-endian, version and serial
// raw (zero-padded or cut). ParseLogin(BuildLogin(r)) is r when username and
// password fit their fields without a 0 byte and version and serial fill
// theirs exactly.
std::vector<uint8_t> BuildLogin(const LoginRequest& request);

// C1 05 F1 01 <answer>.
std::array<uint8_t, 5> BuildLoginAnswer(LoginAnswer answer);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_LOGIN_H_
