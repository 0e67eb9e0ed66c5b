// Test support: GameServer packets built as a Season 6 client builds them
// (plain, before encryption), for the unit tests and the integration client
// alike. Deliberately not the server's builders: a test must be able to send
// what the server would never build (an uncut message, a forged name). The
// login request is the server's own codec (server/game/login.h BuildLogin).
// Header-only; pure functions, thread-safe.
#ifndef MUWARDEN_TESTS_SUPPORT_CLIENT_PACKETS_H_
#define MUWARDEN_TESTS_SUPPORT_CLIENT_PACKETS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace muwarden::testing {

// C1 <len> 00|02 <name: 10, zero-padded> <message> 00; `message` is not cut,
// so more than 241 bytes wrap the length byte like a broken client's would.
inline std::vector<uint8_t> ChatPacket(uint8_t code, const std::string& name,
                                       const std::string& message) {
  std::vector<uint8_t> p(13 + message.size() + 1, 0);
  p[0] = 0xC1;
  p[1] = static_cast<uint8_t>(p.size());
  p[2] = code;
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 10), p.begin() + 3);
  std::copy(message.begin(), message.end(), p.begin() + 13);
  return p;
}

// A Season 6 ping: C3 0C 0E 00 <tick LE> <attack speed 0> 00 00.
inline std::vector<uint8_t> PingPacket(uint32_t tick) {
  std::vector<uint8_t> p = {0xC3, 0x0C, 0x0E, 0x00, 0,    0,
                            0,    0,    0x00, 0x00, 0x00, 0x00};
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(tick >> (8 * i));
  return p;
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_CLIENT_PACKETS_H_
