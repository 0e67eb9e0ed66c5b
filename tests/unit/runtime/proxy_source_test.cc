#include "common/runtime/proxy_source.h"

#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

using guard::IpAddress;

IpAddress Ip(const char* text) { return *guard::ParseIp(text); }

// Real lines from a Docker container: the default route via 172.17.0.1, the
// container's own 172.17.0.2.
constexpr char kRoute[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
constexpr char kIpv6Route[] =
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"
    "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";

// Two connections from the gateway, one from elsewhere, one listener, a
// health probe over loopback and a closed one in TIME_WAIT.
constexpr char kTcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
    "   0: 00000000:AD55 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
    "   1: 020011AC:AD55 010011AC:D431 01 00000000:00000000 00:00000000 00000000\n"
    "   2: 020011AC:AD55 010011AC:D432 01 00000000:00000000 00:00000000 00000000\n"
    "   3: 020011AC:AD55 0771000A:D433 01 00000000:00000000 00:00000000 00000000\n"
    "   4: 0100007F:AD55 0100007F:D435 01 00000000:00000000 00:00000000 00000000\n"
    "   5: 020011AC:AD55 0871000A:D436 06 00000000:00000000 00:00000000 00000000\n";
// One IPv4-mapped connection from the gateway on a dual-stack socket.
constexpr char kTcp6[] =
    "  sl  local_address                         remote_address                        st\n"
    "   0: 0000000000000000FFFF0000020011AC:AD55 0000000000000000FFFF0000010011AC:D434 01\n";

TEST(ProxySourceTest, ParsesDefaultGatewaysOfBothFamilies) {
  auto gateways = ParseDefaultGateways(kRoute, kIpv6Route);
  ASSERT_EQ(gateways.size(), 2u);
  EXPECT_EQ(gateways[0], Ip("172.17.0.1"));
  EXPECT_EQ(gateways[1], Ip("fe80::1"));
}

TEST(ProxySourceTest, CountsConnectedSocketsByPeer) {
  RemoteShare share = CountRemotes(kTcp, kTcp6, Ip("172.17.0.1"));
  EXPECT_EQ(share.total, 4u);    // the listener is left out
  EXPECT_EQ(share.from_ip, 3u);  // the mapped one counts as IPv4
  EXPECT_EQ(CountRemotes(kTcp, "", Ip("10.0.113.7")).from_ip, 1u);
}

TEST(ProxySourceTest, RefusesTheGatewayOnlyWhileMostConnectionsComeFromIt) {
  const std::vector<IpAddress> gw = {Ip("172.17.0.1")};
  const std::vector<IpAddress> own = {Ip("172.17.0.2")};
  EXPECT_TRUE(IsProxyLockout(Ip("172.17.0.1"), gw, own, {3, 4}));
  EXPECT_TRUE(IsProxyLockout(Ip("172.17.0.1"), gw, own, {0, 0}));
  EXPECT_FALSE(IsProxyLockout(Ip("172.17.0.1"), gw, own, {2, 4}));
  EXPECT_TRUE(IsProxyLockout(Ip("172.17.0.2"), gw, own, {5, 6}));
}

TEST(ProxySourceTest, AnyOtherAddressAndLoopbackStayBannable) {
  const std::vector<IpAddress> gw = {Ip("172.17.0.1"), Ip("127.0.0.1")};
  EXPECT_FALSE(IsProxyLockout(Ip("203.0.113.7"), gw, {}, {10, 10}));
  EXPECT_FALSE(IsProxyLockout(Ip("127.0.0.1"), gw, {Ip("::1")}, {10, 10}));
  EXPECT_FALSE(IsProxyLockout(Ip("::1"), gw, {Ip("::1")}, {10, 10}));
  EXPECT_FALSE(RefuseProxyAutoban(Ip("127.0.15.1")));
}

}  // namespace
}  // namespace muwarden::runtime
