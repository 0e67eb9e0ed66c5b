#include "common/guard/ip_table.h"

#include <cstdint>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

struct Entry {
  Entry() = default;
  explicit Entry(int v) : value(v) {}
  bool Evictable() const { return !pinned; }
  int value = 0;
  bool pinned = false;
};

IpKey Key(uint64_t n) {
  IpKey key;
  key.bits = n;
  return key;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(IpTableTest, InsertFindAndConstructorArgs) {
  IpTable<Entry> t(IpTableConfig{4});
  Entry* a = t.FindOrInsert(Key(1), kT0, 7);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->value, 7);
  // Existing entries are not rebuilt.
  EXPECT_EQ(t.FindOrInsert(Key(1), kT0, 9), a);
  EXPECT_EQ(a->value, 7);
  EXPECT_EQ(t.Find(Key(1)), a);
  EXPECT_EQ(t.Find(Key(2)), nullptr);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.capacity(), 4u);
  IpKey v6 = Key(1);
  v6.family = IpFamily::kV6;
  EXPECT_NE(t.FindOrInsert(v6, kT0), a);
  EXPECT_EQ(t.size(), 2u);
}

TEST(IpTableTest, EvictsStalest) {
  IpTable<Entry> t(IpTableConfig{3});
  for (uint64_t k = 1; k <= 3; ++k) {
    ASSERT_NE(t.FindOrInsert(Key(k), kT0 + absl::Seconds(k)), nullptr);
  }
  ASSERT_NE(t.FindOrInsert(Key(4), kT0 + absl::Seconds(4)), nullptr);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evictions(), 1u);
  EXPECT_EQ(t.Find(Key(1)), nullptr);
  // Touching 2 makes 3 the stalest.
  EXPECT_TRUE(t.Touch(Key(2), kT0 + absl::Seconds(5)));
  EXPECT_EQ(t.LastTouched(Key(2)), kT0 + absl::Seconds(5));
  ASSERT_NE(t.FindOrInsert(Key(5), kT0 + absl::Seconds(6)), nullptr);
  EXPECT_EQ(t.Find(Key(3)), nullptr);
  EXPECT_NE(t.Find(Key(2)), nullptr);
  // A lookup through FindOrInsert also touches.
  ASSERT_NE(t.FindOrInsert(Key(4), kT0 + absl::Seconds(7)), nullptr);
  ASSERT_NE(t.FindOrInsert(Key(6), kT0 + absl::Seconds(8)), nullptr);
  EXPECT_EQ(t.Find(Key(2)), nullptr);
  EXPECT_NE(t.Find(Key(4)), nullptr);
  EXPECT_NE(t.Find(Key(5)), nullptr);
  EXPECT_EQ(t.evictions(), 3u);
  // Find does not touch: 5 is the stalest now.
  t.Find(Key(5));
  ASSERT_NE(t.FindOrInsert(Key(7), kT0 + absl::Seconds(9)), nullptr);
  EXPECT_EQ(t.Find(Key(5)), nullptr);
}

TEST(IpTableTest, EvictedEntryIsRebuilt) {
  IpTable<Entry> t(IpTableConfig{1});
  t.FindOrInsert(Key(1), kT0, 5)->pinned = false;
  Entry* e = t.FindOrInsert(Key(2), kT0, 6);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, 6);
  Entry* again = t.FindOrInsert(Key(1), kT0);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->value, 0);
}

TEST(IpTableTest, NonEvictableEntriesAreKept) {
  IpTable<Entry> t(IpTableConfig{3});
  t.FindOrInsert(Key(1), kT0)->pinned = true;  // stalest, pinned
  t.FindOrInsert(Key(2), kT0);
  t.FindOrInsert(Key(3), kT0)->pinned = true;
  ASSERT_NE(t.FindOrInsert(Key(4), kT0), nullptr);
  EXPECT_NE(t.Find(Key(1)), nullptr);
  EXPECT_EQ(t.Find(Key(2)), nullptr);
  EXPECT_NE(t.Find(Key(3)), nullptr);
  ASSERT_NE(t.FindOrInsert(Key(5), kT0), nullptr);
  EXPECT_EQ(t.Find(Key(4)), nullptr);
  EXPECT_EQ(t.evictions(), 2u);
}

TEST(IpTableTest, FullOfNonEvictableRefuses) {
  IpTable<Entry> t(IpTableConfig{3});
  Entry* pinned[3];
  for (uint64_t k = 1; k <= 3; ++k) {
    pinned[k - 1] = t.FindOrInsert(Key(k), kT0);
    pinned[k - 1]->pinned = true;
  }
  EXPECT_EQ(t.FindOrInsert(Key(9), kT0), nullptr);
  EXPECT_EQ(t.FindOrInsert(Key(10), kT0), nullptr);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evictions(), 0u);
  // Existing keys are still served.
  EXPECT_EQ(t.FindOrInsert(Key(2), kT0), pinned[1]);
  // Contract: an entry that becomes evictable must be touched to be
  // considered again. Key 3 is unpinned but parked, so still refused.
  pinned[2]->pinned = false;
  EXPECT_EQ(t.FindOrInsert(Key(9), kT0), nullptr);
  EXPECT_TRUE(t.Touch(Key(3), kT0));
  ASSERT_NE(t.FindOrInsert(Key(9), kT0), nullptr);
  EXPECT_EQ(t.Find(Key(3)), nullptr);
  EXPECT_NE(t.Find(Key(1)), nullptr);
  EXPECT_NE(t.Find(Key(2)), nullptr);
  EXPECT_EQ(t.evictions(), 1u);
}

TEST(IpTableTest, ChurnPastManyPinnedEntries) {
  // 999 pinned entries and one free slot: every new key reuses that slot.
  IpTable<Entry> t(IpTableConfig{1000});
  for (uint64_t k = 0; k < 999; ++k) t.FindOrInsert(Key(k), kT0)->pinned = true;
  for (uint64_t k = 1000; k < 11000; ++k) {
    Entry* e = t.FindOrInsert(Key(k), kT0, static_cast<int>(k));
    ASSERT_NE(e, nullptr) << k;
    ASSERT_EQ(e->value, static_cast<int>(k));
  }
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_EQ(t.evictions(), 9999u);
  for (uint64_t k = 0; k < 999; ++k) ASSERT_NE(t.Find(Key(k)), nullptr);
  EXPECT_NE(t.Find(Key(10999)), nullptr);
}

TEST(IpTableTest, PointersStayValid) {
  IpTable<Entry> t(IpTableConfig{100});
  Entry* keep = t.FindOrInsert(Key(0), kT0, 42);
  keep->pinned = true;
  for (uint64_t k = 1; k < 5000; ++k) t.FindOrInsert(Key(k), kT0);
  EXPECT_EQ(keep->value, 42);
  EXPECT_EQ(t.Find(Key(0)), keep);
}

TEST(IpTableTest, EraseAndZeroCapacity) {
  IpTable<Entry> t(IpTableConfig{2});
  t.FindOrInsert(Key(1), kT0);
  t.FindOrInsert(Key(2), kT0);
  EXPECT_TRUE(t.Erase(Key(1)));
  EXPECT_FALSE(t.Erase(Key(1)));
  EXPECT_FALSE(t.Touch(Key(1), kT0));
  EXPECT_FALSE(t.LastTouched(Key(1)).has_value());
  EXPECT_EQ(t.size(), 1u);
  ASSERT_NE(t.FindOrInsert(Key(3), kT0), nullptr);
  EXPECT_EQ(t.evictions(), 0u);
  IpTable<Entry> none(IpTableConfig{0});
  EXPECT_EQ(none.FindOrInsert(Key(1), kT0), nullptr);
}

}  // namespace
}  // namespace muwarden::guard
