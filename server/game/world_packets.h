// The world packets of PROTOCOL.md section 5 (character list, create, delete,
// select and what entering sends, walk, instant move, rotation, scope), parsed
// from decrypted client bytes with exact length checks and built for sending.
// Every parser answers kInvalidArgument for a packet whose length, header or
// code is not exactly the layout's. Pure functions; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_WORLD_PACKETS_H_
#define MUWARDEN_SERVER_GAME_WORLD_PACKETS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/game/account/character_store.h"
#include "server/game/character_class.h"

namespace muwarden::game {

inline constexpr uint8_t kSubCharacterCreate = 0x01;
inline constexpr uint8_t kSubCharacterDelete = 0x02;
inline constexpr uint8_t kSubCharacterSelect = 0x03;
inline constexpr uint8_t kSubInventory = 0x10;
inline constexpr uint8_t kSubSkillList = 0x11;
inline constexpr uint8_t kCodeWalk = 0xD4;
inline constexpr uint8_t kCodeInstantMove = 0x15;
inline constexpr uint8_t kCodeRotation = 0x18;
inline constexpr uint8_t kCodeScopeAdd = 0x12;
inline constexpr uint8_t kCodeScopeRemove = 0x14;
inline constexpr uint8_t kCodeQuest = 0xA0;
inline constexpr uint8_t kCodeQuestEx = 0xF6;
inline constexpr uint8_t kSubQuestEx = 0x1A;

// Create answers (C1 05 F3 01 <result>) and delete answers (C1 05 F3 02).
inline constexpr uint8_t kCreateFailed = 0;
inline constexpr uint8_t kCreateNameTaken = 2;  // "second message"
inline constexpr uint8_t kDeleteFailed = 0;
inline constexpr uint8_t kDeleteOk = 1;
inline constexpr uint8_t kDeleteWrongCode = 2;

inline constexpr size_t kCharacterListEntrySize = 34;
inline constexpr size_t kCharacterInformationSize = 72;
inline constexpr size_t kScopeEntrySize = 36;
// How many entries one packet carries: C1 14 has a one-byte length
// (4 + 2n <= 255); C2 12 fits far more than a view ever holds.
inline constexpr size_t kMaxScopeRemoveIds = 125;
inline constexpr size_t kMaxScopeAddEntries = 1000;
// The object ids the client knows (bit 15 marks "just appeared").
inline constexpr uint16_t kMaxObjectId = 0x7FFF;
inline constexpr uint16_t kJustAppeared = 0x8000;

struct CreateRequest {
  std::string name;  // cut at the first 0
  uint8_t class_number = 0;  // class byte >> 4 (may be >= kClassCount)
};
struct DeleteRequest {
  std::string name;
  std::string security_code;  // cut at the first 0
};
struct WalkRequest {
  uint8_t x = 0, y = 0;
  uint8_t rotation = 0;             // 0..15 as sent
  std::vector<uint8_t> directions;  // 0..15 each as sent, at most 15
};

// C1 0F F3 01 <name 10> <class>.
absl::StatusOr<CreateRequest> ParseCreate(absl::Span<const uint8_t> packet);
// C1 18|22 F3 02 <name 10> <code 10|20>.
absl::StatusOr<DeleteRequest> ParseDelete(absl::Span<const uint8_t> packet);
// C1 0E F3 03 <name 10>.
absl::StatusOr<std::string> ParseSelect(absl::Span<const uint8_t> packet);
// C1 <6 + ceil(n/2)> D4 <x> <y> <rotation << 4 | n> <directions>.
absl::StatusOr<WalkRequest> ParseWalk(absl::Span<const uint8_t> packet);
struct Point {
  uint8_t x = 0, y = 0;
};
// C1 05 15 <x> <y>.
absl::StatusOr<Point> ParseInstantMove(absl::Span<const uint8_t> packet);
struct RotationRequest {
  uint8_t direction = 0, animation = 0;
};
// C1 05 18 <direction> <animation>.
absl::StatusOr<RotationRequest> ParseRotation(
    absl::Span<const uint8_t> packet);
// C1 04 F6 1A.
absl::Status ParseQuestStateRequest(absl::Span<const uint8_t> packet);

// C1 <8 + 34n> F3 00 <unlock> 00 <n> 00 <entries ordered as given>.
std::vector<uint8_t> BuildCharacterList(
    uint8_t unlock_flags, absl::Span<const CharacterRecord> characters);
// C1 2A F3 01 01 <name 10> <slot> <level LE> <class << 5> 00 <22 x FF>.
std::vector<uint8_t> BuildCreateOk(const CharacterRecord& character);
std::array<uint8_t, 5> BuildCreateFailed(uint8_t result);
std::array<uint8_t, 5> BuildDeleteAnswer(uint8_t result);
// The plain C3 48 F3 03 CharacterInformation, to be encrypted.
std::array<uint8_t, kCharacterInformationSize> BuildCharacterInformation(
    const CharacterRecord& character);
// The plain C4 00 06 F3 10 00 (no items), to be encrypted.
std::array<uint8_t, 6> BuildEmptyInventory();
std::array<uint8_t, 6> BuildEmptySkillList();
// C1 06 A0 07 3F 3F (Dark Knight: FF 3F).
std::array<uint8_t, 6> BuildQuestStates(uint8_t class_number);
// C1 05 F6 1A 00.
std::array<uint8_t, 5> BuildQuestStateAnswer();

struct ScopeEntry {
  uint16_t id = 0;  // bit 15 set by the caller for "just appeared"
  uint8_t x = 0, y = 0;
  Appearance appearance{};
  std::string name;
  uint8_t target_x = 0, target_y = 0;
  uint8_t rotation = 0;  // 0..7
  uint8_t hero_state = 0;
};
// C2 <len BE> 12 <n> <36 bytes each>; at most kMaxScopeAddEntries.
std::vector<uint8_t> BuildScopeAdd(absl::Span<const ScopeEntry> entries);
// C1 <4 + 2n> 14 <n> <ids BE>; at most kMaxScopeRemoveIds.
std::vector<uint8_t> BuildScopeRemove(absl::Span<const uint16_t> ids);
// C1 08 D4 <id BE> <x> <y> <rotation << 4>.
std::array<uint8_t, 8> BuildWalk(uint16_t id, uint8_t x, uint8_t y,
                                 uint8_t rotation);
// C1 08 15 <id BE> <x> <y> 00.
std::array<uint8_t, 8> BuildInstantMove(uint16_t id, uint8_t x, uint8_t y);
// C1 09 18 <id BE> <direction> <animation> <target id BE>.
std::array<uint8_t, 9> BuildRotation(uint16_t id, uint8_t direction,
                                     uint8_t animation, uint16_t target);

// A name field: the bytes up to the first 0.
std::string NameField(absl::Span<const uint8_t> field);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_WORLD_PACKETS_H_
