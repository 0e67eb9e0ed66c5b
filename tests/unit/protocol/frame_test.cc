#include "common/protocol/frame.h"

#include <vector>

#include "gtest/gtest.h"

namespace muwarden::protocol {
namespace {

absl::StatusOr<HeaderState> Decode(std::vector<uint8_t> bytes, size_t cap,
                                   FrameHeader* header) {
  return DecodeHeader(bytes, cap, header);
}

TEST(FrameTest, DecodesEveryType) {
  FrameHeader h;
  ASSERT_EQ(*Decode({0xC1, 0x04, 0xF4, 0x06}, 255, &h), HeaderState::kComplete);
  EXPECT_EQ(h.type, kC1);
  EXPECT_EQ(h.header_size, 2u);
  EXPECT_EQ(h.length, 4u);
  ASSERT_EQ(*Decode({0xC2, 0x01, 0x00}, 8192, &h), HeaderState::kComplete);
  EXPECT_EQ(h.header_size, 3u);
  EXPECT_EQ(h.length, 256u);  // big-endian
  ASSERT_EQ(*Decode({0xC3, 0x18}, 255, &h), HeaderState::kComplete);
  EXPECT_EQ(h.length, 0x18u);
  ASSERT_EQ(*Decode({0xC4, 0x00, 0x10}, 255, &h), HeaderState::kComplete);
  EXPECT_EQ(h.length, 16u);
}

TEST(FrameTest, SplitHeaderNeedsMoreOneByteAtATime) {
  FrameHeader h{};
  EXPECT_EQ(*Decode({}, 255, &h), HeaderState::kNeedMore);
  EXPECT_EQ(*Decode({0xC1}, 255, &h), HeaderState::kNeedMore);
  EXPECT_EQ(*Decode({0xC2}, 8192, &h), HeaderState::kNeedMore);
  EXPECT_EQ(*Decode({0xC2, 0x00}, 8192, &h), HeaderState::kNeedMore);
  EXPECT_EQ(h.length, 0u);  // untouched while more is needed
  EXPECT_EQ(*Decode({0xC2, 0x00, 0x05}, 8192, &h), HeaderState::kComplete);
  EXPECT_EQ(h.length, 5u);
}

TEST(FrameTest, UnknownTypeRefusedFromOneByte) {
  FrameHeader h;
  for (int b = 0; b < 256; ++b) {
    if (b >= 0xC1 && b <= 0xC4) continue;
    auto s = Decode({static_cast<uint8_t>(b)}, 255, &h);
    ASSERT_FALSE(s.ok()) << b;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(FrameTest, LengthsBelowHeaderPlusCodeAreMalformed) {
  FrameHeader h;
  for (uint8_t len : {0, 1, 2}) {
    auto s = Decode({0xC1, len}, 255, &h);
    ASSERT_FALSE(s.ok()) << int{len};
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_FALSE(IsOversize(s.status()));
  }
  EXPECT_EQ(*Decode({0xC1, 3}, 255, &h), HeaderState::kComplete);
  for (uint8_t len : {0, 1, 2, 3}) {
    auto s = Decode({0xC2, 0, len}, 8192, &h);
    ASSERT_FALSE(s.ok()) << int{len};
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(*Decode({0xC2, 0, 4}, 8192, &h), HeaderState::kComplete);
}

TEST(FrameTest, CapIsExactAndCheckedOnTheHeader) {
  FrameHeader h;
  EXPECT_EQ(*Decode({0xC1, 100}, 100, &h), HeaderState::kComplete);
  auto over = Decode({0xC1, 101}, 100, &h);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(IsOversize(over.status()));
  EXPECT_EQ(*Decode({0xC2, 0x20, 0x00}, 8192, &h), HeaderState::kComplete);
  EXPECT_TRUE(IsOversize(Decode({0xC2, 0x20, 0x01}, 8192, &h).status()));
}

TEST(FrameTest, C2FFFFIsOversize) {
  FrameHeader h;
  EXPECT_TRUE(IsOversize(Decode({0xC2, 0xFF, 0xFF}, 8192, &h).status()));
  EXPECT_TRUE(IsOversize(Decode({0xC4, 0xFF, 0xFF}, 255, &h).status()));
  EXPECT_EQ(*Decode({0xC2, 0xFF, 0xFF}, kMaxFrameSize, &h),
            HeaderState::kComplete);
}

TEST(FrameTest, HttpAndRdpProbesAreMalformed) {
  FrameHeader h;
  auto get = Decode({'G', 'E', 'T', ' ', '/'}, 255, &h);
  EXPECT_EQ(get.status().code(), absl::StatusCode::kInvalidArgument);
  auto rdp = Decode({0x03, 0x00, 0x00}, 255, &h);
  EXPECT_EQ(rdp.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameTest, EncodeSetsLengthFields) {
  uint8_t out[3] = {};
  ASSERT_EQ(*EncodeHeader(kC1, 22, absl::MakeSpan(out)), 2u);
  EXPECT_EQ(out[0], 0xC1);
  EXPECT_EQ(out[1], 22);
  ASSERT_EQ(*EncodeHeader(kC2, 0x0102, absl::MakeSpan(out)), 3u);
  EXPECT_EQ(out[0], 0xC2);
  EXPECT_EQ(out[1], 0x01);
  EXPECT_EQ(out[2], 0x02);
  ASSERT_EQ(*EncodeHeader(kC4, 65535, absl::MakeSpan(out)), 3u);
  EXPECT_EQ(out[1], 0xFF);
  EXPECT_EQ(out[2], 0xFF);
  EXPECT_EQ(EncodeHeader(kC1, 256, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(EncodeHeader(kC1, 2, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(EncodeHeader(0x00, 4, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeHeader(kC2, 4, absl::MakeSpan(out, 2)).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(FrameTest, EncodeThenDecodeRoundTrips) {
  for (size_t len : {4u, 255u, 256u, 8192u, 65535u}) {
    uint8_t out[3];
    const uint8_t type = len > 255 ? kC2 : kC1;
    ASSERT_TRUE(EncodeHeader(type, len, absl::MakeSpan(out)).ok());
    FrameHeader h;
    ASSERT_EQ(*DecodeHeader(absl::MakeConstSpan(out, HeaderSizeOf(type)),
                            kMaxFrameSize, &h),
              HeaderState::kComplete);
    EXPECT_EQ(h.length, len);
  }
}

}  // namespace
}  // namespace muwarden::protocol
