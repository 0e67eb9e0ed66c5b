#include "common/guard/cidr_map.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

IpAddress Ip(const char* text) { return *ParseIp(text); }
Cidr Block(const char* text) { return *ParseCidr(text); }

TEST(CidrMapTest, LongestPrefixFirst) {
  CidrMap<int> map;
  *map.Insert(Block("10.0.0.0/8")).first = 8;
  *map.Insert(Block("10.1.0.0/16")).first = 16;
  *map.Insert(Block("10.1.2.3")).first = 32;
  *map.Insert(Block("0.0.0.0/0")).first = 0;
  EXPECT_EQ(map.size(), 4u);
  int len = -1;
  EXPECT_EQ(*map.FindMatch(
                Ip("10.1.2.3"), [](int) { return true; }, &len),
            32);
  EXPECT_EQ(len, 32);
  EXPECT_EQ(*map.FindLongest(Ip("10.1.2.4")), 16);
  EXPECT_EQ(*map.FindLongest(Ip("10.2.0.0")), 8);
  EXPECT_EQ(*map.FindLongest(Ip("11.0.0.0")), 0);
  EXPECT_EQ(map.FindLongest(Ip("2001:db8::1")), nullptr);
  // The predicate skips blocks, e.g. expired bans.
  EXPECT_EQ(*map.FindMatch(
                Ip("10.1.2.3"), [](int v) { return v < 16; }, &len),
            8);
  EXPECT_EQ(len, 8);
  EXPECT_EQ(map.FindMatch(Ip("10.1.2.3"), [](int) { return false; }), nullptr);
}

TEST(CidrMapTest, InsertExistingEraseEraseIf) {
  CidrMap<int> map;
  auto [slot, inserted] = map.Insert(Block("192.0.2.0/24"));
  EXPECT_TRUE(inserted);
  *slot = 5;
  auto [again, inserted_again] = map.Insert(Block("192.0.2.99/24"));
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(*again, 5);
  EXPECT_EQ(*map.FindExact(Block("192.0.2.0/24")), 5);
  EXPECT_EQ(map.FindExact(Block("192.0.2.0/25")), nullptr);
  EXPECT_TRUE(map.Erase(Block("192.0.2.0/24")));
  EXPECT_FALSE(map.Erase(Block("192.0.2.0/24")));
  EXPECT_EQ(map.FindLongest(Ip("192.0.2.1")), nullptr);
  EXPECT_TRUE(map.empty());

  for (int i = 0; i < 10; ++i) {
    Cidr c = HostCidr(IpAddress::V4(10, 0, 0, static_cast<uint8_t>(i)));
    *map.Insert(c).first = i;
  }
  *map.Insert(Block("2001:db8::/32")).first = 100;
  EXPECT_EQ(map.EraseIf([](int v) { return v % 2 == 0; }), 6u);
  EXPECT_EQ(map.size(), 5u);
  int count = 0;
  map.ForEach([&](const Cidr& c, int v) {
    ++count;
    EXPECT_EQ(v % 2, 1);
    EXPECT_EQ(c.prefix_len, 32);
  });
  EXPECT_EQ(count, 5);
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.FindLongest(Ip("10.0.0.1")), nullptr);
}

TEST(CidrMapTest, Ipv6Blocks) {
  CidrMap<int> map;
  *map.Insert(Block("2001:db8:1:2::/64")).first = 64;
  *map.Insert(Block("::/0")).first = 0;
  EXPECT_EQ(*map.FindLongest(Ip("2001:db8:1:2:ffff::1")), 64);
  EXPECT_EQ(*map.FindLongest(Ip("2001:db8:1:3::1")), 0);
  EXPECT_EQ(map.FindLongest(Ip("1.2.3.4")), nullptr);
  EXPECT_EQ(map.FindLongest(Ip("::ffff:1.2.3.4")), nullptr);
}

TEST(CidrSetTest, Parse) {
  absl::StatusOr<CidrSet> set =
      CidrSet::Parse(" 10.0.0.0/8, 192.168.1.5 ,,2001:db8::/32,");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 3u);
  EXPECT_TRUE(set->Contains(Ip("10.200.0.1")));
  EXPECT_TRUE(set->Contains(Ip("192.168.1.5")));
  EXPECT_FALSE(set->Contains(Ip("192.168.1.6")));
  EXPECT_TRUE(set->Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(set->Contains(Ip("2001:db9::1")));
  EXPECT_TRUE(set->Contains(Ip("::ffff:10.0.0.1")));
}

TEST(CidrSetTest, EmptyAndErrors) {
  absl::StatusOr<CidrSet> empty = CidrSet::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->Contains(Ip("1.2.3.4")));
  EXPECT_FALSE(CidrSet().Contains(Ip("1.2.3.4")));

  absl::StatusOr<CidrSet> bad = CidrSet::Parse("10.0.0.0/8, bogus, 1.2.3.4");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bogus"), std::string::npos);
  absl::StatusOr<CidrSet> bad_len = CidrSet::Parse("1.2.3.4/40");
  EXPECT_EQ(bad_len.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_len.status().message().find("1.2.3.4/40"), std::string::npos);
}

TEST(CidrSetTest, CopyIsIndependent) {
  CidrSet a = *CidrSet::Parse("1.1.1.1");
  CidrSet b = a;
  b.Add(Block("2.2.2.2"));
  EXPECT_FALSE(a.Contains(Ip("2.2.2.2")));
  EXPECT_TRUE(b.Contains(Ip("1.1.1.1")));
  EXPECT_TRUE(b.Contains(Ip("2.2.2.2")));
}

}  // namespace
}  // namespace muwarden::guard
