// World packets (exact layouts of PROTOCOL.md 5), walk checks, scope on one
// map, and the character rules.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>

#include "common/base/clock.h"
#include "gtest/gtest.h"
#include "server/game/character_class.h"
#include "server/game/game_map.h"
#include "server/game/walk.h"
#include "server/game/world.h"
#include "server/game/world_packets.h"
#include "tests/support/hex.h"

namespace muwarden::game {
namespace {

using Bytes = std::vector<uint8_t>;
using ::muwarden::testing::Hex;
using ::muwarden::testing::HexBytes;

template <typename T>
Bytes B(const T& packet) {
  return Bytes(packet.begin(), packet.end());
}
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& packet) {
  return Hex(B(packet));
}

TEST(WorldPacketsTest, CharacterListOfOneWizardMatchesTheProtocolExample) {
  CharacterRecord c = *NewCharacter("Wizard", kDarkWizard, 0);
  c.slot = 0;
  EXPECT_EQ(Hex(BuildCharacterList(0, {c})),
            "C1 2A F3 00 00 00 01 00 00 57 69 7A 61 72 64 00 00 00 00 00 01 "
            "00 00 00 FF FF FF FF F3 00 00 00 F8 00 00 F0 FF FF FF 00 00 FF");
  EXPECT_EQ(Hex(BuildCharacterList(kUnlockAllClasses, {})),
            "C1 08 F3 00 0F 00 00 00");
}

TEST(WorldPacketsTest, CreateParsesTheExampleAndRefusesOtherLengths) {
  auto r = ParseCreate(HexBytes("C1 0F F3 01 4B 6E 69 67 68 74 00 00 00 00 10"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "Knight");
  EXPECT_EQ(r->class_number, kDarkKnight);
  EXPECT_FALSE(ParseCreate(HexBytes("C1 0E F3 01 4B 6E 69 67 68 74 00 00 00 00")).ok());
  EXPECT_FALSE(ParseCreate(HexBytes("C1 10 F3 01 4B 6E 69 67 68 74 00 00 00 00 10 00")).ok());
  EXPECT_FALSE(ParseCreate(HexBytes("C1 0F F3 02 4B 6E 69 67 68 74 00 00 00 00 10")).ok());
}

TEST(WorldPacketsTest, CreateOkLayout) {
  CharacterRecord c = *NewCharacter("Knight", kDarkKnight, 0);
  c.slot = 2;
  EXPECT_EQ(Hex(BuildCreateOk(c)),
            "C1 2A F3 01 01 4B 6E 69 67 68 74 00 00 00 00 02 01 00 20 00 FF "
            "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF");
}

TEST(WorldPacketsTest, DeleteAndSelectHaveExactLengths) {
  Bytes del = HexBytes("C1 18 F3 02 41 62 63 00 00 00 00 00 00 00 31 32 33 00 00 00 00 00 00 00");
  auto d = ParseDelete(del);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->name, "Abc");
  EXPECT_EQ(d->security_code, "123");
  del.pop_back();
  del[1] = static_cast<uint8_t>(del.size());
  EXPECT_FALSE(ParseDelete(del).ok());
  auto s = ParseSelect(HexBytes("C1 0E F3 03 41 62 63 00 00 00 00 00 00 00"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "Abc");
  EXPECT_FALSE(ParseSelect(HexBytes("C1 0D F3 03 41 62 63 00 00 00 00 00 00")).ok());
}

TEST(WorldPacketsTest, WalkParsesTheExampleAndChecksItsLength) {
  auto w = ParseWalk(HexBytes("C1 07 D4 8C 7D 42 44"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->x, 0x8C);
  EXPECT_EQ(w->y, 0x7D);
  EXPECT_EQ(w->rotation, 4);
  EXPECT_EQ(w->directions, (std::vector<uint8_t>{4, 4}));
  EXPECT_TRUE(ParseWalk(HexBytes("C1 06 D4 8C 7D 30")).ok());  // turn only
  EXPECT_FALSE(ParseWalk(HexBytes("C1 06 D4 8C 7D 42")).ok());
  EXPECT_FALSE(ParseWalk(HexBytes("C1 08 D4 8C 7D 42 44 00")).ok());
  EXPECT_FALSE(ParseWalk(HexBytes("C1 05 D4 8C 7D")).ok());
  EXPECT_FALSE(ParseWalk(HexBytes("C1 07 D4 8C 7D 42")).ok());  // length lies
}

TEST(WorldPacketsTest, ServerMovePacketsMatchTheProtocol) {
  EXPECT_EQ(Hex(BuildWalk(0x0201, 0x8E, 0x7F, 4)), "C1 08 D4 02 01 8E 7F 40");
  EXPECT_EQ(Hex(BuildInstantMove(0x0201, 10, 20)), "C1 08 15 02 01 0A 14 00");
  EXPECT_EQ(Hex(BuildRotation(0x0201, 3, 1, 0)), "C1 09 18 02 01 03 01 00 00");
  EXPECT_TRUE(ParseInstantMove(HexBytes("C1 05 15 01 02")).ok());
  EXPECT_FALSE(ParseInstantMove(HexBytes("C1 04 15 01")).ok());
  EXPECT_TRUE(ParseRotation(HexBytes("C1 05 18 01 02")).ok());
  EXPECT_FALSE(ParseRotation(HexBytes("C1 06 18 01 02 03")).ok());
}

TEST(WorldPacketsTest, ScopeAddOfTheProtocolExample) {
  ScopeEntry e;
  e.id = 0x0201 | kJustAppeared;
  e.x = e.target_x = 0x8C;
  e.y = e.target_y = 0x7D;
  e.appearance = NakedAppearance(kDarkKnight);
  e.name = "Knight";
  e.rotation = 3;
  EXPECT_EQ(Hex(BuildScopeAdd({e})),
            "C2 00 29 12 01 82 01 8C 7D 20 FF FF FF FF F3 00 00 00 F8 00 00 "
            "F0 FF FF FF 00 00 4B 6E 69 67 68 74 00 00 00 00 8C 7D 30 00");
  EXPECT_EQ(Hex(BuildScopeRemove({0x0201, 0x0003})), "C1 08 14 02 02 01 00 03");
}

TEST(WorldPacketsTest, CharacterInformationFields) {
  CharacterRecord c = *NewCharacter("Lord", kDarkLord, 0);
  auto p = BuildCharacterInformation(c);
  EXPECT_EQ(Hex(Bytes(p.begin(), p.begin() + 4)), "C3 48 F3 03");
  EXPECT_EQ(p[4], 133);
  EXPECT_EQ(p[5], 118);
  EXPECT_EQ(p[6], 0);
  EXPECT_EQ(Hex(Bytes(p.begin() + 16, p.begin() + 24)),
            "00 00 00 00 00 00 00 64");
  EXPECT_EQ(p[26], 26);  // strength
  EXPECT_EQ(p[36], 90);  // max health
  EXPECT_EQ(p[40], 40);  // max mana
  EXPECT_EQ(p[62], 25);  // leadership
}

TEST(CharacterClassTest, NameRulesAndStartAreas) {
  EXPECT_TRUE(ValidateCharacterName("Abc").ok());
  EXPECT_TRUE(ValidateCharacterName("A123456789").ok());
  EXPECT_FALSE(ValidateCharacterName("Ab").ok());
  EXPECT_FALSE(ValidateCharacterName("A1234567890").ok());
  EXPECT_FALSE(ValidateCharacterName("Ab c").ok());
  EXPECT_FALSE(ValidateCharacterName("Ab_c").ok());
  EXPECT_FALSE(NewCharacter("Abc", 7, 0).has_value());
  for (uint32_t r : {0u, 1u, 17u, 1000u, 0xFFFFFFFFu}) {
    CharacterRecord elf = *NewCharacter("Elf", kFairyElf, r);
    EXPECT_EQ(elf.map, 3);
    EXPECT_GE(elf.x, 171);
    EXPECT_LE(elf.x, 177);
    EXPECT_GE(elf.y, 108);
    EXPECT_LE(elf.y, 117);
    CharacterRecord sum = *NewCharacter("Sum", kSummoner, r);
    EXPECT_EQ(sum.map, 51);
    EXPECT_GE(sum.x, 51);
    EXPECT_LE(sum.y, 227);
  }
  EXPECT_EQ(NextLevelExperience(1), 100u);
  EXPECT_EQ(NextLevelExperience(2), 10u * 11 * 4);
}

TEST(WalkTest, ChecksStartStepsAndBounds) {
  const WalkLimits limits{15, 5};
  WalkRequest w{140, 125, 4, {4, 4}};
  auto t = CheckWalk(w, Point{140, 125}, limits);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->x, 142);
  EXPECT_EQ(t->y, 127);
  // Within the tolerance of the server's position, and just beyond it.
  EXPECT_TRUE(CheckWalk(w, Point{145, 120}, limits).has_value());
  EXPECT_FALSE(CheckWalk(w, Point{146, 125}, limits).has_value());
  // Too many steps for the limit.
  WalkRequest longer{140, 125, 0, std::vector<uint8_t>(6, 3)};
  EXPECT_TRUE(CheckWalk(longer, Point{140, 125}, limits).has_value());
  EXPECT_FALSE(CheckWalk(longer, Point{140, 125}, WalkLimits{5, 5}).has_value());
  // Off the map, or an unknown direction.
  EXPECT_FALSE(CheckWalk(WalkRequest{0, 0, 0, {0}}, Point{0, 0}, limits));
  EXPECT_FALSE(CheckWalk(WalkRequest{255, 9, 0, {3}}, Point{255, 9}, limits));
  EXPECT_FALSE(CheckWalk(WalkRequest{9, 9, 0, {8}}, Point{9, 9}, limits));
}

class GameMapTest : public ::testing::Test {
 protected:
  std::shared_ptr<runtime::OutboundQueue> Queue() {
    return std::make_shared<runtime::OutboundQueue>(
        runtime::OutboundQueueConfig{}, clock_);
  }
  static ScopeEntry At(uint16_t id, uint8_t x, uint8_t y) {
    ScopeEntry e;
    e.id = id;
    e.x = e.target_x = x;
    e.y = e.target_y = y;
    e.name = "P" + std::to_string(id);
    return e;
  }
  static std::vector<Bytes> Take(runtime::OutboundQueue& q) {
    std::vector<Bytes> out;
    for (auto& m : q.TakeAll()) out.push_back(std::move(m));
    return out;
  }

  FakeClock clock_;
  ScopeCounters counters_;
  GameMap map_{0, 12, counters_};
};

TEST_F(GameMapTest, EnterShowsBothWaysWithTheJustAppearedBit) {
  auto qa = Queue(), qb = Queue(), qc = Queue();
  ASSERT_TRUE(map_.Enter(At(1, 100, 100), qa));
  auto a0 = Take(*qa);
  ASSERT_EQ(a0.size(), 1u);
  EXPECT_EQ(a0[0][4], 1);  // himself only
  EXPECT_EQ(Hex(Bytes(a0[0].begin() + 5, a0[0].begin() + 7)), "80 01");
  ASSERT_TRUE(map_.Enter(At(2, 112, 88), qb));  // 12 away: in view
  ASSERT_TRUE(map_.Enter(At(3, 113, 100), qc));  // 13 from A: not
  EXPECT_FALSE(map_.Enter(At(3, 1, 1), qc));
  auto a = Take(*qa);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(Hex(Bytes(a[0].begin() + 5, a[0].begin() + 7)), "80 02");
  auto b = Take(*qb);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0][4], 2);  // himself and A
  EXPECT_EQ(Hex(Bytes(b[0].begin() + 5, b[0].begin() + 7)), "80 02");
  EXPECT_EQ(Hex(Bytes(b[0].begin() + 41, b[0].begin() + 43)), "00 01");
  EXPECT_EQ(map_.InView(1), (std::vector<uint16_t>{2}));
  EXPECT_EQ(map_.InView(2), (std::vector<uint16_t>{1, 3}));
}

TEST_F(GameMapTest, MoveGoesToObserversAndWalkerAndChangesScope) {
  auto qa = Queue(), qb = Queue(), qc = Queue();
  map_.Enter(At(1, 100, 100), qa);
  map_.Enter(At(2, 110, 100), qb);
  map_.Enter(At(3, 130, 100), qc);
  Take(*qa);
  Take(*qb);
  Take(*qc);
  // A walks east to 118: B still in view, C (12 away) comes in.
  const auto walk = BuildWalk(1, 118, 100, 3);
  ASSERT_TRUE(map_.Move(1, 118, 100, 3, walk));
  EXPECT_EQ(Take(*qb), (std::vector<Bytes>{B(walk)}));
  auto c = Take(*qc);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0][3], kCodeScopeAdd);
  EXPECT_EQ(Hex(Bytes(c[0].begin() + 5, c[0].begin() + 7)), "00 01");
  auto a = Take(*qa);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0][3], kCodeScopeAdd);  // C
  EXPECT_EQ(a[1], B(walk));           // the walker too
  // A walks back west: C sees him leave, and A sees C leave.
  const auto back = BuildWalk(1, 100, 100, 7);
  map_.Move(1, 100, 100, 7, back);
  EXPECT_EQ(Hex(Take(*qc)[0]), "C1 06 14 01 00 01");
  a = Take(*qa);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(Hex(a[0]), "C1 06 14 01 00 03");
  EXPECT_EQ(a[1], B(back));
}

TEST_F(GameMapTest, LeaveTellsOnlyThoseWhoSawHim) {
  auto qa = Queue(), qb = Queue(), qc = Queue();
  map_.Enter(At(1, 100, 100), qa);
  map_.Enter(At(2, 105, 100), qb);
  map_.Enter(At(3, 200, 200), qc);
  Take(*qa);
  Take(*qb);
  Take(*qc);
  map_.Leave(1);
  EXPECT_EQ(Hex(Take(*qb)[0]), "C1 06 14 01 00 01");
  EXPECT_TRUE(Take(*qc).empty());
  EXPECT_EQ(map_.players(), 2u);
  EXPECT_TRUE(map_.InView(2).empty());
}

TEST_F(GameMapTest, AFullQueueDropsWithoutBlockingOthers) {
  runtime::OutboundQueueConfig tiny{2, 1024};
  auto stalled =
      std::make_shared<runtime::OutboundQueue>(tiny, clock_);
  auto qa = Queue();
  map_.Enter(At(1, 100, 100), qa);
  map_.Enter(At(2, 101, 100), stalled);
  Take(*qa);
  for (int i = 0; i < 10; ++i) {
    map_.Move(1, 100, 100, static_cast<uint8_t>(i % 8), BuildWalk(1, 100, 100, 0));
  }
  EXPECT_EQ(Take(*qa).size(), 10u);
  EXPECT_TRUE(stalled->full_since().has_value());
  EXPECT_GT(counters_.dropped.load(), 0u);
}

TEST_F(GameMapTest, ScopeIsExactlyTheViewSquareAfterRandomMovesAndLeaves) {
  // The view is asked of the grid: it must agree with the distance rule for
  // everyone, both ways, after walks, instant moves across cells and leaves.
  std::mt19937 rng(15);
  std::uniform_int_distribution<int> tile(60, 140), step(-2, 2), pick(1, 120);
  std::vector<std::shared_ptr<runtime::OutboundQueue>> queues(121);
  std::vector<std::pair<int, int>> at(121);
  std::vector<bool> on(121, false);
  auto in_view = [&](int a) {
    std::vector<uint16_t> want;
    for (int b = 1; b <= 120; ++b) {
      if (b != a && on[static_cast<size_t>(b)] &&
          std::max(std::abs(at[static_cast<size_t>(a)].first -
                            at[static_cast<size_t>(b)].first),
                   std::abs(at[static_cast<size_t>(a)].second -
                            at[static_cast<size_t>(b)].second)) <= 12) {
        want.push_back(static_cast<uint16_t>(b));
      }
    }
    return want;
  };
  for (int round = 0; round < 3000; ++round) {
    const int id = pick(rng);
    auto& p = at[static_cast<size_t>(id)];
    const auto uid = static_cast<uint16_t>(id);
    if (!on[static_cast<size_t>(id)]) {
      p = {tile(rng), tile(rng)};
      queues[static_cast<size_t>(id)] = Queue();
      ASSERT_TRUE(map_.Enter(At(uid, static_cast<uint8_t>(p.first),
                                static_cast<uint8_t>(p.second)),
                             queues[static_cast<size_t>(id)]));
      on[static_cast<size_t>(id)] = true;
    } else if (round % 17 == 0) {
      map_.Leave(uid);
      on[static_cast<size_t>(id)] = false;
    } else {
      if (round % 5 == 0) {
        p = {tile(rng), tile(rng)};  // an instant move, often to another cell
      } else {
        p = {std::clamp(p.first + step(rng), 0, 255),
             std::clamp(p.second + step(rng), 0, 255)};
      }
      const auto x = static_cast<uint8_t>(p.first);
      const auto y = static_cast<uint8_t>(p.second);
      ASSERT_TRUE(map_.Move(uid, x, y, 0, BuildWalk(uid, x, y, 0)));
    }
    for (auto& q : queues) {
      if (q != nullptr) q->TakeAll();
    }
    if (round % 100 == 0 || round > 2900) {
      for (int a = 1; a <= 120; ++a) {
        if (on[static_cast<size_t>(a)]) {
          ASSERT_EQ(map_.InView(static_cast<uint16_t>(a)), in_view(a))
              << "player " << a << " round " << round;
        }
      }
    }
  }
}

TEST(WorldIdsTest, IdsAreUniqueAndFreedOnesComeBackLast) {
  World world(WorldConfig{});
  auto a = world.AllocateId();
  auto b = world.AllocateId();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);
  world.FreeId(*a);
  auto c = world.AllocateId();
  EXPECT_NE(*c, *a);
  int n = 3;
  while (world.AllocateId().has_value()) ++n;
  EXPECT_EQ(n, kMaxObjectId + 1);  // a came back last, then nothing is left
}

TEST(WorldIdsTest, NamesAreUniqueIgnoringCase) {
  FakeClock clock;
  World world(WorldConfig{});
  auto q = std::make_shared<runtime::OutboundQueue>(
      runtime::OutboundQueueConfig{}, clock);
  ASSERT_TRUE(world.ClaimName("Alpha", q).ok());
  EXPECT_FALSE(world.ClaimName("ALPHA", q).ok());
  EXPECT_TRUE(world.SendToCharacter("alpha", HexBytes("C1 03 00")));
  world.ReleaseName("alpha");
  EXPECT_FALSE(world.SendToCharacter("Alpha", HexBytes("C1 03 00")));
}

}  // namespace
}  // namespace muwarden::game
