// world-baseline: the least a server can do for muwarden's walk fan-out,
// measured beside it (scripts/bench world). One thread, one epoll loop, no
// limits, no deadlines, no encryption, no scope packets: a client connects and
// gets the 12-byte join `C1 0C F1 00 01 <id BE> 10404`, tells where it stands
// with `C1 05 12 <x> <y>`, then walks with the client's plain walk packet
// `C1 <len> D4 <x> <y> <rot<<4|n> <steps>`; every walk is answered with the
// same 8-byte `C1 08 D4 <id BE> <tx> <ty> <rot<<4>` that muwarden sends, to
// the walker and to every player who sees him before and after the walk
// (Chebyshev distance <= --view-range), by a non-blocking send() per observer.
// A send that would block is a drop (counted); a partial one closes that
// client. Whatever muwarden costs above this is the price of its design and
// its defences.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace {

constexpr int kBacklog = 4096;
constexpr size_t kMaxClients = 65536;
constexpr size_t kMaxBuffered = 4096;  // a client's unparsed bytes

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Client {
  int fd = -1;
  uint16_t id = 0;
  bool placed = false;
  int x = 0, y = 0;
  std::vector<uint8_t> in;
};

constexpr int kDx[8] = {-1, 0, 1, 1, 1, 0, -1, -1};
constexpr int kDy[8] = {-1, -1, -1, 0, 1, 1, 1, 0};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"world-baseline: minimal epoll walk fan-out (no layers)"};
  std::string bind = "127.0.0.1";
  int port = 0;
  int view_range = 12;
  app.add_option("--bind", bind, "IPv4 address to listen on");
  app.add_option("--port", port, "TCP port; 0 = any free port")
      ->check(CLI::Range(0, 65535));
  app.add_option("--view-range", view_range, "tiles in x and y")
      ->check(CLI::Range(1, 255));
  CLI11_PARSE(app, argc, argv);

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1 ||
      ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(lfd, kBacklog) != 0) {
    std::fprintf(stderr, "world-baseline: %s:%d: %s\n", bind.c_str(), port,
                 std::strerror(errno));
    return 1;
  }
  socklen_t alen = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::printf("listening on %s port %d\n", bind.c_str(), ntohs(addr.sin_port));
  std::fflush(stdout);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = UINT64_MAX;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  // Slot i holds object id i + 1; `placed` lists the slots in the world.
  std::vector<Client> clients;
  std::vector<size_t> free_slots;
  std::vector<size_t> placed;
  uint64_t walks = 0, delivered = 0, drops = 0, cut = 0;

  auto close_client = [&](size_t slot) {
    Client& c = clients[slot];
    if (c.fd < 0) return;
    close(c.fd);
    c.fd = -1;
    if (c.placed) {
      placed.erase(std::find(placed.begin(), placed.end(), slot));
      c.placed = false;
    }
    c.in.clear();
    free_slots.push_back(slot);
  };

  auto walk = [&](size_t slot, const uint8_t* f, size_t len) {
    Client& me = clients[slot];
    if (!me.placed || len < 6) return;
    const int n = f[5] & 0x0F;
    if (len < 6 + static_cast<size_t>((n + 1) / 2)) return;
    int tx = f[3], ty = f[4];
    for (int i = 0; i < n; ++i) {
      const uint8_t d = (i % 2 == 0 ? f[6 + i / 2] >> 4 : f[6 + i / 2]) & 7;
      tx = std::clamp(tx + kDx[d], 0, 255);
      ty = std::clamp(ty + kDy[d], 0, 255);
    }
    const int ox = me.x, oy = me.y;
    me.x = tx;
    me.y = ty;
    ++walks;
    const uint8_t out[8] = {0xC1,
                            0x08,
                            0xD4,
                            static_cast<uint8_t>(me.id >> 8),
                            static_cast<uint8_t>(me.id),
                            static_cast<uint8_t>(tx),
                            static_cast<uint8_t>(ty),
                            static_cast<uint8_t>((f[5] >> 4) << 4)};
    std::vector<size_t> to_cut;
    for (size_t other : placed) {
      const Client& o = clients[other];
      if (other != slot) {
        const bool was = std::max(std::abs(ox - o.x), std::abs(oy - o.y)) <=
                         view_range;
        const bool is = std::max(std::abs(tx - o.x), std::abs(ty - o.y)) <=
                        view_range;
        if (!was || !is) continue;
      }
      const ssize_t w =
          send(o.fd, out, sizeof(out), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w == static_cast<ssize_t>(sizeof(out))) {
        ++delivered;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ++drops;
      } else {
        to_cut.push_back(other);
      }
    }
    for (size_t other : to_cut) {
      ++cut;
      close_client(other);
    }
  };

  auto on_readable = [&](size_t slot) {
    uint8_t buf[16384];
    while (clients[slot].fd >= 0) {
      const ssize_t n = recv(clients[slot].fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close_client(slot);
        return;
      }
      if (n < 0) break;
      Client& c = clients[slot];
      c.in.insert(c.in.end(), buf, buf + n);
      size_t at = 0;
      while (c.in.size() - at >= 2) {
        const uint8_t* f = c.in.data() + at;
        const size_t len = f[1];
        if (f[0] != 0xC1 || len < 3) {
          close_client(slot);
          return;
        }
        if (c.in.size() - at < len) break;
        if (f[2] == 0x12 && len == 5 && !c.placed) {
          c.x = f[3];
          c.y = f[4];
          c.placed = true;
          placed.push_back(slot);
        } else if (f[2] == 0xD4) {
          walk(slot, f, len);
          if (clients[slot].fd < 0) return;
        }
        at += len;
      }
      Client& c2 = clients[slot];
      c2.in.erase(c2.in.begin(), c2.in.begin() + static_cast<long>(at));
      if (c2.in.size() > kMaxBuffered) {
        close_client(slot);
        return;
      }
    }
  };

  std::vector<epoll_event> events(1024);
  while (!g_stop) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                             1000);
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[static_cast<size_t>(i)].data.u64;
      if (key == UINT64_MAX) {
        while (true) {
          const int fd =
              accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (fd < 0) break;
          size_t slot;
          if (!free_slots.empty()) {
            slot = free_slots.back();
            free_slots.pop_back();
          } else if (clients.size() < kMaxClients) {
            slot = clients.size();
            clients.emplace_back();
          } else {
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          Client& c = clients[slot];
          c.fd = fd;
          c.id = static_cast<uint16_t>(slot + 1);
          const uint8_t join[12] = {0xC1, 0x0C, 0xF1, 0x00,
                                    0x01, static_cast<uint8_t>(c.id >> 8),
                                    static_cast<uint8_t>(c.id), '1',
                                    '0',  '4',
                                    '0',  '4'};
          ssize_t w = send(fd, join, sizeof(join), MSG_NOSIGNAL);
          (void)w;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.u64 = slot;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (key < clients.size() && clients[key].fd >= 0) on_readable(key);
    }
  }
  std::printf("walks: %llu\ndelivered: %llu\ndrops: %llu\ncut: %llu\n",
              static_cast<unsigned long long>(walks),
              static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(drops),
              static_cast<unsigned long long>(cut));
  return 0;
}
