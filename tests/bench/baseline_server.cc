// baseline-server: the least a TCP server can do per connection, measured
// beside muwarden on the same machine at the same moment. One thread, one
// blocking accept4() loop: accept and close (`--mode close`), or accept, send
// the ConnectServer hello and close (`--mode hello`). No limits, no logging,
// no state: whatever muwarden costs above this is the price of its defences.
// `--wait poll` shapes the loop like muwarden's accept thread (poll, then
// non-blocking accepts until EAGAIN) to tell the loop's cost from Layer 1's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "CLI/CLI.hpp"

namespace {

constexpr uint8_t kHello[] = {0xC1, 0x04, 0x00, 0x01};
// Same backlog as muwarden's listener, so both queue the same flood.
constexpr int kBacklog = 4096;

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"baseline-server: minimal accept+close / accept+hello+close"};
  std::string bind = "127.0.0.1";
  int port = 0;
  std::string mode = "close";
  std::string close_mode = "rst";
  std::string wait = "accept";
  app.add_option("--bind", bind, "IPv4 address to listen on");
  app.add_option("--port", port, "TCP port; 0 = any free port")
      ->check(CLI::Range(0, 65535));
  app.add_option("--mode", mode,
                 "close: accept+close; hello: accept+hello+close")
      ->check(CLI::IsMember({"close", "hello"}));
  app.add_option("--close", close_mode,
                 "rst: SO_LINGER 0 like muwarden's Layer 1 refusal; fin: "
                 "plain close")
      ->check(CLI::IsMember({"rst", "fin"}));
  app.add_option("--wait", wait,
                 "accept: block in accept4; poll: poll, then accept4 until "
                 "EAGAIN (muwarden's loop shape)")
      ->check(CLI::IsMember({"accept", "poll"}));
  CLI11_PARSE(app, argc, argv);

  // No SA_RESTART: a signal interrupts the blocking accept so the loop ends.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "baseline-server: not an IPv4 address: %s\n",
                 bind.c_str());
    return 2;
  }
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(lfd, kBacklog) != 0) {
    std::fprintf(stderr, "baseline-server: %s:%d: %s\n", bind.c_str(), port,
                 std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on %s port %d\n", bind.c_str(), ntohs(addr.sin_port));
  std::fflush(stdout);

  const bool use_poll = wait == "poll";
  const int accept_flags = SOCK_CLOEXEC | (use_poll ? SOCK_NONBLOCK : 0);
  if (use_poll) {
    int flags = fcntl(lfd, F_GETFL);
    fcntl(lfd, F_SETFL, flags | O_NONBLOCK);
  }
  const bool hello = mode == "hello";
  const bool rst = close_mode == "rst";
  const linger reset{1, 0};
  uint64_t accepted = 0;
  uint64_t errors = 0;
  bool need_poll = use_poll;
  while (!g_stop) {
    if (need_poll) {
      pollfd p{lfd, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      need_poll = false;
    }
    int fd = accept4(lfd, nullptr, nullptr, accept_flags);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        need_poll = true;  // drained: wait for the next one
        continue;
      }
      ++errors;
      // EMFILE and the like: do not spin.
      usleep(1000);
      continue;
    }
    ++accepted;
    if (hello) {
      ssize_t sent = send(fd, kHello, sizeof(kHello), MSG_NOSIGNAL);
      (void)sent;
    }
    if (rst) setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
  }
  std::printf("accepted: %llu\naccept_errors: %llu\n",
              static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(errors));
  return 0;
}
