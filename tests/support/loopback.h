// Test support: a blocking TCP client connected to 127.0.0.1:port, for the unit
// tests of the units that listen. Header-only; thread-safe.
#ifndef MUWARDEN_TESTS_SUPPORT_LOOPBACK_H_
#define MUWARDEN_TESTS_SUPPORT_LOOPBACK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/net/socket.h"
#include "gtest/gtest.h"

namespace muwarden::testing {

// Connects a blocking client to 127.0.0.1:port (a test failure if it cannot).
inline net::UniqueFd ConnectV4(int port) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0)
      << std::strerror(errno);
  return fd;
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_LOOPBACK_H_
