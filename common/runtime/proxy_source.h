// ProxySource: refuses a flood autoban that would lock every player out. Behind
// Docker's userland proxy (published ports reached from the host itself, or
// rootless Docker) every connection comes from the bridge gateway; banning it
// refuses everyone. An autoban is refused, with an ERROR saying why, when the
// address is a default gateway or one of this host's own non-loopback
// addresses while most TCP connections of this network namespace come from it
// (loopback stays bannable: it is a test bench, not a proxy). The routes,
// interface addresses and socket table are read from /proc and getifaddrs at
// most every 10 s. The parsers are pure; RefuseProxyAutoban is thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_PROXY_SOURCE_H_
#define MUWARDEN_COMMON_RUNTIME_PROXY_SOURCE_H_

#include <cstddef>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/guard/ip_address.h"

namespace muwarden::runtime {

// The next hops of the default routes in /proc/net/route and
// /proc/net/ipv6_route text.
std::vector<guard::IpAddress> ParseDefaultGateways(absl::string_view route,
                                                   absl::string_view ipv6_route);

struct RemoteShare {
  size_t from_ip = 0;  // connected sockets whose peer is the address
  size_t total = 0;    // connected sockets with a peer off this host's loopback
};
// Counts the connected or connecting sockets in /proc/net/tcp and
// /proc/net/tcp6 text (not listeners, not TIME_WAIT, not loopback peers).
RemoteShare CountRemotes(absl::string_view tcp, absl::string_view tcp6,
                         const guard::IpAddress& ip);

// The decision: ip is a gateway or own address (not loopback) and most
// connections (or all, when there are none) come from it.
bool IsProxyLockout(const guard::IpAddress& ip,
                    const std::vector<guard::IpAddress>& gateways,
                    const std::vector<guard::IpAddress>& own,
                    const RemoteShare& share);

// The check Admission runs before it asks for a flood autoban: true (and an
// ERROR, at most once a minute) when the ban must not be made.
bool RefuseProxyAutoban(const guard::IpAddress& ip);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_PROXY_SOURCE_H_
