#include "server/game/scope_grid.h"

namespace muwarden::game {

ScopeGrid::Entry* ScopeGrid::Find(uint16_t id, uint8_t x, uint8_t y) {
  if (cells_.empty()) return nullptr;
  for (Entry& e : cells_[CellOf(x, y)]) {
    if (e.id == id && e.x == x && e.y == y) return &e;
  }
  return nullptr;
}

void ScopeGrid::Insert(uint16_t id, uint8_t x, uint8_t y) {
  if (cells_.empty()) {
    cells_.resize(static_cast<size_t>(kCellsPerSide) * kCellsPerSide);
  }
  cells_[CellOf(x, y)].push_back(Entry{id, x, y});
  ++size_;
}

bool ScopeGrid::Remove(uint16_t id, uint8_t x, uint8_t y) {
  Entry* e = Find(id, x, y);
  if (e == nullptr) return false;
  std::vector<Entry>& entries = cells_[CellOf(x, y)];
  *e = entries.back();  // order within a cell does not matter
  entries.pop_back();
  --size_;
  return true;
}

bool ScopeGrid::Move(uint16_t id, uint8_t from_x, uint8_t from_y, uint8_t to_x,
                     uint8_t to_y) {
  Entry* e = Find(id, from_x, from_y);
  if (e == nullptr) return false;
  if (CellOf(to_x, to_y) == CellOf(from_x, from_y)) {
    e->x = to_x;
    e->y = to_y;
    return true;
  }
  Remove(id, from_x, from_y);
  Insert(id, to_x, to_y);
  return true;
}

}  // namespace muwarden::game
