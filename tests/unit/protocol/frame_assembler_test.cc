#include "common/protocol/frame_assembler.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace muwarden::protocol {
namespace {

// Feeds `bytes` `chunk` bytes at a time and collects the frames or the first
// error.
struct FeedResult {
  std::vector<std::vector<uint8_t>> frames;
  absl::Status error;
};

FeedResult Feed(FrameAssembler& a, const std::vector<uint8_t>& bytes,
                size_t chunk) {
  FeedResult result;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto space = a.WritableSpace();
    EXPECT_FALSE(space.empty());
    size_t n = std::min({chunk, space.size(), bytes.size() - pos});
    std::memcpy(space.data(), bytes.data() + pos, n);
    a.Commit(n);
    pos += n;
    while (true) {
      auto next = a.Next();
      if (!next.ok()) {
        result.error = next.status();
        return result;
      }
      if (!next->has_value()) break;
      result.frames.emplace_back((*next)->bytes.begin(), (*next)->bytes.end());
    }
  }
  return result;
}

TEST(FrameAssemblerTest, AsksForTheHeaderThenExactlyTheDeclaredBody) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  auto commit = [&a](std::vector<uint8_t> bytes) {
    auto space = a.WritableSpace();
    ASSERT_GE(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    a.Commit(bytes.size());
  };
  EXPECT_EQ(a.WritableSpace().size(), 2u);  // the smallest header
  commit({0xC2, 0x00});
  EXPECT_EQ(a.WritableSpace().size(), 1u);  // the rest of a 3-byte header
  commit({0x06});
  EXPECT_EQ(a.WritableSpace().size(), 3u);  // exactly the body: 6 - 3
  commit({0xF4, 0x06, 0x00});
  EXPECT_TRUE(a.WritableSpace().empty());  // a whole frame waits for Next()
  auto frame = a.Next();
  ASSERT_TRUE(frame.ok() && frame->has_value());
  EXPECT_EQ((*frame)->bytes.size(), 6u);
  EXPECT_EQ(a.WritableSpace().size(), 2u);
}

TEST(FrameAssemblerTest, RefusedHeaderTakesNoBody) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 100);
  auto space = a.WritableSpace();
  ASSERT_EQ(space.size(), 2u);
  space[0] = 0xC1;
  space[1] = 0xFF;  // over the cap of 100
  a.Commit(2);
  EXPECT_TRUE(a.WritableSpace().empty());
  EXPECT_TRUE(IsOversize(a.Next().status()));
  FrameAssembler b(absl::MakeSpan(buf), 100);
  auto garbage = b.WritableSpace();
  garbage[0] = 'G';
  garbage[1] = 'E';
  b.Commit(2);
  EXPECT_TRUE(b.WritableSpace().empty());
  EXPECT_EQ(b.Next().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameAssemblerTest, OneByteAtATime) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  std::vector<uint8_t> frame = {0xC1, 0x06, 0xF4, 0x03, 0x01, 0x00};
  auto r = Feed(a, frame, 1);
  ASSERT_TRUE(r.error.ok());
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0], frame);
  EXPECT_FALSE(a.HasPartial());
}

TEST(FrameAssemblerTest, PipelinedFramesInOneRead) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  std::vector<uint8_t> bytes = {
      0xC1, 0x04, 0xF4, 0x06, 0xC1, 0x04, 0xF4,
      0x02, 0xC2, 0x00, 0x05, 0xF4, 0x06, 0xC1};  // last byte: start of a 4th
  auto r = Feed(a, bytes, bytes.size());
  ASSERT_TRUE(r.error.ok());
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(r.frames[0], std::vector<uint8_t>({0xC1, 0x04, 0xF4, 0x06}));
  EXPECT_EQ(r.frames[1], std::vector<uint8_t>({0xC1, 0x04, 0xF4, 0x02}));
  EXPECT_EQ(r.frames[2], std::vector<uint8_t>({0xC2, 0x00, 0x05, 0xF4, 0x06}));
  EXPECT_TRUE(a.HasPartial());
  EXPECT_EQ(a.buffered(), 1u);
}

TEST(FrameAssemblerTest, MaxSizeFrameFillsBufferExactly) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  std::vector<uint8_t> frame(255, 0x11);
  frame[0] = 0xC1;
  frame[1] = 0xFF;
  auto r = Feed(a, frame, 100);
  ASSERT_TRUE(r.error.ok());
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0], frame);
}

TEST(FrameAssemblerTest, OversizeRefusedOnHeaderAlone) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 100);
  auto r = Feed(a, {0xC1, 0x65}, 2);
  EXPECT_TRUE(IsOversize(r.error));
  EXPECT_TRUE(r.frames.empty());
}

TEST(FrameAssemblerTest, GarbageRefusedAtFirstByte) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  auto r = Feed(a, {0x00}, 1);
  EXPECT_EQ(r.error.code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameAssemblerTest, GoodFrameThenGarbage) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  auto r = Feed(a, {0xC1, 0x04, 0xF4, 0x06, 'G', 'E', 'T'}, 7);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.error.code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameAssemblerTest, LoweredCapAppliesToNextHeader) {
  std::vector<uint8_t> buf(255);
  FrameAssembler a(absl::MakeSpan(buf), 255);
  a.SetMaxFrameSize(16);
  EXPECT_TRUE(IsOversize(Feed(a, {0xC1, 17}, 2).error));
  FrameAssembler b(absl::MakeSpan(buf), 255);
  b.SetMaxFrameSize(16);
  auto r = Feed(b, {0xC1, 0x04, 0xF4, 0x06}, 4);
  EXPECT_EQ(r.frames.size(), 1u);
  b.SetMaxFrameSize(1000);  // never above the buffer
  EXPECT_EQ(b.max_frame_size(), 255u);
}

TEST(FrameAssemblerTest, BufferNeverExceedsOneFrame) {
  std::vector<uint8_t> buf(8);
  FrameAssembler a(absl::MakeSpan(buf), 8);
  // Eight 4-byte frames delivered in odd chunks: the buffer of 8 bytes
  // suffices.
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) {
    bytes.insert(bytes.end(), {0xC1, 0x04, 0x0E, static_cast<uint8_t>(i)});
  }
  auto r = Feed(a, bytes, 3);
  ASSERT_TRUE(r.error.ok());
  ASSERT_EQ(r.frames.size(), 8u);
  EXPECT_EQ(r.frames[7][3], 7);
}

}  // namespace
}  // namespace muwarden::protocol
