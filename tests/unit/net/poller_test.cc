#include "common/net/poller.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/net/socket.h"
#include "gtest/gtest.h"

namespace muwarden::net {
namespace {

class SystemPollerTest : public ::testing::Test {
 protected:
  SystemPollerTest() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    a_.Reset(sv[0]);
    b_.Reset(sv[1]);
  }
  // A deadline already passed: poll() does not sleep.
  absl::Time Passed() const { return clock_.Now() - absl::Seconds(1); }

  FakeClock clock_;
  SystemPoller poller_{clock_};
  UniqueFd a_;
  UniqueFd b_;
};

TEST_F(SystemPollerTest, NothingReadyByThePassedDeadlineIsEmpty) {
  auto ready = poller_.Wait(a_.get(), POLLIN, -1, Passed());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->socket, 0);
  EXPECT_FALSE(ready->wake);
}

TEST_F(SystemPollerTest, ReadableSocket) {
  ASSERT_EQ(::send(b_.get(), "x", 1, MSG_NOSIGNAL), 1);
  auto ready = poller_.Wait(a_.get(), POLLIN, -1, absl::InfiniteFuture());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->socket & POLLIN);
  EXPECT_FALSE(ready->wake);
}

TEST_F(SystemPollerTest, WritableSocket) {
  auto ready = poller_.Wait(a_.get(), POLLOUT, -1, absl::InfiniteFuture());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->socket & POLLOUT);
}

TEST_F(SystemPollerTest, HangUpIsReported) {
  b_.Reset();
  auto ready = poller_.Wait(a_.get(), POLLIN, -1, absl::InfiniteFuture());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_NE(ready->socket, 0);
}

TEST_F(SystemPollerTest, WakeDescriptor) {
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(wake.valid());
  auto idle = poller_.Wait(a_.get(), POLLIN, wake.get(), Passed());
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->wake);
  const uint64_t one = 1;
  ASSERT_EQ(::write(wake.get(), &one, sizeof(one)), 8);
  auto ready =
      poller_.Wait(a_.get(), POLLIN, wake.get(), absl::InfiniteFuture());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->wake);
  EXPECT_EQ(ready->socket, 0);
}

TEST_F(SystemPollerTest, BadDescriptorIsNval) {
  auto ready = poller_.Wait(1000000, POLLIN, -1, absl::InfiniteFuture());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->socket & POLLNVAL);
}

}  // namespace
}  // namespace muwarden::net
