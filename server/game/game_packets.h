// The GameServer packets after login (PROTOCOL.md section 3): character list
// request and answer, logout and its answer, public chat and whisper, parsed
// from decrypted bytes and built for sending. Incoming messages are cut to
// kMaxChatMessageBytes (at a UTF-8 boundary) so an outgoing chat packet always
// fits its one-byte length. Pure functions; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_GAME_PACKETS_H_
#define MUWARDEN_SERVER_GAME_GAME_PACKETS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace muwarden::game {

inline constexpr uint8_t kCodeChat = 0x00;
inline constexpr uint8_t kCodeWhisper = 0x02;
inline constexpr uint8_t kCodePing = 0x0E;
inline constexpr uint8_t kCodeAccount = 0xF1;  // sub 01 login, 02 logout
inline constexpr uint8_t kSubLogin = 0x01;
inline constexpr uint8_t kSubLogout = 0x02;
inline constexpr uint8_t kCodeCharacter = 0xF3;  // sub 00 list
inline constexpr uint8_t kSubCharacterList = 0x00;

// Character names travel in 10-byte zero-padded fields.
inline constexpr size_t kNameFieldSize = 10;
// C1 header (2) + code (1) + name (10).
inline constexpr size_t kChatHeaderSize = 13;
// The Season 6 input box allows 89 characters; UTF-8 may take up to ~2 bytes
// each for the scripts MU clients use. 13 + 200 + a terminating 0 = 214 <= 255,
// so the outgoing length byte can never wrap.
inline constexpr size_t kMaxChatMessageBytes = 200;
static_assert(kChatHeaderSize + kMaxChatMessageBytes + 1 <= 255);

// Logout types: 0 close the game, 1 back to character select, 2 back to server
// select.
inline constexpr uint8_t kLogoutCloseGame = 0;
inline constexpr uint8_t kLogoutCharacterSelect = 1;
inline constexpr uint8_t kLogoutServerSelect = 2;

enum class ChatKind : uint8_t { kPublic = kCodeChat, kWhisper = kCodeWhisper };

struct ChatRequest {
  ChatKind kind = ChatKind::kPublic;
  // Public chat: the name the client claims (ignored: the server uses the
  // logged-in name). Whisper: the receiver. Cut at the first 0.
  std::string name;
  // Cut at the first 0, then to kMaxChatMessageBytes.
  std::string message;
  bool truncated = false;  // the message was longer than the cap
};

// `packet`: decrypted C1 (or C3) <len> 00|02 <name: 10> <message>.
// kInvalidArgument
// for a wrong header or code, or a packet too short to hold the name field.
absl::StatusOr<ChatRequest> ParseChat(absl::Span<const uint8_t> packet);

// C1 <len> 00|02 <name: 10, zero-padded, cut to 10> <message, cut to the cap>
// 00.
std::vector<uint8_t> BuildChat(ChatKind kind, absl::string_view name,
                               absl::string_view message);

// `packet`: decrypted C3 05 F1 02 <type>; returns the type (0..2).
// kInvalidArgument for another length or type.
absl::StatusOr<uint8_t> ParseLogout(absl::Span<const uint8_t> packet);
// The plain answer C3 05 F1 02 <type>, to be SimpleModulus-encrypted.
std::array<uint8_t, 5> BuildLogoutAnswer(uint8_t type);

// `packet`: decrypted C1 05 F3 00 <language>; returns the language byte.
// kInvalidArgument for another length.
absl::StatusOr<uint8_t> ParseCharacterListRequest(
    absl::Span<const uint8_t> packet);
// C1 08 F3 00 <unlock flags 0> <move count 0> <characters 0> <vault 0>: an
// account without characters.
std::array<uint8_t, 8> BuildEmptyCharacterList();

// The longest prefix of `text` of at most `max_bytes` that does not end inside
// a UTF-8 sequence.
absl::string_view CutUtf8(absl::string_view text, size_t max_bytes);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_PACKETS_H_
