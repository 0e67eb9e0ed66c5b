#include "server/game/account/hash_gate.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
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

namespace muwarden::game {
namespace {

constexpr absl::Duration kCheck = absl::Milliseconds(50);

guard::IpKey Prefix(uint64_t n) { return guard::IpKey{guard::IpFamily::kV4, n}; }

// A fake hasher on the fake clock: every granted turn runs one check that
// takes `check`, each in its own slot, until nothing runs any more (bounded).
// Returns when each turn's check started (InfiniteFuture: never).
std::vector<absl::Time> Serve(FakeClock& clock,
                              std::vector<HashGate::Turn>& turns,
                              absl::Duration check = kCheck) {
  std::vector<absl::Time> started(turns.size(), absl::InfiniteFuture());
  std::vector<std::pair<absl::Time, HashGate::Slot>> running;
  for (int step = 0; step < 10000; ++step) {
    for (size_t i = 0; i < turns.size(); ++i) {
      if (started[i] != absl::InfiniteFuture()) continue;
      HashGate::Slot slot = turns[i].Take();
      if (!slot.held()) continue;
      started[i] = clock.Now();
      running.emplace_back(clock.Now() + check, std::move(slot));
    }
    if (running.empty()) break;
    auto first = std::min_element(
        running.begin(), running.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    clock.Advance(first->first - clock.Now());
    running.erase(first);  // gives the slot back: the next turn is granted
  }
  return started;
}

HashGateConfig Slots(int slots) {
  HashGateConfig c;
  c.slots = slots;
  return c;
}

TEST(HashGateFairnessTest, ALoginWaitsAtMostOneCheckBehindAnotherPrefixsFlood) {
  for (int slots : {1, 2, 4}) {
    FakeClock clock;
    HashGate gate(Slots(slots), clock);
    const absl::Time deadline = clock.Now() + absl::Seconds(2);
    std::vector<HashGate::Turn> turns;
    for (int i = 0; i < 12; ++i) turns.push_back(gate.Request(Prefix(1), deadline));
    turns.push_back(gate.Request(Prefix(2), deadline));  // the player
    EXPECT_EQ(turns.back().state(), HashGate::TurnState::kWaiting);
    const std::vector<absl::Time> started = Serve(clock, turns);
    // The next slot given back goes to the player's prefix.
    EXPECT_LE(started.back() - absl::UnixEpoch(), kCheck) << slots;
    EXPECT_EQ(gate.counters().granted, 13u);
  }
}

TEST(HashGateFairnessTest, OneQueueForAllMakesThePlayerWaitForTheWholeFlood) {
  // The same flood with the player in the attacker's queue: what the gate
  // prevents.
  FakeClock clock;
  HashGate gate(Slots(1), clock);
  const absl::Time deadline = clock.Now() + absl::Seconds(2);
  std::vector<HashGate::Turn> turns;
  for (int i = 0; i < 13; ++i) turns.push_back(gate.Request(Prefix(1), deadline));
  const std::vector<absl::Time> started = Serve(clock, turns);
  EXPECT_EQ(started.back() - absl::UnixEpoch(), 12 * kCheck);
}

TEST(HashGateFairnessTest, QueuesAreServedInTurn) {
  FakeClock clock;
  HashGate gate(Slots(1), clock);
  const absl::Time deadline = clock.Now() + absl::Seconds(2);
  std::vector<HashGate::Turn> turns;
  turns.push_back(gate.Request(Prefix(9), deadline));  // takes the slot
  for (int i = 0; i < 3; ++i) turns.push_back(gate.Request(Prefix(1), deadline));
  for (int i = 0; i < 3; ++i) turns.push_back(gate.Request(Prefix(2), deadline));
  const std::vector<absl::Time> started = Serve(clock, turns);
  // 9, then 1 2 1 2 1 2: each start one check after the previous.
  const int order[] = {0, 1, 4, 2, 5, 3, 6};
  for (int k = 0; k < 7; ++k) {
    EXPECT_EQ(started[order[k]] - absl::UnixEpoch(), k * kCheck) << k;
  }
}

TEST(HashGateDeadlineTest, ATurnThatCannotFinishInTimeIsGivenUpBeforeItsDeadline) {
  FakeClock clock;
  HashGateConfig config = Slots(1);
  config.max_queued_per_key = 1000;
  config.max_queued = 1000;
  HashGate gate(config, clock);
  const absl::Time deadline = clock.Now() + absl::Seconds(2);
  std::vector<HashGate::Turn> turns;
  for (int i = 0; i < 100; ++i) turns.push_back(gate.Request(Prefix(1), deadline));
  const std::vector<absl::Time> started = Serve(clock, turns);
  int checked = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    if (started[i] == absl::InfiniteFuture()) {
      EXPECT_EQ(turns[i].state(), HashGate::TurnState::kExpired) << i;
      continue;
    }
    ++checked;
    // Every check that ran was answered by the deadline.
    EXPECT_LE(started[i] + kCheck, deadline) << i;
  }
  // A check starts only while twice the measured check time is left:
  // starts at 0, 50, ..., 1900 ms.
  EXPECT_EQ(checked, 39);
  EXPECT_EQ(gate.counters().expired, 61u);
  EXPECT_EQ(gate.check_time(), kCheck);
  // They were given up when the last check in time ended, before the
  // deadline.
  EXPECT_EQ(clock.Now() - absl::UnixEpoch(), absl::Milliseconds(1950));
  EXPECT_EQ(gate.queued(), 0u);
  EXPECT_EQ(gate.in_use(), 0);
}

TEST(HashGateDeadlineTest, WaitGivesUpAtTheDeadline) {
  FakeClock clock;
  HashGate gate(Slots(1), clock);
  HashGate::Slot held = gate.Acquire(Prefix(1), clock.Now() + absl::Seconds(2));
  ASSERT_TRUE(held.held());
  HashGate::Turn late = gate.Request(Prefix(2), clock.Now() + absl::Seconds(2));
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    HashGate::Slot slot = late.Wait();
    EXPECT_FALSE(slot.held());
    done = true;
  });
  clock.Advance(absl::Seconds(2));
  waiter.join();  // Wait re-reads the clock every 50 ms of real time
  EXPECT_TRUE(done.load());
  EXPECT_EQ(late.state(), HashGate::TurnState::kExpired);
  EXPECT_EQ(gate.queued(), 0u);
}

TEST(HashGateBoundsTest, AQueueIsBoundedAndAFullTotalGivesWayToAShorterQueue) {
  FakeClock clock;
  HashGateConfig config = Slots(1);
  config.max_queued_per_key = 4;
  config.max_queued = 6;
  HashGate gate(config, clock);
  const absl::Time deadline = clock.Now() + absl::Seconds(2);
  HashGate::Slot busy = gate.Acquire(Prefix(9), deadline);
  std::vector<HashGate::Turn> flood;
  for (int i = 0; i < 4; ++i) flood.push_back(gate.Request(Prefix(1), deadline));
  HashGate::Turn fifth = gate.Request(Prefix(1), deadline);
  EXPECT_EQ(fifth.state(), HashGate::TurnState::kRefused);
  HashGate::Turn b1 = gate.Request(Prefix(2), deadline);
  HashGate::Turn b2 = gate.Request(Prefix(2), deadline);
  EXPECT_EQ(gate.queued(), 6u);
  // Full: the longest queue (prefix 1) gives up its newest for prefix 3.
  HashGate::Turn c1 = gate.Request(Prefix(3), deadline);
  EXPECT_EQ(c1.state(), HashGate::TurnState::kWaiting);
  EXPECT_EQ(flood.back().state(), HashGate::TurnState::kRefused);
  EXPECT_EQ(gate.queued(), 6u);
  EXPECT_EQ(gate.counters().dropped, 1u);
  // Queues of 3, 2, 1: a fourth prefix 1 request is refused, not swapped in.
  HashGate::Turn again = gate.Request(Prefix(1), deadline);
  EXPECT_EQ(again.state(), HashGate::TurnState::kRefused);
  EXPECT_EQ(gate.counters().refused_full, 2u);
}

TEST(HashGateBoundsTest, LeavingTurnsGiveBackTheirPlaceAndTheirSlot) {
  FakeClock clock;
  HashGate gate(Slots(1), clock);
  const absl::Time deadline = clock.Now() + absl::Seconds(2);
  {
    HashGate::Turn granted = gate.Request(Prefix(1), deadline);
    EXPECT_EQ(granted.state(), HashGate::TurnState::kGranted);
    EXPECT_EQ(gate.in_use(), 1);
    {
      HashGate::Turn waiting = gate.Request(Prefix(2), deadline);
      EXPECT_EQ(gate.queued(), 1u);
    }
    EXPECT_EQ(gate.queued(), 0u);
  }
  EXPECT_EQ(gate.in_use(), 0);
}

}  // namespace
}  // namespace muwarden::game
