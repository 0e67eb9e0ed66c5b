#include "common/runtime/acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/net/socket.h"
#include "gtest/gtest.h"
#include "tests/support/loopback.h"

namespace muwarden::runtime {
namespace {

using ::muwarden::testing::ConnectV4;

TEST(AcceptorTest, HandsEachConnectionToTheCallback) {
  Mutex mu;
  CondVar cv;
  std::vector<std::string> peers;
  std::vector<bool> non_blocking;
  Acceptor acceptor(
      {"127.0.0.1", 0, 16},
      [&](net::UniqueFd fd, const sockaddr_storage& addr) {
        MutexLock lock(&mu);
        peers.push_back(net::IpToString(addr));
        non_blocking.push_back((::fcntl(fd.get(), F_GETFL, 0) & O_NONBLOCK) !=
                               0);
        cv.Signal();
      },
      [](net::UniqueFd, const sockaddr_storage&) { FAIL(); });
  ASSERT_TRUE(acceptor.Listen().ok());
  ASSERT_GT(acceptor.port(), 0);
  acceptor.Start();
  net::UniqueFd a = ConnectV4(acceptor.port());
  net::UniqueFd b = ConnectV4(acceptor.port());
  {
    MutexLock lock(&mu);
    cv.WaitWithTimeout(
        &mu, absl::Seconds(10),
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return peers.size() == 2; });
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_EQ(peers[0], "127.0.0.1");
    EXPECT_EQ(peers[1], "127.0.0.1");
    EXPECT_EQ(non_blocking, std::vector<bool>({true, true}));
  }
  acceptor.Stop();
  EXPECT_EQ(acceptor.accept_errors(), 0u);
  EXPECT_EQ(acceptor.fd_exhausted(), 0u);
}

TEST(AcceptorTest, StopWakesTheBlockingAcceptAndClosesTheListener) {
  Acceptor acceptor(
      {"127.0.0.1", 0, 16}, [](net::UniqueFd, const sockaddr_storage&) {},
      [](net::UniqueFd, const sockaddr_storage&) {});
  ASSERT_TRUE(acceptor.Listen().ok());
  const int port = acceptor.port();
  acceptor.Start();
  acceptor.Stop();  // returns: the accept thread has been woken and joined
  acceptor.Stop();  // idempotent
  // The port is free again.
  auto again = net::Listen("127.0.0.1", port, 16);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(AcceptorTest, ListenFailureNamesTheAddress) {
  Acceptor acceptor(
      {"192.0.2.1", 7000, 16}, [](net::UniqueFd, const sockaddr_storage&) {},
      [](net::UniqueFd, const sockaddr_storage&) {});
  absl::Status status = acceptor.Listen();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), absl::StrCat("cannot bind 192.0.2.1:7000: ",
                                           std::strerror(EADDRNOTAVAIL)));
}

}  // namespace
}  // namespace muwarden::runtime
