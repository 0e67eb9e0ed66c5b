#include "server/game/game_packets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace muwarden::game {
namespace {

// Bytes up to the first 0 (or all of them).
absl::string_view UntilZero(absl::Span<const uint8_t> bytes) {
  const auto end = std::find(bytes.begin(), bytes.end(), 0);
  return absl::string_view(reinterpret_cast<const char*>(bytes.data()),
                           static_cast<size_t>(end - bytes.begin()));
}

bool IsUtf8Continuation(char c) {
  return (static_cast<uint8_t>(c) & 0xC0) == 0x80;
}

}  // namespace

absl::string_view CutUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes to the start of the sequence that does
  // not fit; a run longer than a UTF-8 sequence is not UTF-8, cut anywhere.
  size_t steps = 0;
  while (end > 0 && IsUtf8Continuation(text[end]) && steps < 3) {
    --end;
    ++steps;
  }
  if (steps == 3 && IsUtf8Continuation(text[end])) end = max_bytes;
  return text.substr(0, end);
}

absl::StatusOr<ChatRequest> ParseChat(absl::Span<const uint8_t> packet) {
  // Real clients send chat as C1; a C3 one decrypts to the same layout.
  if (packet.size() < kChatHeaderSize ||
      (packet[0] != 0xC1 && packet[0] != 0xC3) || packet[1] != packet.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chat: bad header or shorter than ", kChatHeaderSize));
  }
  if (packet[2] != kCodeChat && packet[2] != kCodeWhisper) {
    return absl::InvalidArgumentError("chat: not a chat code");
  }
  ChatRequest chat;
  chat.kind = static_cast<ChatKind>(packet[2]);
  chat.name = std::string(UntilZero(packet.subspan(3, kNameFieldSize)));
  absl::string_view message = UntilZero(packet.subspan(kChatHeaderSize));
  absl::string_view kept = CutUtf8(message, kMaxChatMessageBytes);
  chat.truncated = kept.size() < message.size();
  chat.message = std::string(kept);
  return chat;
}

std::vector<uint8_t> BuildChat(ChatKind kind, absl::string_view name,
                               absl::string_view message) {
  message = CutUtf8(message, kMaxChatMessageBytes);
  std::vector<uint8_t> p(kChatHeaderSize + message.size() + 1, 0);
  p[0] = 0xC1;
  p[1] = static_cast<uint8_t>(p.size());
  p[2] = static_cast<uint8_t>(kind);
  std::copy_n(name.begin(), std::min(name.size(), kNameFieldSize),
              p.begin() + 3);
  std::copy(message.begin(), message.end(), p.begin() + kChatHeaderSize);
  return p;
}

absl::StatusOr<uint8_t> ParseLogout(absl::Span<const uint8_t> packet) {
  if (packet.size() != 5 || packet[1] != 5 || packet[2] != kCodeAccount ||
      packet[3] != kSubLogout) {
    return absl::InvalidArgumentError("logout: not a 5-byte F1 02 packet");
  }
  if (packet[4] > kLogoutServerSelect) {
    return absl::InvalidArgumentError(
        absl::StrCat("logout: unknown type ", packet[4]));
  }
  return packet[4];
}

std::array<uint8_t, 5> BuildLogoutAnswer(uint8_t type) {
  return {0xC3, 0x05, kCodeAccount, kSubLogout, type};
}

absl::StatusOr<uint8_t> ParseCharacterListRequest(
    absl::Span<const uint8_t> packet) {
  if (packet.size() != 5 || packet[1] != 5 || packet[2] != kCodeCharacter ||
      packet[3] != kSubCharacterList) {
    return absl::InvalidArgumentError(
        "character list: not a 5-byte F3 00 packet");
  }
  return packet[4];
}

std::array<uint8_t, 8> BuildEmptyCharacterList() {
  return {0xC1, 0x08, kCodeCharacter, kSubCharacterList, 0, 0, 0, 0};
}

}  // namespace muwarden::game
