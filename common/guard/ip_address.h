// IP addresses, per-IP keys and CIDR blocks for the defence layers.
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is folded into the IPv4 address at parse
// time, so every later step (keying, bans, logs) sees one form. IPv6 clients
// are keyed per /64 because one host usually owns a whole /64. Pure;
// thread-safe.
#ifndef MUWARDEN_COMMON_GUARD_IP_ADDRESS_H_
#define MUWARDEN_COMMON_GUARD_IP_ADDRESS_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace muwarden::guard {

enum class IpFamily : uint8_t { kV4, kV6 };

// 32 for IPv4, 128 for IPv6.
int MaxPrefixLen(IpFamily family);

struct IpAddress {
  IpFamily family = IpFamily::kV4;
  // Network byte order. IPv4 uses bytes[0..3]; the rest stay zero so that
  // equality and hashing can look at the whole array.
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run
  // compressed, no embedded IPv4 since mapped addresses are already IPv4).
  std::string ToString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.family, a.bytes);
  }
};

// Accepts dotted-quad IPv4 and any inet_pton IPv6 form; no whitespace, zone
// ids or brackets. kInvalidArgument otherwise.
absl::StatusOr<IpAddress> ParseIp(absl::string_view text);
// AF_INET / AF_INET6 only; kInvalidArgument for null or another family.
absl::StatusOr<IpAddress> FromSockaddr(const sockaddr* addr);

// The unit every per-IP limit counts against: one IPv4 address, or one IPv6
// /64 (bits holds the top 64 bits of the address).
struct IpKey {
  IpFamily family = IpFamily::kV4;
  uint64_t bits = 0;

  friend bool operator==(const IpKey& a, const IpKey& b) {
    return a.family == b.family && a.bits == b.bits;
  }
  template <typename H>
  friend H AbslHashValue(H h, const IpKey& k) {
    return H::combine(std::move(h), k.family, k.bits);
  }
};

IpKey KeyOf(const IpAddress& ip);

// The address with every bit past prefix_len cleared. prefix_len is clamped to
// [0, MaxPrefixLen(ip.family)].
IpAddress Masked(const IpAddress& ip, int prefix_len);

// A CIDR block; address always has its host bits cleared.
struct Cidr {
  IpAddress address;
  int prefix_len = 32;

  // "a.b.c.d/n", or the bare address for a /32 or /128.
  std::string ToString() const;

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.prefix_len == b.prefix_len && a.address == b.address;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Cidr& c) {
    return H::combine(std::move(h), c.address, c.prefix_len);
  }
};

// "addr/len" or a bare address (= /32 or /128). Host bits are accepted and
// cleared. An IPv6 block inside ::ffff:0:0/96 becomes the IPv4 block it
// covers; a wider IPv6 block never matches IPv4 addresses.
absl::StatusOr<Cidr> ParseCidr(absl::string_view text);

// The exact block covering one address.
// The block one client controls, the same grouping as KeyOf: the IPv4 address
// itself, or the IPv6 /64 it is in. Autobans cover this block.
Cidr ClientBlock(const IpAddress& ip);

Cidr HostCidr(const IpAddress& ip);

bool Contains(const Cidr& cidr, const IpAddress& ip);

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_IP_ADDRESS_H_
