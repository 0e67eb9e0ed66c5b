#include "common/guard/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace muwarden::guard {
namespace {

IpAddress Ip(const char* text) {
  absl::StatusOr<IpAddress> ip = ParseIp(text);
  EXPECT_TRUE(ip.ok()) << text << ": " << ip.status();
  return ip.ok() ? *ip : IpAddress();
}

Cidr Block(const char* text) {
  absl::StatusOr<Cidr> cidr = ParseCidr(text);
  EXPECT_TRUE(cidr.ok()) << text << ": " << cidr.status();
  return cidr.ok() ? *cidr : Cidr();
}

TEST(ParseIpTest, Ipv4) {
  IpAddress ip = Ip("203.0.113.7");
  EXPECT_EQ(ip.family, IpFamily::kV4);
  EXPECT_EQ(ip.bytes[0], 203);
  EXPECT_EQ(ip.bytes[3], 7);
  for (size_t i = 4; i < 16; ++i) EXPECT_EQ(ip.bytes[i], 0);
  EXPECT_EQ(ip.ToString(), "203.0.113.7");
  EXPECT_EQ(ip, IpAddress::V4(203, 0, 113, 7));
  EXPECT_EQ(Ip("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255").ToString(), "255.255.255.255");
}

TEST(ParseIpTest, RejectsMalformed) {
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", " 1.2.3.4", "1.2.3.4 ",
        "01.2.3.4", "1.2.3.4/8", "fe80::1%eth0", "[::1]", "::1::2", "abc",
        "1:2:3:4:5:6:7:8:9", "0x7f.0.0.1",
        "1111:2222:3333:4444:5555:6666:7777:8888:9999:0000"}) {
    absl::StatusOr<IpAddress> ip = ParseIp(bad);
    EXPECT_EQ(ip.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // A NUL inside the view must not cut the text short.
  EXPECT_FALSE(ParseIp(absl::string_view("1.2.3.4\0x", 9)).ok());
}

TEST(ParseIpTest, Ipv6CanonicalText) {
  EXPECT_EQ(Ip("2001:DB8:0:0:0:0:0:1").ToString(), "2001:db8::1");
  EXPECT_EQ(Ip("2001:0db8:0000:0000:0001:0000:0000:0000").ToString(),
            "2001:db8:0:0:1::");
  // Equal runs: the first is compressed.
  EXPECT_EQ(Ip("2001:db8:0:0:1:0:0:1").ToString(), "2001:db8::1:0:0:1");
  // A single zero group is not compressed.
  EXPECT_EQ(Ip("2001:db8:0:1:1:1:1:1").ToString(), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(Ip("::").ToString(), "::");
  EXPECT_EQ(Ip("::1").ToString(), "::1");
  EXPECT_EQ(Ip("1::").ToString(), "1::");
  // IPv4-compatible (not mapped) stays IPv6 and is printed in hex.
  EXPECT_EQ(Ip("::1.2.3.4").ToString(), "::102:304");
  EXPECT_EQ(Ip("::1.2.3.4").family, IpFamily::kV6);
  EXPECT_EQ(Ip("fe80::abcd:ef01:2345:6789").ToString(),
            "fe80::abcd:ef01:2345:6789");
}

TEST(ParseIpTest, MappedIpv6IsIpv4) {
  IpAddress mapped = Ip("::ffff:192.0.2.1");
  EXPECT_EQ(mapped.family, IpFamily::kV4);
  EXPECT_EQ(mapped.ToString(), "192.0.2.1");
  EXPECT_EQ(mapped, Ip("192.0.2.1"));
  EXPECT_EQ(Ip("::FFFF:c000:0201"), Ip("192.0.2.1"));
  EXPECT_EQ(KeyOf(mapped), KeyOf(Ip("192.0.2.1")));
}

TEST(FromSockaddrTest, AllFamilies) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(44405);
  ASSERT_EQ(inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr), 1);
  absl::StatusOr<IpAddress> v4 =
      FromSockaddr(reinterpret_cast<const sockaddr*>(&sin));
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "198.51.100.9");

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr), 1);
  absl::StatusOr<IpAddress> v6 =
      FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family, IpFamily::kV6);
  EXPECT_EQ(v6->ToString(), "2001:db8::42");

  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr), 1);
  absl::StatusOr<IpAddress> mapped =
      FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->family, IpFamily::kV4);
  EXPECT_EQ(mapped->ToString(), "127.0.0.1");

  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  EXPECT_EQ(
      FromSockaddr(reinterpret_cast<const sockaddr*>(&sun)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromSockaddr(nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeyOfTest, Ipv4PerAddressIpv6PerSlash64) {
  EXPECT_EQ(KeyOf(Ip("10.0.0.1")).bits, 0x0a000001u);
  EXPECT_NE(KeyOf(Ip("10.0.0.1")), KeyOf(Ip("10.0.0.2")));
  EXPECT_EQ(KeyOf(Ip("2001:db8:1:2::1")), KeyOf(Ip("2001:db8:1:2:ffff::9")));
  EXPECT_EQ(KeyOf(Ip("2001:db8:1:2::1")).bits, 0x20010db800010002u);
  EXPECT_NE(KeyOf(Ip("2001:db8:1:2::1")), KeyOf(Ip("2001:db8:1:3::1")));
  // Same bits, different family.
  EXPECT_EQ(KeyOf(Ip("0.0.0.0")).bits, KeyOf(Ip("::1")).bits);
  EXPECT_NE(KeyOf(Ip("0.0.0.0")), KeyOf(Ip("::1")));
}

TEST(MaskedTest, ClearsHostBits) {
  EXPECT_EQ(Masked(Ip("10.255.255.255"), 8), Ip("10.0.0.0"));
  EXPECT_EQ(Masked(Ip("10.255.255.255"), 12), Ip("10.240.0.0"));
  EXPECT_EQ(Masked(Ip("10.255.255.255"), 0), Ip("0.0.0.0"));
  EXPECT_EQ(Masked(Ip("10.255.255.255"), 99), Ip("10.255.255.255"));
  EXPECT_EQ(Masked(Ip("10.255.255.255"), -3), Ip("0.0.0.0"));
  EXPECT_EQ(Masked(Ip("2001:db8:ffff:ffff::1"), 36), Ip("2001:db8:f000::"));
}

TEST(ParseCidrTest, Forms) {
  Cidr c = Block("10.1.2.3/8");
  EXPECT_EQ(c.address, Ip("10.0.0.0"));
  EXPECT_EQ(c.prefix_len, 8);
  EXPECT_EQ(c.ToString(), "10.0.0.0/8");
  EXPECT_EQ(Block("1.2.3.4").prefix_len, 32);
  EXPECT_EQ(Block("1.2.3.4").ToString(), "1.2.3.4");
  EXPECT_EQ(Block("1.2.3.4/32").ToString(), "1.2.3.4");
  EXPECT_EQ(Block("0.0.0.0/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Block("2001:db8::1/32").ToString(), "2001:db8::/32");
  EXPECT_EQ(Block("2001:db8::1").prefix_len, 128);
  EXPECT_EQ(Block("::/0").ToString(), "::/0");
  // Mapped blocks fold into IPv4.
  EXPECT_EQ(Block("::ffff:10.9.9.9/104").ToString(), "10.0.0.0/8");
  EXPECT_EQ(Block("::ffff:0:0/96").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Block("::ffff:1.2.3.4").ToString(), "1.2.3.4");
  // Wider than the mapped range: an IPv6 block.
  Cidr wide = Block("::ffff:1.2.3.4/80");
  EXPECT_EQ(wide.address.family, IpFamily::kV6);
  EXPECT_EQ(wide.ToString(), "::/80");
}

TEST(ParseCidrTest, RejectsBadInput) {
  for (const char* bad :
       {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8",
        "1.2.3.4/8x", "1.2.3.4/0008", "1.2.3.4/8/8", "::/129", "x/8", "/8", "",
        "1.2.3/8", "2001:db8::/1000"}) {
    EXPECT_EQ(ParseCidr(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_NE(ParseCidr("1.2.3.4/33").status().message().find("1.2.3.4/33"),
            std::string::npos);
}

TEST(ContainsTest, Ipv4Prefixes) {
  EXPECT_TRUE(Contains(Block("0.0.0.0/0"), Ip("203.0.113.7")));
  EXPECT_TRUE(Contains(Block("0.0.0.0/0"), Ip("0.0.0.0")));
  EXPECT_FALSE(Contains(Block("0.0.0.0/0"), Ip("2001:db8::1")));
  EXPECT_TRUE(Contains(Block("10.0.0.0/8"), Ip("10.255.0.1")));
  EXPECT_FALSE(Contains(Block("10.0.0.0/8"), Ip("11.0.0.0")));
  EXPECT_FALSE(Contains(Block("10.0.0.0/8"), Ip("9.255.255.255")));
  EXPECT_TRUE(Contains(Block("192.168.1.0/24"), Ip("192.168.1.255")));
  EXPECT_FALSE(Contains(Block("192.168.1.0/24"), Ip("192.168.2.0")));
  EXPECT_TRUE(Contains(Block("192.168.1.7/32"), Ip("192.168.1.7")));
  EXPECT_FALSE(Contains(Block("192.168.1.7/32"), Ip("192.168.1.6")));
  EXPECT_TRUE(Contains(Block("10.0.0.0/8"), Ip("::ffff:10.1.1.1")));
}

TEST(ContainsTest, Ipv6Prefixes) {
  EXPECT_TRUE(Contains(Block("2001:db8:1:2::/64"), Ip("2001:db8:1:2:aaaa::1")));
  EXPECT_FALSE(Contains(Block("2001:db8:1:2::/64"), Ip("2001:db8:1:3::1")));
  EXPECT_TRUE(Contains(Block("::/0"), Ip("2001:db8::1")));
  EXPECT_FALSE(Contains(Block("::/0"), Ip("1.2.3.4")));
  EXPECT_TRUE(Contains(Block("2001:db8::/33"), Ip("2001:db8:7fff::1")));
  EXPECT_FALSE(Contains(Block("2001:db8::/33"), Ip("2001:db8:8000::1")));
  EXPECT_TRUE(Contains(Block("2001:db8::5"), Ip("2001:db8::5")));
  EXPECT_FALSE(Contains(Block("2001:db8::5"), Ip("2001:db8::4")));
}

TEST(HostCidrTest, FullLength) {
  EXPECT_EQ(HostCidr(Ip("1.2.3.4")), Block("1.2.3.4/32"));
  EXPECT_EQ(HostCidr(Ip("2001:db8::1")), Block("2001:db8::1/128"));
}

TEST(IpAddressTest, ClientBlockIsTheAddressOrTheSlash64) {
  EXPECT_EQ(ClientBlock(*ParseIp("203.0.113.7")).ToString(),
            "203.0.113.7");  // host: no suffix
  EXPECT_EQ(ClientBlock(*ParseIp("2001:db8:1:2:aaaa::9")).ToString(),
            "2001:db8:1:2::/64");
  // Every address of the /64 is inside its block; the next /64 is not.
  const Cidr block = ClientBlock(*ParseIp("2001:db8:1:2::1"));
  EXPECT_TRUE(Contains(block, *ParseIp("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(Contains(block, *ParseIp("2001:db8:1:3::1")));
}

}  // namespace
}  // namespace muwarden::guard
