#include "common/guard/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace muwarden::guard {
namespace {

// Longest text inet_pton can accept for IPv6 (INET6_ADDRSTRLEN without NUL).
constexpr size_t kMaxIpTextLen = 45;
// How much of bad input an error message quotes.
constexpr size_t kMaxQuotedLen = 64;

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};

std::string Quote(absl::string_view text) {
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuotedLen)),
                      text.size() > kMaxQuotedLen ? "...'" : "'");
}

bool IsMapped(const std::array<uint8_t, 16>& bytes) {
  return std::memcmp(bytes.data(), kMappedPrefix.data(),
                     kMappedPrefix.size()) == 0;
}

IpAddress FromV6Bytes(const uint8_t* src) {
  IpAddress ip;
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), src, bytes.size());
  if (IsMapped(bytes)) {
    ip.family = IpFamily::kV4;
    std::memcpy(ip.bytes.data(), bytes.data() + 12, 4);
  } else {
    ip.family = IpFamily::kV6;
    ip.bytes = bytes;
  }
  return ip;
}

}  // namespace

int MaxPrefixLen(IpFamily family) { return family == IpFamily::kV4 ? 32 : 128; }

IpAddress IpAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress ip;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

std::string IpAddress::ToString() const {
  if (family == IpFamily::kV4) {
    // By hand: formatting sits on the refusal path, where StrFormat was most of
    // its cost.
    char text[16];
    char* out = text;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) *out++ = '.';
      const uint8_t b = bytes[i];
      if (b >= 100) *out++ = static_cast<char>('0' + b / 100);
      if (b >= 10) *out++ = static_cast<char>('0' + b / 10 % 10);
      *out++ = static_cast<char>('0' + b % 10);
    }
    return std::string(text, static_cast<size_t>(out - text));
  }
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) {
    groups[i] = static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the
  // first one on a tie.
  int best_start = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    absl::StrAppend(&out, absl::Hex(groups[i]));
  }
  return out;
}

absl::StatusOr<IpAddress> ParseIp(absl::string_view text) {
  // inet_pton wants a C string; an embedded NUL would cut it short.
  if (text.empty() || text.size() > kMaxIpTextLen ||
      text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IP address: ", Quote(text)));
  }
  char buf[kMaxIpTextLen + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == absl::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
      IpAddress ip;
      std::memcpy(ip.bytes.data(), &v4.s_addr, 4);
      return ip;
    }
  } else {
    in6_addr v6;
    if (inet_pton(AF_INET6, buf, &v6) == 1) return FromV6Bytes(v6.s6_addr);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not an IP address: ", Quote(text)));
}

absl::StatusOr<IpAddress> FromSockaddr(const sockaddr* addr) {
  if (addr == nullptr) return absl::InvalidArgumentError("null sockaddr");
  if (addr->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, addr, sizeof(sin));
    IpAddress ip;
    std::memcpy(ip.bytes.data(), &sin.sin_addr.s_addr, 4);
    return ip;
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, addr, sizeof(sin6));
    return FromV6Bytes(sin6.sin6_addr.s6_addr);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported address family ", addr->sa_family));
}

IpKey KeyOf(const IpAddress& ip) {
  IpKey key;
  key.family = ip.family;
  const int n = ip.family == IpFamily::kV4 ? 4 : 8;
  for (int i = 0; i < n; ++i) key.bits = (key.bits << 8) | ip.bytes[i];
  return key;
}

IpAddress Masked(const IpAddress& ip, int prefix_len) {
  const int max = MaxPrefixLen(ip.family);
  if (prefix_len >= max) return ip;
  if (prefix_len < 0) prefix_len = 0;
  IpAddress out;
  out.family = ip.family;
  const int full = prefix_len / 8;
  std::memcpy(out.bytes.data(), ip.bytes.data(), static_cast<size_t>(full));
  if (const int rem = prefix_len % 8; rem != 0) {
    out.bytes[full] =
        static_cast<uint8_t>(ip.bytes[full] & (0xff << (8 - rem)));
  }
  return out;
}

std::string Cidr::ToString() const {
  if (prefix_len == MaxPrefixLen(address.family)) return address.ToString();
  return absl::StrCat(address.ToString(), "/", prefix_len);
}

absl::StatusOr<Cidr> ParseCidr(absl::string_view text) {
  const size_t slash = text.find('/');
  // ::ffff:a.b.c.d parses as IPv4; remember it was written as IPv6 so its
  // prefix length can be folded into the IPv4 range.
  absl::string_view addr_text = text.substr(0, slash);
  const bool v6_text = addr_text.find(':') != absl::string_view::npos;
  absl::StatusOr<IpAddress> ip = ParseIp(addr_text);
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IP address or CIDR: ", Quote(text)));
  }
  Cidr cidr;
  const int text_max = v6_text ? 128 : 32;
  int len = text_max;
  if (slash != absl::string_view::npos) {
    absl::string_view len_text = text.substr(slash + 1);
    // SimpleAtoi accepts signs and spaces; a prefix is digits only.
    const bool digits =
        !len_text.empty() && len_text.size() <= 3 &&
        std::all_of(len_text.begin(), len_text.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        });
    if (!digits || !absl::SimpleAtoi(len_text, &len) || len > text_max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad prefix length in ", Quote(text), " (0..", text_max, ")"));
    }
  }
  if (v6_text && ip->family == IpFamily::kV4) {
    // The text was ::ffff:a.b.c.d/len.
    if (len < 96) {
      // Wider than the mapped range: keep it as the IPv6 block it names.
      IpAddress v6;
      v6.family = IpFamily::kV6;
      std::memcpy(v6.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
      std::memcpy(v6.bytes.data() + 12, ip->bytes.data(), 4);
      cidr.address = Masked(v6, len);
      cidr.prefix_len = len;
      return cidr;
    }
    len -= 96;
  }
  cidr.address = Masked(*ip, len);
  cidr.prefix_len = len;
  return cidr;
}

Cidr HostCidr(const IpAddress& ip) {
  Cidr cidr;
  cidr.address = ip;
  cidr.prefix_len = MaxPrefixLen(ip.family);
  return cidr;
}

bool Contains(const Cidr& cidr, const IpAddress& ip) {
  return cidr.address.family == ip.family &&
         Masked(ip, cidr.prefix_len) == cidr.address;
}

Cidr ClientBlock(const IpAddress& ip) {
  if (ip.family == IpFamily::kV6) return Cidr{Masked(ip, 64), 64};
  return HostCidr(ip);
}

}  // namespace muwarden::guard
