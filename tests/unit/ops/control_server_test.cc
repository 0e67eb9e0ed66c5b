#include "common/ops/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace muwarden::ops {
namespace {

net::UniqueFd Connect(const std::string& path) {
  net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string Exchange(const std::string& path, const std::string& request) {
  net::UniqueFd fd = Connect(path);
  if (!request.empty()) {
    EXPECT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
  }
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::recv(fd.get(), buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
  return reply;
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/c.sock";
    auto s = ControlServer::Start(path_, [this](const std::string& line) {
      seen_ = line;
      if (line == "fail") return ControlReply{false, "no such thing"};
      return ControlReply{true, "did " + line};
    });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  testing::TempDir dir_{"control"};
  std::string path_;
  std::string seen_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, SocketIsOwnerOnly) {
  struct stat st{};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, OneLineInOneReplyOut) {
  EXPECT_EQ(Exchange(path_, "status\n"), "ok did status\n");
  EXPECT_EQ(seen_, "status");
  EXPECT_EQ(Exchange(path_, "fail\r\n"), "error no such thing\n");
}

TEST_F(ControlServerTest, RefusesAnOverlongLineWithoutCallingTheHandler) {
  EXPECT_EQ(Exchange(path_, std::string(kMaxControlLine + 1, 'x') + "\n"),
            "error command longer than 1024 bytes\n");
  EXPECT_EQ(seen_, "");
  EXPECT_EQ(Exchange(path_, "next\n"), "ok did next\n");
}

TEST_F(ControlServerTest, DropsASilentClientAtTheDeadline) {
  const absl::Time start = absl::Now();
  EXPECT_EQ(Exchange(path_, ""), "error no complete command line in time\n");
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kControlDeadline - absl::Milliseconds(100));
  EXPECT_LT(took, kControlDeadline + absl::Seconds(2));
  EXPECT_EQ(Exchange(path_, "after\n"), "ok did after\n");
}

TEST_F(ControlServerTest, RefusesASocketAnotherServerListensOn) {
  auto second = ControlServer::Start(path_, [](const std::string&) {
    return ControlReply{true, ""};
  });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ControlServerTest, ReplacesAStaleSocketAndRemovesItOnStop) {
  server_.reset();
  EXPECT_NE(::access(path_.c_str(), F_OK), 0);  // removed on stop
  // A socket file nobody listens on, as a crashed server leaves it.
  net::UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path_.data(), path_.size());
  ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  stale.Reset();
  auto again = ControlServer::Start(path_, [](const std::string&) {
    return ControlReply{true, "back"};
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Exchange(path_, "x\n"), "ok back\n");
}

}  // namespace
}  // namespace muwarden::ops
