#include "common/base/hex.h"

#include "gtest/gtest.h"

namespace muwarden {
namespace {

TEST(HexTest, FormatsUpperCaseWithOneSpace) {
  const std::vector<uint8_t> bytes = {0xC1, 0x04, 0xF4, 0x06, 0x0A};
  EXPECT_EQ(FormatHex(bytes), "C1 04 F4 06 0A");
  EXPECT_EQ(FormatHex({}), "");
}

TEST(HexTest, ParsesWhatItFormatsAndIgnoresBlanksBetweenPairs) {
  EXPECT_EQ(*ParseHex("C1 04 f4 06"), (std::vector<uint8_t>{0xC1, 4, 0xF4, 6}));
  EXPECT_EQ(*ParseHex("C104\tF4\n06"),
            (std::vector<uint8_t>{0xC1, 4, 0xF4, 6}));
  EXPECT_TRUE(ParseHex("")->empty());
  EXPECT_FALSE(ParseHex("C1 0").has_value());   // odd digit count
  EXPECT_FALSE(ParseHex("C1 0G").has_value());  // not a digit
  EXPECT_FALSE(ParseHex("0xC1").has_value());
}

}  // namespace
}  // namespace muwarden
