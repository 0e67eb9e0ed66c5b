#include "server/game/account/hash_gate.h"

#include <atomic>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace muwarden::game {
namespace {

TEST(HashGateTest, BoundsSlotsAndReturnsThemOnDestruction) {
  HashGate gate(2);
  HashGate::Slot a = gate.Acquire(absl::ZeroDuration());
  HashGate::Slot b = gate.Acquire(absl::ZeroDuration());
  EXPECT_TRUE(a.held());
  EXPECT_TRUE(b.held());
  EXPECT_EQ(gate.in_use(), 2);
  HashGate::Slot c = gate.Acquire(absl::ZeroDuration());
  EXPECT_FALSE(c.held());
  EXPECT_EQ(gate.in_use(), 2);
  {
    HashGate::Slot moved = std::move(a);
    EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(gate.in_use(), 2);
  }
  EXPECT_EQ(gate.in_use(), 1);
  c = gate.Acquire(absl::ZeroDuration());
  EXPECT_TRUE(c.held());
  EXPECT_EQ(gate.in_use(), 2);
}

TEST(HashGateTest, WaiterGetsTheSlotWhenItIsReturned) {
  HashGate gate(1);
  HashGate::Slot held = gate.Acquire(absl::ZeroDuration());
  ASSERT_TRUE(held.held());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    HashGate::Slot slot = gate.Acquire(absl::Seconds(30));
    got = slot.held();
  });
  held = HashGate::Slot();
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(gate.in_use(), 0);
}

TEST(HashGateTest, FullGateTimesOutEmptyHanded) {
  HashGate gate(1);
  HashGate::Slot held = gate.Acquire(absl::ZeroDuration());
  ASSERT_TRUE(held.held());
  HashGate::Slot late = gate.Acquire(absl::Milliseconds(20));
  EXPECT_FALSE(late.held());
  EXPECT_EQ(gate.in_use(), 1);
}

}  // namespace
}  // namespace muwarden::game
