#include "server/game/world_packets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/game/game_packets.h"

namespace muwarden::game {
namespace {

// A C1 packet of exactly `size` bytes with `code` (and `sub` when >= 0).
bool IsC1(absl::Span<const uint8_t> p, size_t size, uint8_t code,
          int sub = -1) {
  if (p.size() != size || size < 3 || p[0] != 0xC1 || p[1] != size ||
      p[2] != code) {
    return false;
  }
  return sub < 0 || (size >= 4 && p[3] == sub);
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": wrong layout"));
}

void PutName(uint8_t* out, absl::string_view name) {
  std::fill_n(out, kNameFieldSize, 0);
  std::copy_n(name.begin(), std::min(name.size(), kNameFieldSize), out);
}

void PutU16LE(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v);
  out[1] = static_cast<uint8_t>(v >> 8);
}
void PutU16BE(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}
void PutU64BE(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

}  // namespace

std::string NameField(absl::Span<const uint8_t> field) {
  const auto end = std::find(field.begin(), field.end(), 0);
  return std::string(field.begin(), end);
}

absl::StatusOr<CreateRequest> ParseCreate(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 15, kCodeCharacter, kSubCharacterCreate)) {
    return Malformed("create character");
  }
  CreateRequest r;
  r.name = NameField(p.subspan(4, kNameFieldSize));
  r.class_number = static_cast<uint8_t>(p[14] >> 4);
  return r;
}

absl::StatusOr<DeleteRequest> ParseDelete(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 24, kCodeCharacter, kSubCharacterDelete) &&
      !IsC1(p, 34, kCodeCharacter, kSubCharacterDelete)) {
    return Malformed("delete character");
  }
  DeleteRequest r;
  r.name = NameField(p.subspan(4, kNameFieldSize));
  r.security_code = NameField(p.subspan(14));
  return r;
}

absl::StatusOr<std::string> ParseSelect(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 14, kCodeCharacter, kSubCharacterSelect)) {
    return Malformed("select character");
  }
  return NameField(p.subspan(4, kNameFieldSize));
}

absl::StatusOr<WalkRequest> ParseWalk(absl::Span<const uint8_t> p) {
  if (p.size() < 6 || p[0] != 0xC1 || p[1] != p.size() || p[2] != kCodeWalk) {
    return Malformed("walk");
  }
  const size_t n = p[5] & 0x0F;
  if (p.size() != 6 + (n + 1) / 2) return Malformed("walk");
  WalkRequest r;
  r.x = p[3];
  r.y = p[4];
  r.rotation = static_cast<uint8_t>(p[5] >> 4);
  r.directions.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = p[6 + i / 2];
    r.directions.push_back(i % 2 == 0 ? b >> 4 : b & 0x0F);
  }
  return r;
}

absl::StatusOr<Point> ParseInstantMove(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 5, kCodeInstantMove)) return Malformed("instant move");
  return Point{p[3], p[4]};
}

absl::StatusOr<RotationRequest> ParseRotation(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 5, kCodeRotation)) return Malformed("rotation");
  return RotationRequest{p[3], p[4]};
}

absl::Status ParseQuestStateRequest(absl::Span<const uint8_t> p) {
  if (!IsC1(p, 4, kCodeQuestEx, kSubQuestEx)) return Malformed("quest state");
  return absl::OkStatus();
}

std::vector<uint8_t> BuildCharacterList(
    uint8_t unlock_flags, absl::Span<const CharacterRecord> characters) {
  const size_t n = std::min<size_t>(characters.size(), kMaxCharacterSlots);
  std::vector<uint8_t> p(8 + kCharacterListEntrySize * n, 0);
  p[0] = 0xC1;
  p[1] = static_cast<uint8_t>(p.size());
  p[2] = kCodeCharacter;
  p[3] = kSubCharacterList;
  p[4] = unlock_flags;
  p[5] = 0;  // move count
  p[6] = static_cast<uint8_t>(n);
  p[7] = 0;  // vault extended
  for (size_t i = 0; i < n; ++i) {
    const CharacterRecord& c = characters[i];
    uint8_t* e = p.data() + 8 + kCharacterListEntrySize * i;
    e[0] = static_cast<uint8_t>(c.slot);
    PutName(e + 1, c.name);
    e[11] = 0;
    PutU16LE(e + 12, c.level);
    e[14] = c.status;
    const Appearance a = NakedAppearance(c.class_number);
    std::copy(a.begin(), a.end(), e + 15);
    e[33] = 0xFF;  // no guild
  }
  return p;
}

std::vector<uint8_t> BuildCreateOk(const CharacterRecord& c) {
  std::vector<uint8_t> p(0x2A, 0xFF);
  p[0] = 0xC1;
  p[1] = 0x2A;
  p[2] = kCodeCharacter;
  p[3] = kSubCharacterCreate;
  p[4] = 1;
  PutName(p.data() + 5, c.name);
  p[15] = static_cast<uint8_t>(c.slot);
  PutU16LE(p.data() + 16, c.level);
  p[18] = static_cast<uint8_t>(c.class_number << 5);
  p[19] = 0;
  return p;
}

std::array<uint8_t, 5> BuildCreateFailed(uint8_t result) {
  return {0xC1, 0x05, kCodeCharacter, kSubCharacterCreate, result};
}

std::array<uint8_t, 5> BuildDeleteAnswer(uint8_t result) {
  return {0xC1, 0x05, kCodeCharacter, kSubCharacterDelete, result};
}

std::array<uint8_t, kCharacterInformationSize> BuildCharacterInformation(
    const CharacterRecord& c) {
  std::array<uint8_t, kCharacterInformationSize> p{};
  p[0] = 0xC3;
  p[1] = static_cast<uint8_t>(kCharacterInformationSize);
  p[2] = kCodeCharacter;
  p[3] = kSubCharacterSelect;
  p[4] = c.x;
  p[5] = c.y;
  p[6] = c.map;
  p[7] = c.direction;
  PutU64BE(&p[8], c.experience);
  PutU64BE(&p[16], NextLevelExperience(c.level));
  PutU16LE(&p[24], c.level_up_points);
  PutU16LE(&p[26], c.strength);
  PutU16LE(&p[28], c.agility);
  PutU16LE(&p[30], c.vitality);
  PutU16LE(&p[32], c.energy);
  PutU16LE(&p[34], c.health);
  PutU16LE(&p[36], c.max_health);
  PutU16LE(&p[38], c.mana);
  PutU16LE(&p[40], c.max_mana);
  // Shield and ability (42..49) stay 0: this server has no combat yet.
  p[52] = static_cast<uint8_t>(c.zen);
  p[53] = static_cast<uint8_t>(c.zen >> 8);
  p[54] = static_cast<uint8_t>(c.zen >> 16);
  p[55] = static_cast<uint8_t>(c.zen >> 24);
  p[56] = 0;  // hero state: new
  p[57] = c.status;
  PutU16LE(&p[62], c.leadership);
  return p;
}

std::array<uint8_t, 6> BuildEmptyInventory() {
  return {0xC4, 0x00, 0x06, kCodeCharacter, kSubInventory, 0x00};
}

std::array<uint8_t, 6> BuildEmptySkillList() {
  return {0xC1, 0x06, kCodeCharacter, kSubSkillList, 0x00, 0x00};
}

std::array<uint8_t, 6> BuildQuestStates(uint8_t class_number) {
  return {0xC1, 0x06, kCodeQuest, 0x07,
          static_cast<uint8_t>(class_number == kDarkKnight ? 0xFF : 0x3F),
          0x3F};
}

std::array<uint8_t, 5> BuildQuestStateAnswer() {
  return {0xC1, 0x05, kCodeQuestEx, kSubQuestEx, 0x00};
}

std::vector<uint8_t> BuildScopeAdd(absl::Span<const ScopeEntry> entries) {
  const size_t n = std::min(entries.size(), kMaxScopeAddEntries);
  std::vector<uint8_t> p(5 + kScopeEntrySize * n, 0);
  p[0] = 0xC2;
  PutU16BE(&p[1], static_cast<uint16_t>(p.size()));
  p[3] = kCodeScopeAdd;
  p[4] = static_cast<uint8_t>(n);
  for (size_t i = 0; i < n; ++i) {
    const ScopeEntry& s = entries[i];
    uint8_t* e = p.data() + 5 + kScopeEntrySize * i;
    PutU16BE(e, s.id);
    e[2] = s.x;
    e[3] = s.y;
    std::copy(s.appearance.begin(), s.appearance.end(), e + 4);
    PutName(e + 22, s.name);
    e[32] = s.target_x;
    e[33] = s.target_y;
    e[34] = static_cast<uint8_t>((s.rotation & 0x07) << 4 |
                                 (s.hero_state & 0x0F));
    e[35] = 0;  // effects
  }
  return p;
}

std::vector<uint8_t> BuildScopeRemove(absl::Span<const uint16_t> ids) {
  const size_t n = std::min(ids.size(), kMaxScopeRemoveIds);
  std::vector<uint8_t> p(4 + 2 * n, 0);
  p[0] = 0xC1;
  p[1] = static_cast<uint8_t>(p.size());
  p[2] = kCodeScopeRemove;
  p[3] = static_cast<uint8_t>(n);
  for (size_t i = 0; i < n; ++i) PutU16BE(&p[4 + 2 * i], ids[i]);
  return p;
}

std::array<uint8_t, 8> BuildWalk(uint16_t id, uint8_t x, uint8_t y,
                                 uint8_t rotation) {
  return {0xC1,
          0x08,
          kCodeWalk,
          static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id),
          x,
          y,
          static_cast<uint8_t>((rotation & 0x07) << 4)};
}

std::array<uint8_t, 8> BuildInstantMove(uint16_t id, uint8_t x, uint8_t y) {
  return {0xC1, 0x08, kCodeInstantMove, static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id), x, y, 0x00};
}

std::array<uint8_t, 9> BuildRotation(uint16_t id, uint8_t direction,
                                     uint8_t animation, uint16_t target) {
  return {0xC1,
          0x09,
          kCodeRotation,
          static_cast<uint8_t>(id >> 8),
          static_cast<uint8_t>(id),
          direction,
          animation,
          static_cast<uint8_t>(target >> 8),
          static_cast<uint8_t>(target)};
}

}  // namespace muwarden::game
