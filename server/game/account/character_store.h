// CharacterStore: the repository of the account database's characters (list
// by account, create in the lowest free slot under a per-account cap and a
// server-wide unique name, delete, read one, save its position), whatever
// database holds them; the game code uses only this interface, so a
// PostgreSQL backend can sit beside SQLite. Implementations are thread-safe.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_CHARACTER_STORE_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_CHARACTER_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace muwarden::game {

// Slots 0..kMaxCharacterSlots-1: the Season 6 selection screen has five.
inline constexpr int kMaxCharacterSlots = 5;

// One character as stored. Values are what the wire carries (PROTOCOL.md 5.3).
struct CharacterRecord {
  std::string name;
  std::string account;  // set by the store on reads
  int slot = 0;
  uint8_t class_number = 0;  // 0 Dark Wizard ... 6 Rage Fighter (PROTOCOL 5.1)
  uint16_t level = 1;
  uint64_t experience = 0;
  uint16_t level_up_points = 0;
  uint16_t strength = 0;
  uint16_t agility = 0;
  uint16_t vitality = 0;
  uint16_t energy = 0;
  uint16_t leadership = 0;
  uint16_t health = 0;
  uint16_t max_health = 0;
  uint16_t mana = 0;
  uint16_t max_mana = 0;
  uint32_t zen = 0;
  uint8_t map = 0;
  uint8_t x = 0;
  uint8_t y = 0;
  uint8_t direction = 0;
  uint8_t status = 0;  // 0 normal, 0x01 blocked, 0x20 game master
};

class CharacterStore {
 public:
  virtual ~CharacterStore() = default;

  // The account's characters ordered by slot.
  virtual absl::StatusOr<std::vector<CharacterRecord>> ListCharacters(
      absl::string_view account) = 0;
  // Stores `character` (its slot is ignored) in the account's lowest free
  // slot, atomically with the checks: kAlreadyExists when the name (any case)
  // is taken by anyone, kResourceExhausted when the account has
  // `max_characters` (or all slots). Returns the record as stored.
  virtual absl::StatusOr<CharacterRecord> CreateCharacter(
      absl::string_view account, const CharacterRecord& character,
      int max_characters) = 0;
  // kNotFound unless the account has a character of that name.
  virtual absl::Status DeleteCharacter(absl::string_view account,
                                       absl::string_view name) = 0;
  virtual absl::StatusOr<CharacterRecord> GetCharacter(
      absl::string_view account, absl::string_view name) = 0;
  // Durable (committed) when it returns OK.
  virtual absl::Status SavePosition(absl::string_view name, uint8_t map,
                                    uint8_t x, uint8_t y,
                                    uint8_t direction) = 0;
  // The account's security code for deleting characters; empty = none set
  // (then the account password is asked).
  virtual absl::StatusOr<std::string> SecurityCode(
      absl::string_view account) = 0;
  virtual absl::Status SetSecurityCode(absl::string_view account,
                                       absl::string_view code) = 0;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_CHARACTER_STORE_H_
