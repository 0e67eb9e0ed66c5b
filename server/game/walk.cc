#include "server/game/walk.h"

#include <algorithm>
#include <cstdlib>

namespace muwarden::game {

std::optional<std::pair<int, int>> DirectionDelta(uint8_t direction) {
  static constexpr std::pair<int, int> kDeltas[8] = {
      {-1, -1}, {0, -1}, {1, -1}, {1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}};
  if (direction >= 8) return std::nullopt;
  return kDeltas[direction];
}

int TileDistance(Point a, Point b) {
  return std::max(std::abs(int{a.x} - int{b.x}), std::abs(int{a.y} - int{b.y}));
}

std::optional<Point> CheckWalk(const WalkRequest& walk, Point server,
                               const WalkLimits& limits) {
  if (static_cast<int>(walk.directions.size()) > limits.max_steps) {
    return std::nullopt;
  }
  if (TileDistance(Point{walk.x, walk.y}, server) > limits.tolerance) {
    return std::nullopt;
  }
  int x = walk.x;
  int y = walk.y;
  for (uint8_t d : walk.directions) {
    auto delta = DirectionDelta(d);
    if (!delta.has_value()) return std::nullopt;
    x += delta->first;
    y += delta->second;
    if (x < 0 || x > 255 || y < 0 || y > 255) return std::nullopt;
  }
  return Point{static_cast<uint8_t>(x), static_cast<uint8_t>(y)};
}

}  // namespace muwarden::game
