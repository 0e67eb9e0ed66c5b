// The server-side check of a walk request (PROTOCOL.md 5.4): the start must be
// within walk_tolerance tiles (Chebyshev) of where the server has the player,
// at most max_walk_steps steps, each a known direction, every tile inside
// 0..255. Terrain is not checked (the server has no map attributes yet). Pure;
// thread-safe.
#ifndef MUWARDEN_SERVER_GAME_WALK_H_
#define MUWARDEN_SERVER_GAME_WALK_H_

#include <optional>

#include "server/game/world_packets.h"

namespace muwarden::game {

struct WalkLimits {
  int max_steps = 15;
  int tolerance = 5;
};

// The (dx, dy) of wire direction 0..7; nullopt for 8..15.
std::optional<std::pair<int, int>> DirectionDelta(uint8_t direction);

// Chebyshev distance between two tiles.
int TileDistance(Point a, Point b);

// The walk's target when it is allowed; nullopt when the client must be put
// back where the server has it.
std::optional<Point> CheckWalk(const WalkRequest& walk, Point server,
                               const WalkLimits& limits);

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_WALK_H_
