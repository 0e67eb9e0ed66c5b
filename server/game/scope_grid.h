// ScopeGrid: which ids stand within a Chebyshev distance of a tile, for the
// view queries of GameMap. The 256 x 256 tiles are cut into square cells of
// kCellSize tiles that each list the ids (and tiles) standing in them, so a
// query visits only the cells its square overlaps: the players near a move,
// not every player on the map. Cells are allocated at the first insert, so an
// empty map costs no memory. Not thread-safe (GameMap holds its mutex).
#ifndef MUWARDEN_SERVER_GAME_SCOPE_GRID_H_
#define MUWARDEN_SERVER_GAME_SCOPE_GRID_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace muwarden::game {

class ScopeGrid {
 public:
  // 8 tiles: a view_range of 12 covers 4 x 4 cells, about 1.6 times the tiles
  // of the view square itself.
  static constexpr int kCellSize = 8;
  static constexpr int kCellsPerSide = 256 / kCellSize;

  ScopeGrid() = default;
  ScopeGrid(const ScopeGrid&) = delete;
  ScopeGrid& operator=(const ScopeGrid&) = delete;

  // Adds `id` at (x, y). The caller keeps each id in the grid at most once.
  void Insert(uint16_t id, uint8_t x, uint8_t y);
  // Removes `id`, which stands at (x, y) as last inserted or moved; false
  // when it is not there.
  bool Remove(uint16_t id, uint8_t x, uint8_t y);
  // Moves `id` from (from_x, from_y) to (to_x, to_y); false when it is not
  // at the former.
  bool Move(uint16_t id, uint8_t from_x, uint8_t from_y, uint8_t to_x,
            uint8_t to_y);

  // Calls fn(id) for every id whose tile is within Chebyshev distance `range`
  // of (x, y) (the square max(|dx|, |dy|) <= range), in no particular order.
  // fn must not change the grid.
  template <typename Fn>
  void ForEachInRange(uint8_t x, uint8_t y, int range, Fn&& fn) const {
    if (cells_.empty() || range < 0) return;
    const int x0 = std::max(0, int{x} - range) / kCellSize;
    const int x1 = std::min(255, int{x} + range) / kCellSize;
    const int y0 = std::max(0, int{y} - range) / kCellSize;
    const int y1 = std::min(255, int{y} + range) / kCellSize;
    for (int cy = y0; cy <= y1; ++cy) {
      for (int cx = x0; cx <= x1; ++cx) {
        for (const Entry& e :
             cells_[static_cast<size_t>(cy * kCellsPerSide + cx)]) {
          if (std::abs(int{e.x} - int{x}) <= range &&
              std::abs(int{e.y} - int{y}) <= range) {
            fn(e.id);
          }
        }
      }
    }
  }

  size_t size() const { return size_; }

 private:
  struct Entry {
    uint16_t id;
    uint8_t x, y;
  };

  static size_t CellOf(uint8_t x, uint8_t y) {
    return static_cast<size_t>((y / kCellSize) * kCellsPerSide + x / kCellSize);
  }
  // The entry of `id` at (x, y), or nullptr.
  Entry* Find(uint16_t id, uint8_t x, uint8_t y);

  // Empty until the first insert; then kCellsPerSide^2 cells. Every entry is
  // a player on the map, so the caller's own bound on players bounds them.
  std::vector<std::vector<Entry>> cells_;
  size_t size_ = 0;
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_SCOPE_GRID_H_
