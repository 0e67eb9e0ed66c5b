#include "server/game/join.h"

namespace muwarden::game {

std::array<uint8_t, 12> BuildJoin(uint16_t player_id,
                                  absl::string_view version) {
  std::array<uint8_t, 12> p = {0xC1, 0x0C, 0xF1, 0x00, 0x01};
  p[5] = static_cast<uint8_t>(player_id >> 8);
  p[6] = static_cast<uint8_t>(player_id & 0xFF);
  // Settings guarantee 5 characters; a shorter text is zero-padded rather than
  // overread.
  for (size_t i = 0; i < 5; ++i) {
    p[7 + i] = i < version.size() ? static_cast<uint8_t>(version[i]) : 0;
  }
  return p;
}

}  // namespace muwarden::game
