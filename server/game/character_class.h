// The character classes of the Season 6 client and what a new character of
// each starts with (PROTOCOL.md 5.2, 5.3: map, spawn area, stats), the
// appearance bytes of a character wearing nothing, the experience table and
// the name rule. Pure functions over constant tables; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_CHARACTER_CLASS_H_
#define MUWARDEN_SERVER_GAME_CHARACTER_CLASS_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/game/account/character_store.h"

namespace muwarden::game {

// Class numbers, the order of the create packet's class byte (>> 4).
inline constexpr uint8_t kDarkWizard = 0;
inline constexpr uint8_t kDarkKnight = 1;
inline constexpr uint8_t kFairyElf = 2;
inline constexpr uint8_t kMagicGladiator = 3;
inline constexpr uint8_t kDarkLord = 4;
inline constexpr uint8_t kSummoner = 5;
inline constexpr uint8_t kRageFighter = 6;
inline constexpr uint8_t kClassCount = 7;

// The create screen's unlock flags: 1 Summoner, 2 Dark Lord, 4 Magic
// Gladiator, 8 Rage Fighter. Every class is open on this server.
inline constexpr uint8_t kUnlockAllClasses = 0x0F;

inline constexpr size_t kAppearanceSize = 18;
using Appearance = std::array<uint8_t, kAppearanceSize>;

struct SpawnArea {
  uint8_t map;
  uint8_t x1, x2, y1, y2;  // inclusive
};

// The spawn area of `class_number` (< kClassCount).
SpawnArea StartArea(uint8_t class_number);

// A level-1 character of the class, with the class's start stats and a
// position inside its spawn area picked from `random` (any value; the same
// value gives the same place). nullopt for an unknown class.
std::optional<CharacterRecord> NewCharacter(absl::string_view name,
                                            uint8_t class_number,
                                            uint32_t random);

// The appearance of `class_number` wearing nothing, standing:
// <class << 5> FF FF FF FF F3 00 00 00 F8 00 00 F0 FF FF FF 00 00.
Appearance NakedAppearance(uint8_t class_number);

// Experience needed for level + 1: 10 * (L + 8) * (L - 1)^2 with L = level + 1
// (level 1 -> 100).
uint64_t NextLevelExperience(uint16_t level);

// ^[A-Za-z0-9]{3,10}$: InvalidArgument naming the rule otherwise.
absl::Status ValidateCharacterName(absl::string_view name);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_CHARACTER_CLASS_H_
