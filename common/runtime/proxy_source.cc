#include "common/runtime/proxy_source.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/durable_file.h"
#include "common/base/log.h"
#include "common/base/mutex.h"

namespace muwarden::runtime {
namespace {

constexpr absl::Duration kRefresh = absl::Seconds(10);
constexpr absl::Duration kLogEvery = absl::Minutes(1);
// /proc/net/tcp holds ~150 bytes per socket; a few hundred thousand sockets
// fit.
constexpr size_t kMaxProcBytes = 64 << 20;

// 8 hex digits of a 32-bit word as the kernel prints it (host byte order).
bool HexWord(absl::string_view hex, uint32_t* word) {
  return hex.size() == 8 && absl::SimpleHexAtoi(hex, word);
}

// An IPv4 address printed by the kernel as one host-order word (x86: the
// bytes reversed).
bool V4FromProcWord(absl::string_view hex, guard::IpAddress* ip) {
  uint32_t w = 0;
  if (!HexWord(hex, &w)) return false;
  *ip = guard::IpAddress{};
  std::memcpy(ip->bytes.data(), &w, 4);
  return true;
}

// /proc/net/tcp6: four host-order words; ipv6_route: 32 hex digits in
// network order (words = false).
bool V6FromProc(absl::string_view hex, bool words, guard::IpAddress* ip) {
  if (hex.size() != 32) return false;
  guard::IpAddress out;
  out.family = guard::IpFamily::kV6;
  for (int i = 0; i < 4; ++i) {
    uint32_t w = 0;
    if (!HexWord(hex.substr(static_cast<size_t>(i) * 8, 8), &w)) return false;
    if (!words) {
      const uint8_t b[4] = {static_cast<uint8_t>(w >> 24),
                            static_cast<uint8_t>(w >> 16),
                            static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)};
      std::memcpy(out.bytes.data() + i * 4, b, 4);
    } else {
      std::memcpy(out.bytes.data() + i * 4, &w, 4);
    }
  }
  // A mapped ::ffff:a.b.c.d is the IPv4 address, as everywhere else.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), kMapped, 12) == 0) {
    guard::IpAddress v4;
    std::memcpy(v4.bytes.data(), out.bytes.data() + 12, 4);
    out = v4;
  }
  *ip = out;
  return true;
}

bool IsZero(const guard::IpAddress& ip) {
  return std::all_of(ip.bytes.begin(), ip.bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

bool IsLoopback(const guard::IpAddress& ip) {
  if (ip.family == guard::IpFamily::kV4) return ip.bytes[0] == 127;
  for (int i = 0; i < 15; ++i) {
    if (ip.bytes[static_cast<size_t>(i)] != 0) return false;
  }
  return ip.bytes[15] == 1;
}

void CountTable(absl::string_view text, bool v6, const guard::IpAddress& ip,
                RemoteShare& share) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    // sl local_address rem_address st ...: only sockets that are connected or
    // connecting (01 ESTABLISHED, 02 SYN_SENT, 03 SYN_RECV); closed ones
    // waiting out TIME_WAIT and listeners say nothing about who is here now.
    if (f.size() < 4 || (f[3] != "01" && f[3] != "02" && f[3] != "03")) continue;
    const size_t colon = f[2].find(':');
    if (colon == absl::string_view::npos) continue;
    guard::IpAddress remote;
    const absl::string_view hex = f[2].substr(0, colon);
    if (!(v6 ? V6FromProc(hex, true, &remote) : V4FromProcWord(hex, &remote))) {
      continue;
    }
    // Local traffic (the health probe, a sidecar) is not a client.
    if (IsZero(remote) || IsLoopback(remote)) continue;
    ++share.total;
    if (remote == ip) ++share.from_ip;
  }
}

std::string ReadProc(const std::string& path) {
  auto text = ReadWholeFile(path, kMaxProcBytes);
  return text.ok() ? *text : std::string();
}

std::vector<guard::IpAddress> OwnAddresses() {
  std::vector<guard::IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    auto ip = guard::FromSockaddr(i->ifa_addr);
    if (ip.ok()) out.push_back(*ip);
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

std::vector<guard::IpAddress> ParseDefaultGateways(absl::string_view route,
                                                   absl::string_view ipv6_route) {
  std::vector<guard::IpAddress> out;
  for (absl::string_view line : absl::StrSplit(route, '\n')) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
    guard::IpAddress gw;
    if (f.size() < 8 || f[1] != "00000000" || f[7] != "00000000") continue;
    if (V4FromProcWord(f[2], &gw) && !IsZero(gw)) out.push_back(gw);
  }
  for (absl::string_view line : absl::StrSplit(ipv6_route, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    // dest dest_len src src_len next_hop metric refcnt use flags iface
    guard::IpAddress dest, gw;
    if (f.size() < 10 || f[1] != "00") continue;
    if (!V6FromProc(f[0], false, &dest) || !IsZero(dest)) continue;
    if (V6FromProc(f[4], false, &gw) && !IsZero(gw)) out.push_back(gw);
  }
  return out;
}

RemoteShare CountRemotes(absl::string_view tcp, absl::string_view tcp6,
                         const guard::IpAddress& ip) {
  RemoteShare share;
  CountTable(tcp, false, ip, share);
  CountTable(tcp6, true, ip, share);
  return share;
}

bool IsProxyLockout(const guard::IpAddress& ip,
                    const std::vector<guard::IpAddress>& gateways,
                    const std::vector<guard::IpAddress>& own,
                    const RemoteShare& share) {
  if (IsLoopback(ip)) return false;
  const bool host_side =
      std::find(gateways.begin(), gateways.end(), ip) != gateways.end() ||
      std::find(own.begin(), own.end(), ip) != own.end();
  if (!host_side) return false;
  return share.total == 0 || share.from_ip * 2 > share.total;
}

bool RefuseProxyAutoban(const guard::IpAddress& ip) {
  if (IsLoopback(ip)) return false;
  struct State {
    Mutex mu;
    absl::Time refreshed ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    std::vector<guard::IpAddress> gateways ABSL_GUARDED_BY(mu);
    std::vector<guard::IpAddress> own ABSL_GUARDED_BY(mu);
    absl::Time logged ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  };
  static State* state = new State();
  const absl::Time now = Clock::Real().Now();
  MutexLock lock(&state->mu);
  if (now - state->refreshed > kRefresh) {
    state->gateways = ParseDefaultGateways(ReadProc("/proc/net/route"),
                                           ReadProc("/proc/net/ipv6_route"));
    state->own = OwnAddresses();
    state->refreshed = now;
  }
  const bool host_side =
      std::find(state->gateways.begin(), state->gateways.end(), ip) !=
          state->gateways.end() ||
      std::find(state->own.begin(), state->own.end(), ip) != state->own.end();
  if (!host_side) return false;
  // Only a gateway or own address gets this far; the socket table is read
  // for those alone, and the ERROR below caps how often.
  const RemoteShare share = CountRemotes(ReadProc("/proc/net/tcp"),
                                         ReadProc("/proc/net/tcp6"), ip);
  if (!IsProxyLockout(ip, state->gateways, state->own, share)) return false;
  if (now - state->logged >= kLogEvery) {
    state->logged = now;
    LogError("security",
             absl::StrCat(
                 "Refusing to auto-ban ", ip.ToString(),
                 ": it is this host's default gateway or own address and ",
                 share.from_ip, " of ", share.total,
                 " connections come from it, so every client arrives through "
                 "it (Docker's userland proxy or NAT). Banning it would refuse "
                 "every player. Run the container with host networking "
                 "(README, SECURITY.md) so muwarden sees real client "
                 "addresses; this address stays rate limited."));
  }
  return true;
}

}  // namespace muwarden::runtime
