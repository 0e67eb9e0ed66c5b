#include "server/game/character_class.h"

#include "absl/strings/ascii.h"

namespace muwarden::game {
namespace {

struct ClassStart {
  SpawnArea area;
  uint16_t strength, agility, vitality, energy, leadership;
  uint16_t max_health, max_mana;
};

constexpr SpawnArea kLorencia{0, 133, 151, 118, 135};
constexpr SpawnArea kNoria{3, 171, 177, 108, 117};
constexpr SpawnArea kElbeland{51, 51, 54, 224, 227};

// PROTOCOL.md 5.3, the reference server's start data.
constexpr ClassStart kStarts[kClassCount] = {
    {kLorencia, 18, 18, 15, 30, 0, 60, 60},    // Dark Wizard
    {kLorencia, 28, 20, 25, 10, 0, 110, 20},   // Dark Knight
    {kNoria, 22, 25, 20, 15, 0, 80, 30},       // Fairy Elf
    {kLorencia, 26, 26, 26, 26, 0, 110, 60},   // Magic Gladiator
    {kLorencia, 26, 20, 20, 15, 25, 90, 40},   // Dark Lord
    {kElbeland, 21, 21, 18, 23, 0, 70, 40},    // Summoner
    {kLorencia, 32, 27, 25, 20, 0, 100, 40},   // Rage Fighter
};

constexpr size_t kMinNameLength = 3;
constexpr size_t kMaxNameLength = 10;

}  // namespace

SpawnArea StartArea(uint8_t class_number) {
  return kStarts[class_number < kClassCount ? class_number : 0].area;
}

std::optional<CharacterRecord> NewCharacter(absl::string_view name,
                                            uint8_t class_number,
                                            uint32_t random) {
  if (class_number >= kClassCount) return std::nullopt;
  const ClassStart& s = kStarts[class_number];
  CharacterRecord c;
  c.name = std::string(name);
  c.class_number = class_number;
  c.level = 1;
  c.strength = s.strength;
  c.agility = s.agility;
  c.vitality = s.vitality;
  c.energy = s.energy;
  c.leadership = s.leadership;
  c.health = c.max_health = s.max_health;
  c.mana = c.max_mana = s.max_mana;
  c.map = s.area.map;
  const uint32_t width = uint32_t{s.area.x2} - s.area.x1 + 1;
  const uint32_t height = uint32_t{s.area.y2} - s.area.y1 + 1;
  c.x = static_cast<uint8_t>(s.area.x1 + random % width);
  c.y = static_cast<uint8_t>(s.area.y1 + (random / width) % height);
  c.direction = 0;
  return c;
}

Appearance NakedAppearance(uint8_t class_number) {
  return {static_cast<uint8_t>(class_number << 5),
          0xFF, 0xFF, 0xFF, 0xFF, 0xF3, 0x00, 0x00, 0x00,
          0xF8, 0x00, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, 0x00, 0x00};
}

uint64_t NextLevelExperience(uint16_t level) {
  const uint64_t l = uint64_t{level} + 1;
  return 10 * (l + 8) * (l - 1) * (l - 1);
}

absl::Status ValidateCharacterName(absl::string_view name) {
  if (name.size() < kMinNameLength || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        "character name must be 3 to 10 characters");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "character name may hold only A-Z, a-z and 0-9");
    }
  }
  return absl::OkStatus();
}

}  // namespace muwarden::game
