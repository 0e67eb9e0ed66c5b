#include "common/crypto/xor3.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/hex.h"

namespace muwarden::crypto {
namespace {

using ::muwarden::testing::HexBytes;

TEST(Xor3Test, UsernameFieldVector) {
  std::vector<uint8_t> field = {'t', 'e', 's', 't', '0', 0, 0, 0, 0, 0};
  Xor3(absl::MakeSpan(field));
  EXPECT_EQ(field, HexBytes("88 AA D8 88 FF AB FC CF AB FC"));
}

TEST(Xor3Test, IsItsOwnInverse) {
  std::vector<uint8_t> field = HexBytes("88 AA D8 88 FF AB FC CF AB FC");
  Xor3(absl::MakeSpan(field));
  EXPECT_EQ(field,
            std::vector<uint8_t>({'t', 'e', 's', 't', '0', 0, 0, 0, 0, 0}));
}

TEST(Xor3Test, KeyRestartsPerField) {
  std::vector<uint8_t> field(20, 0);
  Xor3(absl::MakeSpan(field).subspan(1));
  EXPECT_EQ(field[0], 0x00);
  EXPECT_EQ(field[1], 0xFC);
  EXPECT_EQ(field[2], 0xCF);
  EXPECT_EQ(field[3], 0xAB);
  EXPECT_EQ(field[19], 0xFC);  // index 18 of the subspan
}

TEST(Xor3Test, EmptyField) {
  std::vector<uint8_t> field;
  Xor3(absl::MakeSpan(field));
  EXPECT_TRUE(field.empty());
}

}  // namespace
}  // namespace muwarden::crypto
