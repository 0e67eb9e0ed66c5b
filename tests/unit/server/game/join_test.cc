#include "server/game/join.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/hex.h"

namespace muwarden::game {
namespace {

using Bytes = std::vector<uint8_t>;
using ::muwarden::testing::HexBytes;

Bytes Join(uint16_t player_id, absl::string_view version) {
  const auto packet = BuildJoin(player_id, version);
  return Bytes(packet.begin(), packet.end());
}

TEST(JoinTest, TheProtocolExample) {
  // PROTOCOL.md section 3: player id 0x0200, version "10404".
  EXPECT_EQ(Join(0x0200, "10404"),
            HexBytes("C1 0C F1 00 01 02 00 31 30 34 30 34"));
}

TEST(JoinTest, PlayerIdIsBigEndian) {
  EXPECT_EQ(Join(0x1234, "10404"),
            HexBytes("C1 0C F1 00 01 12 34 31 30 34 30 34"));
  EXPECT_EQ(Join(0x7FFF, "10404"),
            HexBytes("C1 0C F1 00 01 7F FF 31 30 34 30 34"));
  EXPECT_EQ(Join(1, "10404"), HexBytes("C1 0C F1 00 01 00 01 31 30 34 30 34"));
}

TEST(JoinTest, VersionIsFiveBytesZeroPaddedOrCut) {
  EXPECT_EQ(Join(1, "10405"), HexBytes("C1 0C F1 00 01 00 01 31 30 34 30 35"));
  EXPECT_EQ(Join(1, "104"), HexBytes("C1 0C F1 00 01 00 01 31 30 34 00 00"));
  EXPECT_EQ(Join(1, ""), HexBytes("C1 0C F1 00 01 00 01 00 00 00 00 00"));
  EXPECT_EQ(Join(1, "1040499"),
            HexBytes("C1 0C F1 00 01 00 01 31 30 34 30 34"));
}

}  // namespace
}  // namespace muwarden::game
