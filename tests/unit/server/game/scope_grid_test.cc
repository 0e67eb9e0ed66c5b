#include "server/game/scope_grid.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace muwarden::game {
namespace {

std::vector<uint16_t> InRange(const ScopeGrid& grid, uint8_t x, uint8_t y,
                              int range) {
  std::vector<uint16_t> out;
  grid.ForEachInRange(x, y, range, [&](uint16_t id) { out.push_back(id); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ScopeGridTest, EmptyGridFindsNothing) {
  ScopeGrid grid;
  EXPECT_TRUE(InRange(grid, 100, 100, 12).empty());
  EXPECT_EQ(grid.size(), 0u);
  EXPECT_FALSE(grid.Remove(1, 100, 100));
  EXPECT_FALSE(grid.Move(1, 100, 100, 101, 100));
}

TEST(ScopeGridTest, RangeIsTheChebyshevSquareAcrossCells) {
  ScopeGrid grid;
  grid.Insert(1, 100, 100);
  grid.Insert(2, 112, 88);   // 12 away diagonally: in
  grid.Insert(3, 113, 100);  // 13 in x: out
  grid.Insert(4, 100, 87);   // 13 in y: out
  grid.Insert(5, 88, 112);   // 12 the other way, another cell: in
  EXPECT_EQ(InRange(grid, 100, 100, 12), (std::vector<uint16_t>{1, 2, 5}));
  EXPECT_EQ(InRange(grid, 100, 100, 0), (std::vector<uint16_t>{1}));
  EXPECT_EQ(grid.size(), 5u);
}

TEST(ScopeGridTest, EdgesOfTheMapAreClamped) {
  ScopeGrid grid;
  grid.Insert(1, 0, 0);
  grid.Insert(2, 255, 255);
  grid.Insert(3, 0, 255);
  EXPECT_EQ(InRange(grid, 0, 0, 12), (std::vector<uint16_t>{1}));
  EXPECT_EQ(InRange(grid, 250, 250, 12), (std::vector<uint16_t>{2}));
  EXPECT_EQ(InRange(grid, 128, 128, 255), (std::vector<uint16_t>{1, 2, 3}));
}

TEST(ScopeGridTest, MoveWithinAndAcrossCellsAndRemove) {
  ScopeGrid grid;
  grid.Insert(7, 100, 100);
  ASSERT_TRUE(grid.Move(7, 100, 100, 101, 100));  // same cell
  EXPECT_EQ(InRange(grid, 113, 100, 12), (std::vector<uint16_t>{7}));
  EXPECT_FALSE(grid.Move(7, 100, 100, 102, 100));  // not where it stands
  ASSERT_TRUE(grid.Move(7, 101, 100, 140, 140));   // another cell
  EXPECT_TRUE(InRange(grid, 101, 100, 12).empty());
  EXPECT_EQ(InRange(grid, 140, 140, 0), (std::vector<uint16_t>{7}));
  EXPECT_EQ(grid.size(), 1u);
  EXPECT_FALSE(grid.Remove(7, 101, 100));
  EXPECT_TRUE(grid.Remove(7, 140, 140));
  EXPECT_EQ(grid.size(), 0u);
  EXPECT_TRUE(InRange(grid, 140, 140, 12).empty());
}

TEST(ScopeGridTest, AgreesWithAFullScanUnderRandomMoves) {
  std::mt19937 rng(15);
  std::uniform_int_distribution<int> tile(0, 255), step(-3, 3), pick(0, 299);
  struct P {
    uint8_t x, y;
  };
  std::vector<P> players(300);
  ScopeGrid grid;
  for (size_t i = 0; i < players.size(); ++i) {
    players[i] = {static_cast<uint8_t>(tile(rng)),
                  static_cast<uint8_t>(tile(rng))};
    grid.Insert(static_cast<uint16_t>(i), players[i].x, players[i].y);
  }
  for (int round = 0; round < 2000; ++round) {
    const size_t i = static_cast<size_t>(pick(rng));
    P& p = players[i];
    const uint8_t nx =
        static_cast<uint8_t>(std::clamp(p.x + step(rng), 0, 255));
    const uint8_t ny =
        static_cast<uint8_t>(std::clamp(p.y + step(rng), 0, 255));
    ASSERT_TRUE(grid.Move(static_cast<uint16_t>(i), p.x, p.y, nx, ny));
    p = {nx, ny};
    const int range = round % 20;
    std::vector<uint16_t> want;
    for (size_t j = 0; j < players.size(); ++j) {
      if (std::max(std::abs(players[j].x - p.x),
                   std::abs(players[j].y - p.y)) <= range) {
        want.push_back(static_cast<uint16_t>(j));
      }
    }
    ASSERT_EQ(InRange(grid, p.x, p.y, range), want) << "round " << round;
  }
  EXPECT_EQ(grid.size(), players.size());
}

}  // namespace
}  // namespace muwarden::game
