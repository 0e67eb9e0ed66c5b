// The GameServer's join packet (PROTOCOL.md section 3): sent on accept with the
// player id and the client version from settings. Pure; thread-safe.
#ifndef MUWARDEN_SERVER_GAME_JOIN_H_
#define MUWARDEN_SERVER_GAME_JOIN_H_

#include <array>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace muwarden::game {

// C1 0C F1 00 01 <player id BE u16> <version: 5 ASCII bytes>.
std::array<uint8_t, 12> BuildJoin(uint16_t player_id,
                                  absl::string_view version);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_JOIN_H_
