#include "common/runtime/arena.h"

#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

TEST(ArenaTest, AllocatesAlignedUntilFullThenRefuses) {
  Arena arena(4096);
  auto a = arena.Allocate(10);
  ASSERT_EQ(a.size(), 10u);
  auto b = arena.Allocate(100);
  ASSERT_EQ(b.size(), 100u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 16, 0u);
  EXPECT_GE(b.data(), a.data() + 10);
  EXPECT_TRUE(arena.Allocate(4096).empty());  // does not fit what is left
  auto rest = arena.Allocate(4096 - 128);
  EXPECT_EQ(rest.size(), 4096u - 128);
  EXPECT_TRUE(arena.Allocate(1).empty());
  // Huge sizes never wrap around.
  EXPECT_TRUE(arena.Allocate(SIZE_MAX).empty());
}

TEST(ArenaTest, ResetMakesTheWholeArenaAvailableAgain) {
  Arena arena(64 * 1024);
  auto first = arena.Allocate(60 * 1024);
  ASSERT_FALSE(first.empty());
  first[0] = 7;
  first[first.size() - 1] = 9;
  arena.Reset();
  EXPECT_EQ(arena.used(), 0u);
  auto again = arena.Allocate(64 * 1024);
  EXPECT_EQ(again.size(), 64u * 1024);
}

TEST(ArenaTest, ExhaustedIsAMarkedStatusNotAMessage) {
  const absl::Status full = ArenaExhaustedError("decryption buffer");
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(IsArenaExhausted(full));
  EXPECT_EQ(full.message(), "arena exhausted: decryption buffer");
  // Another cap with the same code, even with the same words, is not one.
  EXPECT_FALSE(IsArenaExhausted(
      absl::ResourceExhaustedError("arena exhausted: decryption buffer")));
  EXPECT_FALSE(IsArenaExhausted(absl::OkStatus()));
}

}  // namespace
}  // namespace muwarden::runtime
