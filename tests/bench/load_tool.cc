// load-tool: bounded load against a server on this machine, for the bench
// script and the load smoke test. Modes: a connect flood from many 127.x source
// addresses on T threads, holding K idle connections, a legitimate client's
// connect->first-byte latency probe, a packet flood over one connection, and
// world players (login, list, create, select like the 10404 client, then walk
// and chat with the client's ciphers and counters).
// Loopback only: any other target or source address is refused. Every mode
// stops by itself after --duration and --count. Prints `key: value` lines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/crypto/client_cipher.h"
#include "common/crypto/simple_modulus.h"
#include "server/game/login.h"
#include "tests/support/hex.h"

namespace muwarden::load {
namespace {

// Hard bounds, whatever the flags say: a mistyped run still ends.
constexpr double kMaxDurationS = 600;
constexpr uint64_t kMaxCount = 100'000'000;
constexpr int kMaxThreads = 256;
constexpr int kMaxConnections = 1'000'000;
constexpr uint32_t kMaxSources = 1u << 24;  // all of 127.0.0.0/8
constexpr uint8_t kHello[] = {0xC1, 0x04, 0x00, 0x01};

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  uint32_t sources = 1;
  std::string source_base;  // empty: a per-mode default, so modes run side by
                            // side from disjoint addresses
  int threads = 1;
  double duration_s = 2;
  uint64_t count = 1'000'000;
  int inflight = 8;  // flood: connections under way at once per thread
  double rate =
      0;  // flood: connections per second over all threads; 0 = flat out
  std::string expect = "none";
  std::string close = "rst";
  int connections = 100;
  double hold_s = 1;
  double interval_ms = 10;
  std::string packet = "C1 04 F4 06";
  int timeout_ms = 2000;
  // world: accounts <prefix>0.. with this password must exist.
  std::string account_prefix = "load";
  std::string password = "load";
  double walk_rate = 2;  // walks per second per player
  int chat_every = 0;    // a public chat every N walks; 0 = none
  // fanout: --connections players on a grid of one map, each walking one
  // step every 1/walk_rate s, every move timed to each observer.
  std::string protocol = "mu";  // mu: muwarden's 10404; plain: world-baseline
  int spacing_x = 4;
  int spacing_y = 3;
  int origin = 20;
  int view_range = 12;
  double warmup_s = 2;
  int windows = 3;
  int server_pid = 0;
  int stall = 0;  // 1: the player in the middle of the grid stops reading
};

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
};

// The target: an IPv4 address in 127.0.0.0/8, ::1 or "localhost".
bool ParseLoopbackTarget(const std::string& host, int port, Target* target,
                         std::string* why) {
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) != 127) {
      *why = "not a loopback address (127.0.0.0/8 or ::1): " + host;
      return false;
    }
    auto* sin = reinterpret_cast<sockaddr_in*>(&target->addr);
    sin->sin_family = AF_INET;
    sin->sin_addr = v4;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    target->len = sizeof(sockaddr_in);
    target->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6)) {
      *why = "not a loopback address (127.0.0.0/8 or ::1): " + host;
      return false;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&target->addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = v6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    target->len = sizeof(sockaddr_in6);
    target->family = AF_INET6;
    return true;
  }
  *why = "not a numeric loopback address (127.0.0.0/8 or ::1): " + host;
  return false;
}

// Source addresses base, base+1, ... (host byte order), all inside 127/8.
// Empty with `why` set when they would leave it. An IPv6 target is dialled
// from ::1 without binding.
bool SourceAddresses(const Options& o, const Target& target,
                     std::vector<uint32_t>* out, std::string* why) {
  if (target.family == AF_INET6) {
    if (o.sources != 1 || !o.source_base.empty()) {
      *why = "source addresses are IPv4 only; an IPv6 target uses ::1";
      return false;
    }
    out->assign(1, 0);
    return true;
  }
  std::string base = o.source_base;
  if (base.empty()) {
    if (o.mode == "flood") base = "127.1.0.1";
    if (o.mode == "hold") base = "127.2.0.1";
    if (o.mode == "probe") base = "127.3.0.1";
    if (o.mode == "packets") base = "127.4.0.1";
    if (o.mode == "world") base = "127.5.0.1";
    if (o.mode == "fanout") base = "127.6.0.1";
  }
  in_addr v4{};
  if (inet_pton(AF_INET, base.c_str(), &v4) != 1) {
    *why = "--source-base is not an IPv4 address: " + base;
    return false;
  }
  const uint32_t first = ntohl(v4.s_addr);
  const uint64_t last = static_cast<uint64_t>(first) + o.sources - 1;
  if ((first >> 24) != 127 || (last >> 24) != 127) {
    *why = "source addresses must stay inside 127.0.0.0/8";
    return false;
  }
  out->clear();
  for (uint32_t i = 0; i < o.sources; ++i) out->push_back(first + i);
  return true;
}

timeval ToTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

// A TCP socket for `target` (with `flags` such as SOCK_NONBLOCK) bound to
// `source` (host order; 0 = no bind), or -1 with *err = errno.
int SourceSocket(const Target& target, uint32_t source, int flags, int* err) {
  int fd = socket(target.family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (source != 0) {
    // The port is picked at connect() from the full 4-tuple, so each source
    // address has the whole ephemeral range for this target.
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(source);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      *err = errno;
      close(fd);
      return -1;
    }
  }
  return fd;
}

// Connects from `source` (host order; 0 = no bind) with connect and read
// timeouts. The fd, or -1 with *err = errno.
int Dial(const Target& target, uint32_t source, int timeout_ms, int* err,
         int rcvbuf = 0) {
  int fd = SourceSocket(target, source, 0, err);
  if (fd < 0) return -1;
  // Before connect, so the window the peer is offered is small from the start.
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  const timeval tv = ToTimeval(timeout_ms);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target.addr),
              target.len) != 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

void CloseSocket(int fd, bool rst) {
  if (rst) {
    // No TIME_WAIT on our side: a long flood would otherwise run out of
    // ports.
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close(fd);
}

enum class HelloEnd { kGotHello, kOther, kClosed, kTimeout };

// Reads the 4-byte hello (the socket's SO_RCVTIMEO bounds each wait).
HelloEnd ReadHello(int fd) {
  uint8_t buf[sizeof(kHello)];
  size_t got = 0;
  while (got < sizeof(buf)) {
    ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return got == 0 ? HelloEnd::kClosed : HelloEnd::kOther;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return HelloEnd::kTimeout;
    return got == 0 ? HelloEnd::kClosed : HelloEnd::kOther;
  }
  return std::memcmp(buf, kHello, sizeof(kHello)) == 0 ? HelloEnd::kGotHello
                                                       : HelloEnd::kOther;
}

void Print(const char* key, uint64_t value) {
  std::printf("%s: %llu\n", key, static_cast<unsigned long long>(value));
}
void Print(const char* key, double value) {
  std::printf("%s: %.3f\n", key, value);
}
void Print(const char* key, const std::string& value) {
  std::printf("%s: %s\n", key, value.c_str());
}

struct DialErrors {
  uint64_t refused = 0;  // ECONNREFUSED: nothing listening
  uint64_t timeout = 0;  // SYN not answered in time (backlog full)
  uint64_t no_port = 0;  // EADDRNOTAVAIL: ephemeral ports of a source
  uint64_t no_fd = 0;    // EMFILE/ENFILE
  uint64_t other = 0;

  void Add(int err) {
    switch (err) {
      case ECONNREFUSED:
        ++refused;
        break;
      case EAGAIN:
      case EINPROGRESS:
      case ETIMEDOUT:
        ++timeout;
        break;
      case EADDRNOTAVAIL:
      case EADDRINUSE:
        ++no_port;
        break;
      case EMFILE:
      case ENFILE:
        ++no_fd;
        break;
      default:
        ++other;
    }
  }
  void Merge(const DialErrors& o) {
    refused += o.refused;
    timeout += o.timeout;
    no_port += o.no_port;
    no_fd += o.no_fd;
    other += o.other;
  }
  uint64_t total() const { return refused + timeout + no_port + no_fd + other; }
  void PrintAll() const {
    Print("connect_errors", total());
    Print("connect_refused", refused);
    Print("connect_timeouts", timeout);
    Print("connect_no_port", no_port);
    Print("connect_no_fd", no_fd);
    Print("connect_other_errors", other);
  }
};

struct FloodStats {
  uint64_t connections = 0;  // connect() succeeded
  uint64_t hello = 0;
  uint64_t closed_without_hello = 0;  // refused after accept (EOF or reset)
  uint64_t wrong_bytes = 0;
  uint64_t read_timeouts = 0;
  DialErrors errors;
};

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Starts a non-blocking connect from `source` (host order; 0 = no bind). The
// fd with *in_progress telling whether the handshake is still under way, or
// -1 with *err = errno.
int StartDial(const Target& target, uint32_t source, bool* in_progress,
              int* err) {
  int fd = SourceSocket(target, source, SOCK_NONBLOCK, err);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target.addr),
              target.len) == 0) {
    *in_progress = false;
    return fd;
  }
  if (errno == EINPROGRESS) {
    *in_progress = true;
    return fd;
  }
  *err = errno;
  close(fd);
  return -1;
}

// One flood thread: up to --inflight connections at once on one epoll set, so
// one load core keeps a server busy without a thread per connection (each
// blocked thread would leave the server core idle between connections, and
// the run would measure wake-up latency instead of the server).
void FloodThread(const Options& o, const Target& target,
                 const std::vector<uint32_t>& sources, absl::Time start,
                 absl::Time end, std::atomic<uint64_t>& claimed,
                 FloodStats& s) {
  Clock& clock = Clock::Real();
  const bool expect_hello = o.expect == "hello";
  const bool rst = o.close == "rst";
  const absl::Duration timeout = absl::Milliseconds(o.timeout_ms);
  struct Pending {
    absl::Time deadline;
    bool connecting = true;
    size_t got = 0;
    uint8_t buf[sizeof(kHello)];
  };
  absl::flat_hash_map<int, Pending> pending;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    s.errors.Add(errno);
    return;
  }
  auto finish = [&](int fd, bool registered) {
    if (registered) epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    CloseSocket(fd, rst);
    pending.erase(fd);
  };
  // The handshake completed: count it, then close or wait for the hello.
  auto established = [&](int fd, bool registered) {
    ++s.connections;
    if (!expect_hello) {
      finish(fd, registered);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    pending[fd].connecting = false;
  };
  bool claiming = true;
  bool have_next = false;
  uint64_t next = 0;
  absl::Time last_scan = clock.Now();
  epoll_event events[256];
  while (true) {
    absl::Time now = clock.Now();
    absl::Time wake = now + absl::Milliseconds(10);
    if (now >= end) claiming = false;
    while (claiming && pending.size() < static_cast<size_t>(o.inflight)) {
      if (!have_next) {
        next = claimed.fetch_add(1, std::memory_order_relaxed);
        if (next >= o.count) {
          claiming = false;
          break;
        }
        have_next = true;
      }
      if (o.rate > 0) {
        // Connection n is due at start + n / rate: every server measured
        // sees the same arrivals, whatever its speed.
        const absl::Time due =
            start + absl::Seconds(static_cast<double>(next) / o.rate);
        if (due >= end) {
          claiming = false;
          break;
        }
        if (due > now) {
          wake = std::min(wake, due);
          break;
        }
      }
      have_next = false;
      bool in_progress = false;
      int err = 0;
      const int fd =
          StartDial(target, sources[next % sources.size()], &in_progress, &err);
      if (fd < 0) {
        s.errors.Add(err);
        continue;
      }
      Pending& p = pending[fd];
      p = Pending{};
      p.deadline = now + timeout;
      if (!in_progress) {
        established(fd, false);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    if (!claiming && pending.empty()) break;
    const int wait_ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - clock.Now())));
    const int n = epoll_wait(ep, events, 256, wait_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      auto it = pending.find(fd);
      if (it == pending.end()) continue;
      Pending& p = it->second;
      if (p.connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0 || err == ECONNRESET || err == EPIPE) {
          // A reset needs a connection: accepted and closed before we
          // looked. What the server sent before it is still readable.
          established(fd, true);
        } else {
          s.errors.Add(err);
          finish(fd, true);
        }
        continue;
      }
      const ssize_t got = recv(fd, p.buf + p.got, sizeof(p.buf) - p.got, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got > 0) {
        p.got += static_cast<size_t>(got);
        if (p.got < sizeof(p.buf)) continue;
        if (std::memcmp(p.buf, kHello, sizeof(kHello)) == 0) {
          ++s.hello;
        } else {
          ++s.wrong_bytes;
        }
      } else if (p.got == 0) {
        ++s.closed_without_hello;  // EOF or reset before any byte
      } else {
        ++s.wrong_bytes;
      }
      finish(fd, true);
    }
    now = clock.Now();
    if (now - last_scan >= absl::Milliseconds(10)) {
      last_scan = now;
      std::vector<int> expired;
      for (const auto& [fd, p] : pending) {
        if (p.deadline <= now) expired.push_back(fd);
      }
      for (int fd : expired) {
        if (pending[fd].connecting) {
          s.errors.Add(ETIMEDOUT);
        } else {
          ++s.read_timeouts;
        }
        finish(fd, true);
      }
    }
  }
  close(ep);
}

int RunFlood(const Options& o, const Target& target,
             const std::vector<uint32_t>& sources) {
  Clock& clock = Clock::Real();
  const double cpu_at_start = ProcessCpuSeconds();
  const bool expect_hello = o.expect == "hello";
  std::atomic<uint64_t> claimed{0};
  std::vector<FloodStats> stats(static_cast<size_t>(o.threads));
  const absl::Time start = clock.Now();
  const absl::Time end = start + absl::Seconds(o.duration_s);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      FloodThread(o, target, sources, start, end, claimed,
                  stats[static_cast<size_t>(t)]);
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = absl::ToDoubleSeconds(clock.Now() - start);
  FloodStats total;
  for (const FloodStats& s : stats) {
    total.connections += s.connections;
    total.hello += s.hello;
    total.closed_without_hello += s.closed_without_hello;
    total.wrong_bytes += s.wrong_bytes;
    total.read_timeouts += s.read_timeouts;
    total.errors.Merge(s.errors);
  }
  Print("mode", std::string("flood"));
  Print("threads", static_cast<uint64_t>(o.threads));
  Print("inflight", static_cast<uint64_t>(o.inflight));
  Print("sources", static_cast<uint64_t>(sources.size()));
  Print("elapsed_s", elapsed);
  Print("connections", total.connections);
  total.errors.PrintAll();
  if (expect_hello) {
    Print("hello", total.hello);
    Print("closed_without_hello", total.closed_without_hello);
    Print("wrong_bytes", total.wrong_bytes);
    Print("read_timeouts", total.read_timeouts);
    Print("hello_per_s", elapsed > 0 ? total.hello / elapsed : 0.0);
  }
  Print("connections_per_s", elapsed > 0 ? total.connections / elapsed : 0.0);
  // Our own CPU per connection: tells whether the load or the server was the
  // bottleneck.
  const double cpu_s = ProcessCpuSeconds() - cpu_at_start;
  Print("client_cpu_us_per_conn",
        total.connections > 0 ? cpu_s * 1e6 / total.connections : 0.0);
  return 0;
}

// True while the server has neither closed nor reset the connection.
bool StillOpen(int fd) {
  uint8_t byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return true;  // unexpected bytes, but open
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int RunHold(const Options& o, const Target& target,
            const std::vector<uint32_t>& sources) {
  Clock& clock = Clock::Real();
  const bool rst = o.close == "rst";
  const absl::Time start = clock.Now();
  const absl::Time open_until = start + absl::Seconds(o.duration_s);
  std::atomic<int> claimed{0};
  std::atomic<bool> out_of_fds{false};
  struct PerThread {
    std::vector<int> fds;
    uint64_t refused = 0;  // closed by the server instead of the hello
    uint64_t wrong_bytes = 0;
    uint64_t read_timeouts = 0;
    DialErrors errors;
  };
  std::vector<PerThread> per(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      PerThread& p = per[static_cast<size_t>(t)];
      while (clock.Now() < open_until && !out_of_fds.load()) {
        const int n = claimed.fetch_add(1);
        if (n >= o.connections) break;
        int err = 0;
        int fd = Dial(target, sources[static_cast<size_t>(n) % sources.size()],
                      o.timeout_ms, &err);
        if (fd < 0) {
          p.errors.Add(err);
          if (err == EMFILE || err == ENFILE) out_of_fds = true;
          continue;
        }
        switch (ReadHello(fd)) {
          case HelloEnd::kGotHello:
            p.fds.push_back(fd);
            continue;
          case HelloEnd::kClosed:
            ++p.refused;
            break;
          case HelloEnd::kOther:
            ++p.wrong_bytes;
            break;
          case HelloEnd::kTimeout:
            ++p.read_timeouts;
            break;
        }
        CloseSocket(fd, rst);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int> fds;
  PerThread total;
  for (PerThread& p : per) {
    fds.insert(fds.end(), p.fds.begin(), p.fds.end());
    total.refused += p.refused;
    total.wrong_bytes += p.wrong_bytes;
    total.read_timeouts += p.read_timeouts;
    total.errors.Merge(p.errors);
  }
  Print("mode", std::string("hold"));
  Print("sources", static_cast<uint64_t>(sources.size()));
  Print("open_s", absl::ToDoubleSeconds(clock.Now() - start));
  Print("refused", total.refused);
  Print("wrong_bytes", total.wrong_bytes);
  Print("read_timeouts", total.read_timeouts);
  total.errors.PrintAll();
  Print("fd_limit_reached", std::string(out_of_fds ? "yes" : "no"));
  // The bench script reads the server's memory once this line is out.
  Print("held", static_cast<uint64_t>(fds.size()));
  std::fflush(stdout);
  absl::SleepFor(absl::Seconds(o.hold_s));
  uint64_t open = 0;
  for (int fd : fds) open += StillOpen(fd) ? 1 : 0;
  Print("still_open", open);
  for (int fd : fds) CloseSocket(fd, rst);
  return 0;
}

uint64_t Percentile(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest sample with at least q of them at or below.
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int RunProbe(const Options& o, const Target& target,
             const std::vector<uint32_t>& sources) {
  Clock& clock = Clock::Real();
  const absl::Time start = clock.Now();
  const absl::Time end = start + absl::Seconds(o.duration_s);
  const absl::Duration interval = absl::Microseconds(o.interval_ms * 1000);
  std::vector<uint64_t> samples_us;
  // connect() alone: the kernel's part (SYN queue, accept queue room), apart
  // from the server's accept and hello.
  std::vector<uint64_t> connect_us;
  uint64_t closed = 0, timeouts = 0, wrong = 0, attempts = 0;
  DialErrors errors;
  absl::Time next = start;
  while (attempts < o.count) {
    const absl::Time now = clock.Now();
    if (now >= end) break;
    if (now < next) {
      absl::SleepFor(next - now);
      continue;
    }
    next += interval;
    const uint32_t source = sources[attempts % sources.size()];
    ++attempts;
    const absl::Time t0 = clock.Now();
    int err = 0;
    int fd = Dial(target, source, o.timeout_ms, &err);
    if (fd < 0) {
      errors.Add(err);
      continue;
    }
    connect_us.push_back(
        static_cast<uint64_t>(absl::ToInt64Microseconds(clock.Now() - t0)));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // The first byte is what a player waits for; the rest of the hello is in
    // the same segment.
    const HelloEnd result = ReadHello(fd);
    const absl::Duration latency = clock.Now() - t0;
    CloseSocket(fd, true);
    switch (result) {
      case HelloEnd::kGotHello:
        samples_us.push_back(
            static_cast<uint64_t>(absl::ToInt64Microseconds(latency)));
        break;
      case HelloEnd::kClosed:
        ++closed;
        break;
      case HelloEnd::kOther:
        ++wrong;
        break;
      case HelloEnd::kTimeout:
        ++timeouts;
        break;
    }
  }
  std::vector<uint64_t> sorted = samples_us;
  std::sort(sorted.begin(), sorted.end());
  Print("mode", std::string("probe"));
  Print("attempts", attempts);
  Print("samples", static_cast<uint64_t>(sorted.size()));
  Print("failures", attempts - sorted.size());
  Print("closed_without_hello", closed);
  Print("wrong_bytes", wrong);
  Print("read_timeouts", timeouts);
  errors.PrintAll();
  Print("p50_us", Percentile(sorted, 0.50));
  Print("p99_us", Percentile(sorted, 0.99));
  Print("max_us", sorted.empty() ? 0 : sorted.back());
  std::sort(connect_us.begin(), connect_us.end());
  Print("connect_p50_us", Percentile(connect_us, 0.50));
  Print("connect_p99_us", Percentile(connect_us, 0.99));
  return 0;
}

int RunPackets(const Options& o, const Target& target,
               const std::vector<uint32_t>& sources) {
  std::optional<std::vector<uint8_t>> parsed = testing::ParseHex(o.packet);
  if (!parsed.has_value() || parsed->empty()) {
    std::fprintf(stderr, "load-tool: --packet is not hex bytes: %s\n",
                 o.packet.c_str());
    return 2;
  }
  const std::vector<uint8_t> packet = *std::move(parsed);
  Clock& clock = Clock::Real();
  int err = 0;
  int fd = Dial(target, sources[0], o.timeout_ms, &err);
  if (fd < 0) {
    std::fprintf(stderr, "load-tool: connect: %s\n", std::strerror(err));
    Print("mode", std::string("packets"));
    Print("connected", std::string("no"));
    return 1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const HelloEnd hello = ReadHello(fd);
  const absl::Time start = clock.Now();
  const absl::Time end = start + absl::Seconds(o.duration_s);
  uint64_t sent = 0;
  uint64_t received = 0;
  bool server_closed = hello != HelloEnd::kGotHello;
  uint8_t sink[16384];
  auto drain = [&](int flags) {
    while (true) {
      ssize_t n = recv(fd, sink, sizeof(sink), flags);
      if (n > 0) {
        received += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        server_closed = true;
      return;
    }
  };
  while (!server_closed && sent < o.count && clock.Now() < end) {
    ssize_t n = send(fd, packet.data(), packet.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: the send timed out; the server stopped reading.
      if (errno != EAGAIN && errno != EWOULDBLOCK) server_closed = true;
      break;
    }
    if (static_cast<size_t>(n) == packet.size()) ++sent;
    drain(MSG_DONTWAIT);
  }
  const double elapsed = absl::ToDoubleSeconds(clock.Now() - start);
  // Answers already delivered stay readable after a reset: count them too.
  drain(MSG_DONTWAIT);
  if (!server_closed) {
    // Give the server its chance to answer the last packets or to close.
    pollfd p{fd, POLLIN, 0};
    const absl::Time wait_until = clock.Now() + absl::Milliseconds(200);
    while (!server_closed && clock.Now() < wait_until) {
      if (poll(&p, 1, 20) > 0) drain(MSG_DONTWAIT);
    }
  }
  CloseSocket(fd, true);
  Print("mode", std::string("packets"));
  Print("connected", std::string("yes"));
  Print("hello", std::string(hello == HelloEnd::kGotHello ? "yes" : "no"));
  Print("packet_bytes", static_cast<uint64_t>(packet.size()));
  Print("packets_sent", sent);
  Print("bytes_received", received);
  Print("server_closed", std::string(server_closed ? "yes" : "no"));
  Print("elapsed_s", elapsed);
  Print("packets_per_s", elapsed > 0 ? sent / elapsed : 0.0);
  return 0;
}

// One world player: a blocking socket with --timeout-ms per operation and the
// client's halves of the ciphers.
struct WorldPlayer {
  int fd = -1;
  uint16_t id = 0;
  uint8_t x = 0, y = 0;
  crypto::SimpleModulusEncryptor enc{crypto::kClientToServerKeys};
  crypto::SimpleModulusDecryptor dec{crypto::kServerToClientKeys};
  std::vector<uint8_t> in;  // bytes read, not yet a whole frame
  bool closed = false;
  uint64_t moves_received = 0;
  uint64_t chat_received = 0;

  bool Send(const std::vector<uint8_t>& plain) {
    auto wire = crypto::EncryptLikeClient(plain, enc);
    if (!wire.ok()) return false;
    const ssize_t n = send(fd, wire->data(), wire->size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(wire->size())) closed = true;
    return !closed;
  }
  // Reads what is there (waiting up to `wait_ms` for the first bytes) and
  // hands every whole frame, decrypted, to `on`; counts moves and chat.
  template <typename F>
  void Pump(int wait_ms, F&& on) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) <= 0) return;
    uint8_t buf[16384];
    while (true) {
      const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        in.insert(in.end(), buf, buf + n);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        closed = true;
      break;
    }
    size_t at = 0;
    while (in.size() - at >= 3) {
      const uint8_t t = in[at];
      size_t len = in[at + 1];
      if (t == 0xC2 || t == 0xC4) len = size_t{in[at + 1]} << 8 | in[at + 2];
      if (len < 3 || (t < 0xC1 || t > 0xC4)) {
        closed = true;
        break;
      }
      if (in.size() - at < len) break;
      std::vector<uint8_t> frame(in.begin() + at, in.begin() + at + len);
      at += len;
      if (t == 0xC3 || t == 0xC4) {
        std::vector<uint8_t> out(frame.size());
        auto m = crypto::DecryptFromServer(frame, dec, absl::MakeSpan(out));
        if (!m.ok()) {
          closed = true;
          break;
        }
        out.resize(*m);
        frame = std::move(out);
      }
      if (t == 0xC1 && frame.size() == 8 && frame[2] == 0xD4) ++moves_received;
      if (t == 0xC1 && frame.size() > 13 && frame[2] == 0x00) ++chat_received;
      on(frame);
    }
    in.erase(in.begin(), in.begin() + at);
  }
  // Pumps until a frame matches or `timeout_ms` passes.
  template <typename F>
  bool WaitFor(int timeout_ms, F&& match) {
    const absl::Time until = absl::Now() + absl::Milliseconds(timeout_ms);
    bool found = false;
    while (!found && !closed && absl::Now() < until) {
      Pump(20, [&](const std::vector<uint8_t>& f) {
        if (!found && match(f)) found = true;
      });
    }
    return found;
  }
};

std::vector<uint8_t> NamePacket(std::vector<uint8_t> head,
                                const std::string& name) {
  for (size_t i = 0; i < 10; ++i) {
    head.push_back(i < name.size() ? static_cast<uint8_t>(name[i]) : 0);
  }
  head[1] = static_cast<uint8_t>(head.size() + (head[3] == 0x01 ? 1 : 0));
  return head;
}

// Login, list, create (Dark Knight; kept if it exists), select; false when a
// step gets no answer.
bool EnterWorld(const Options& o, const Target& target, uint32_t source,
                int index, WorldPlayer* p, int rcvbuf = 0) {
  int err = 0;
  p->fd = Dial(target, source, o.timeout_ms, &err, rcvbuf);
  if (p->fd < 0) return false;
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<uint8_t> join;
  if (!p->WaitFor(o.timeout_ms, [&](const std::vector<uint8_t>& f) {
        join = f;
        return f.size() == 12 && f[2] == 0xF1;
      })) {
    return false;
  }
  p->id = static_cast<uint16_t>(join[5] << 8 | join[6]);
  const std::string account = o.account_prefix + std::to_string(index);
  game::LoginRequest login;
  login.username = account;
  login.password = o.password;
  login.version = "10404";
  login.serial = "k1Pk2jcET48mxL3b";
  if (!p->Send(game::BuildLogin(login)) ||
      !p->WaitFor(o.timeout_ms, [](const std::vector<uint8_t>& f) {
        return f.size() == 5 && f[2] == 0xF1 && f[3] == 0x01 && f[4] == 1;
      })) {
    return false;
  }
  auto is = [](uint8_t sub) {
    return [sub](const std::vector<uint8_t>& f) {
      return f.size() >= 4 && f[0] == 0xC1 && f[2] == 0xF3 && f[3] == sub;
    };
  };
  const std::string character = "Ld" + std::to_string(index);
  std::vector<uint8_t> create = NamePacket({0xC1, 0, 0xF3, 0x01}, character);
  create.push_back(0x10);
  if (!p->Send({0xC1, 0x05, 0xF3, 0x00, 0x00}) ||
      !p->WaitFor(o.timeout_ms, is(0x00)) || !p->Send(create) ||
      !p->WaitFor(o.timeout_ms, is(0x01)) ||
      !p->Send(NamePacket({0xC1, 0, 0xF3, 0x03}, character))) {
    return false;
  }
  return p->WaitFor(o.timeout_ms, [&](const std::vector<uint8_t>& f) {
    if (f.size() != 72 || f[0] != 0xC3 || f[2] != 0xF3 || f[3] != 0x03) {
      return false;
    }
    p->x = f[4];
    p->y = f[5];
    return true;
  });
}

int RunWorld(const Options& o, const Target& target,
             const std::vector<uint32_t>& sources) {
  const int players = std::min(o.connections, 4096);
  std::vector<WorldPlayer> all(static_cast<size_t>(players));
  std::atomic<int> entered{0};
  std::atomic<int> threads_ready{0};
  std::atomic<uint64_t> walks{0}, chats{0};
  const int threads = std::min(o.threads, players);
  const absl::Time start = absl::Now();
  const absl::Duration interval =
      absl::Seconds(1.0 / std::max(o.walk_rate, 0.01));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<WorldPlayer*> mine;
      for (int i = t; i < players; i += threads) {
        WorldPlayer& p = all[static_cast<size_t>(i)];
        if (EnterWorld(o, target, sources[static_cast<size_t>(i) % sources.size()],
                       i, &p)) {
          entered.fetch_add(1);
          mine.push_back(&p);
        }
      }
      // Everyone walks once every player is in, so every observer is there
      // for every move (bounded: each thread's entering has its timeouts).
      threads_ready.fetch_add(1);
      const absl::Time wait_until = absl::Now() + absl::Seconds(60);
      while (threads_ready.load() < threads && absl::Now() < wait_until) {
        for (WorldPlayer* p : mine) p->Pump(1, [](const std::vector<uint8_t>&) {});
      }
      const absl::Time end = absl::Now() + absl::Seconds(o.duration_s);
      absl::Time next = absl::Now();
      uint64_t n = 0;
      while (absl::Now() < end && n < o.count) {
        for (WorldPlayer* p : mine) {
          if (p->closed) continue;
          // A turn where it stands: always allowed, broadcast to everyone
          // in view.
          p->Send({0xC1, 0x06, 0xD4, p->x, p->y,
                   static_cast<uint8_t>((n % 8) << 4)});
          walks.fetch_add(1, std::memory_order_relaxed);
          if (o.chat_every > 0 && n % static_cast<uint64_t>(o.chat_every) == 0) {
            std::vector<uint8_t> chat(13, 0);
            chat[0] = 0xC1;
            chat[2] = 0x00;
            const std::string text = "load " + std::to_string(n);
            chat.insert(chat.end(), text.begin(), text.end());
            chat.push_back(0);
            chat[1] = static_cast<uint8_t>(chat.size());
            p->Send(chat);
            chats.fetch_add(1, std::memory_order_relaxed);
          }
          p->Pump(0, [](const std::vector<uint8_t>&) {});
        }
        ++n;
        next += interval;
        while (absl::Now() < next) {
          for (WorldPlayer* p : mine) {
            if (!p->closed) p->Pump(1, [](const std::vector<uint8_t>&) {});
          }
        }
      }
      for (WorldPlayer* p : mine) {
        p->WaitFor(200, [](const std::vector<uint8_t>&) { return false; });
      }
    });
  }
  for (auto& th : pool) th.join();
  uint64_t moves = 0, chat_in = 0, closed = 0;
  for (WorldPlayer& p : all) {
    moves += p.moves_received;
    chat_in += p.chat_received;
    if (p.closed) ++closed;
    if (p.fd >= 0) CloseSocket(p.fd, false);
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  Print("mode", std::string("world"));
  Print("players", static_cast<uint64_t>(players));
  Print("players_in_world", static_cast<uint64_t>(entered.load()));
  Print("walks_sent", walks.load());
  Print("moves_received", moves);
  Print("chat_sent", chats.load());
  Print("chat_received", chat_in);
  Print("players_closed_by_server", closed);
  Print("elapsed_s", elapsed);
  return entered.load() == players ? 0 : 1;
}


// ---- fanout: N players on a grid, one step each every 1/R s -------------

struct GridPos {
  int x = 0, y = 0;
};

// Player i's tile: columns of ceil(sqrt(N)), spacing_x by spacing_y tiles
// apart, from (origin, origin). scripts/bench writes the same positions into
// the account database for the muwarden run.
GridPos GridOf(const Options& o, int i, int n) {
  const int cols = static_cast<int>(std::ceil(std::sqrt(double(n))));
  return {o.origin + (i % cols) * o.spacing_x,
          o.origin + (i / cols) * o.spacing_y};
}

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// utime+stime of `pid` in clock ticks; -1 when unreadable.
int64_t CpuTicks(int pid) {
  if (pid <= 0) return -1;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  // Fields after ")": state is the 1st, utime the 12th, stime the 13th.
  long long v[13] = {};
  int field = 0;
  for (const char* q = p + 2; *q != 0 && field < 13;) {
    if (field == 0) {
      ++q;
    } else {
      v[field] = std::strtoll(q, const_cast<char**>(&q), 10);
    }
    ++field;
    while (*q == ' ') ++q;
  }
  return v[11] + v[12];
}

uint64_t StatusField(int pid, const char* key) {
  if (pid <= 0) return 0;
  FILE* f =
      std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t value = 0;
  const size_t klen = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
      value = std::strtoull(line + klen + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return value;
}

struct FanPlayer {
  WorldPlayer w;  // socket, ciphers, unparsed bytes
  int home_x = 0;
  uint32_t seq = 0;  // steps sent; the D4's rotation carries seq % 8
  bool stalled = false;
  bool reading_closed = false;  // the server closed a reading player
  // Per walker seen: the rotation of the last D4 received, to count gaps.
  absl::flat_hash_map<uint16_t, uint8_t> last_seq;
};

struct WindowFigures {
  uint64_t deliveries = 0;
  uint64_t walks = 0;
  uint64_t missing = 0;
  double seconds = 0;
  double cpu_s = -1;
  std::vector<uint32_t> lat_us;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

int RunFanout(const Options& o, const Target& target,
              const std::vector<uint32_t>& sources) {
  const bool plain = o.protocol == "plain";
  const int n = std::min(o.connections, 4096);
  const int cols = static_cast<int>(std::ceil(std::sqrt(double(n))));
  const int rows = (n + cols - 1) / cols;
  const int stalled_index =
      o.stall > 0 ? std::min(n - 1, (rows / 2) * cols + cols / 2) : -1;
  // Its neighbour on the left whispers to it, so its buffers fill in seconds
  // rather than minutes (moves are 8 bytes); muwarden only.
  const int whisperer = stalled_index > 0 ? stalled_index - 1 : -1;
  std::vector<FanPlayer> all(static_cast<size_t>(n));
  std::atomic<int> entered{0}, misplaced{0};
  const int threads = std::min(std::max(o.threads, 1), n);
  const int64_t login_start = MonoNs();
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int i = t; i < n; i += threads) {
          FanPlayer& p = all[static_cast<size_t>(i)];
          const uint32_t source = sources[static_cast<size_t>(i) % sources.size()];
          const int rcvbuf = i == stalled_index ? 2048 : 0;
          const GridPos at = GridOf(o, i, n);
          bool ok;
          if (plain) {
            int err = 0;
            p.w.fd = Dial(target, source, o.timeout_ms, &err, rcvbuf);
            ok = p.w.fd >= 0;
            std::vector<uint8_t> join;
            ok = ok && p.w.WaitFor(o.timeout_ms, [&](const std::vector<uint8_t>& f) {
              join = f;
              return f.size() == 12 && f[2] == 0xF1;
            });
            if (ok) {
              p.w.id = static_cast<uint16_t>(join[5] << 8 | join[6]);
              p.w.x = static_cast<uint8_t>(at.x);
              p.w.y = static_cast<uint8_t>(at.y);
              const uint8_t place[5] = {0xC1, 0x05, 0x12, p.w.x, p.w.y};
              ok = send(p.w.fd, place, sizeof(place), MSG_NOSIGNAL) == 5;
            }
          } else {
            ok = EnterWorld(o, target, source, i, &p.w, rcvbuf);
            if (ok && (p.w.x != at.x || p.w.y != at.y)) misplaced.fetch_add(1);
          }
          if (ok) entered.fetch_add(1);
          p.home_x = p.w.x;
          if (!ok) p.w.closed = true;
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  const double login_s = double(MonoNs() - login_start) / 1e9;

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < n; ++i) {
    FanPlayer& p = all[static_cast<size_t>(i)];
    if (p.w.fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, p.w.fd, &ev);
  }
  // When each walker sent each of its last 8 steps, by object id and seq % 8.
  std::vector<int64_t> sent_ns(size_t{0x8000} * 8, 0);
  const int64_t interval_ns =
      static_cast<int64_t>(1e9 / std::max(o.walk_rate, 0.01));
  const int64_t t0 = MonoNs() + 100'000'000;
  const int64_t warm_end = t0 + static_cast<int64_t>(o.warmup_s * 1e9);
  const int windows = std::max(1, o.windows);
  const int64_t window_ns = static_cast<int64_t>(o.duration_s * 1e9);
  const int64_t run_end = warm_end + windows * window_ns;
  std::vector<WindowFigures> fig(static_cast<size_t>(windows));
  int64_t stall_since = -1, stall_cut_after = -1;
  uint64_t reading_disconnects = 0, send_failures = 0, whispers = 0;
  int current = -1;  // window being measured; -1 warm-up
  int64_t window_start = 0, cpu_at_start = -1;
  uint64_t g = 0;  // walks scheduled so far over all players
  const double tick_s = 1.0 / double(sysconf(_SC_CLK_TCK));

  auto mark_closed = [&](FanPlayer& p, int64_t now) {
    if (p.w.closed) return;
    p.w.closed = true;
    epoll_ctl(ep, EPOLL_CTL_DEL, p.w.fd, nullptr);
    if (p.stalled) {
      stall_cut_after = now - stall_since;
    } else {
      ++reading_disconnects;
    }
  };
  auto send_raw = [&](FanPlayer& p, const std::vector<uint8_t>& plain_packet) {
    if (plain) {
      const ssize_t w = send(p.w.fd, plain_packet.data(), plain_packet.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      return w == static_cast<ssize_t>(plain_packet.size());
    }
    auto wire = crypto::EncryptLikeClient(plain_packet, p.w.enc);
    if (!wire.ok()) return false;
    const ssize_t w =
        send(p.w.fd, wire->data(), wire->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return w == static_cast<ssize_t>(wire->size());
  };
  auto on_frame = [&](FanPlayer& p, const uint8_t* f, size_t len,
                      int64_t now) {
    if (f[0] == 0xC1 && len == 8 && f[2] == 0xD4) {
      const uint16_t id = static_cast<uint16_t>(f[3] << 8 | f[4]);
      const uint8_t rot = static_cast<uint8_t>((f[7] >> 4) & 7);
      auto [it, fresh] = p.last_seq.try_emplace(id, rot);
      const uint8_t gap = static_cast<uint8_t>((rot - it->second - 1) & 7);
      it->second = rot;
      if (current < 0) return;
      WindowFigures& w = fig[static_cast<size_t>(current)];
      ++w.deliveries;
      // world-baseline sends no 12/14, so a walker back in view there looks
      // like a gap: only muwarden's stream is checked.
      if (!fresh && !plain) w.missing += gap;
      const int64_t at = sent_ns[static_cast<size_t>(id & 0x7FFF) * 8 + rot];
      if (at > 0 && now >= at) {
        w.lat_us.push_back(static_cast<uint32_t>(
            std::min<int64_t>((now - at) / 1000, UINT32_MAX)));
      }
    } else if (f[0] == 0xC1 && len >= 4 && f[2] == 0x14) {
      // Out of view: its next move in view starts a new run of steps.
      for (size_t k = 4; k + 1 < len; k += 2) {
        p.last_seq.erase(static_cast<uint16_t>((f[k] << 8 | f[k + 1]) & 0x7FFF));
      }
    } else if (f[0] == 0xC2 && len >= 5 && f[3] == 0x12) {
      for (size_t k = 5; k + 36 <= len; k += 36) {
        p.last_seq.erase(static_cast<uint16_t>((f[k] << 8 | f[k + 1]) & 0x7FFF));
      }
    }
  };
  auto read_player = [&](FanPlayer& p, int64_t now) {
    uint8_t buf[65536];
    std::vector<uint8_t>& in = p.w.in;
    while (true) {
      const ssize_t r = recv(p.w.fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (r > 0) {
        in.insert(in.end(), buf, buf + r);
        if (static_cast<size_t>(r) < sizeof(buf)) break;
        continue;
      }
      if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        mark_closed(p, now);
        return;
      }
      break;
    }
    size_t at = 0;
    while (in.size() - at >= 3) {
      const uint8_t t = in[at];
      size_t len = in[at + 1];
      if (t == 0xC2 || t == 0xC4) len = size_t{in[at + 1]} << 8 | in[at + 2];
      if (len < 3 || t < 0xC1 || t > 0xC4) {
        mark_closed(p, now);
        return;
      }
      if (in.size() - at < len) break;
      if (t == 0xC3 || t == 0xC4) {
        std::vector<uint8_t> out(len);
        auto m = crypto::DecryptFromServer(
            absl::MakeConstSpan(in.data() + at, len), p.w.dec,
            absl::MakeSpan(out));
        if (m.ok()) on_frame(p, out.data(), *m, now);
      } else {
        on_frame(p, in.data() + at, len, now);
      }
      at += len;
    }
    in.erase(in.begin(), in.begin() + static_cast<long>(at));
  };

  std::vector<epoll_event> events(1024);
  while (true) {
    int64_t now = MonoNs();
    if (now >= run_end) break;
    // Window boundaries.
    const int want = now < warm_end ? -1
                                    : static_cast<int>((now - warm_end) / window_ns);
    if (want != current) {
      const int64_t cpu = CpuTicks(o.server_pid);
      if (current >= 0) {
        WindowFigures& w = fig[static_cast<size_t>(current)];
        w.seconds = double(now - window_start) / 1e9;
        if (cpu >= 0 && cpu_at_start >= 0) w.cpu_s = double(cpu - cpu_at_start) * tick_s;
      }
      current = want;
      window_start = now;
      cpu_at_start = cpu;
      if (current == 0 && stalled_index >= 0) {
        FanPlayer& s = all[static_cast<size_t>(stalled_index)];
        if (!s.w.closed) {
          s.stalled = true;
          stall_since = now;
          // Still told of a hang-up or reset, never of data.
          epoll_event ev{};
          ev.events = EPOLLRDHUP;
          ev.data.u64 = static_cast<uint64_t>(stalled_index);
          epoll_ctl(ep, EPOLL_CTL_MOD, s.w.fd, &ev);
        }
      }
    }
    // Walks due: walk g is player g % n's, at t0 + g * interval / n.
    for (int budget = 0; budget < 4 * n; ++budget) {
      const int64_t due =
          t0 + static_cast<int64_t>(g / static_cast<uint64_t>(n)) * interval_ns +
          static_cast<int64_t>(g % static_cast<uint64_t>(n)) * interval_ns / n;
      if (due > now) break;
      FanPlayer& p = all[g % static_cast<uint64_t>(n)];
      ++g;
      if (p.w.closed) continue;
      // One step east, then back west: everyone stays where the grid put him.
      const bool east = p.w.x == p.home_x;
      const uint8_t rot = static_cast<uint8_t>(p.seq % 8);
      const std::vector<uint8_t> walk = {
          0xC1, 0x07, 0xD4, p.w.x, p.w.y, static_cast<uint8_t>(rot << 4 | 1),
          static_cast<uint8_t>((east ? 3 : 7) << 4)};
      const int64_t stamp = MonoNs();
      if (!send_raw(p, walk)) {
        ++send_failures;
        mark_closed(p, stamp);
        continue;
      }
      sent_ns[static_cast<size_t>(p.w.id & 0x7FFF) * 8 + rot] = stamp;
      ++p.seq;
      p.w.x = static_cast<uint8_t>(east ? p.w.x + 1 : p.w.x - 1);
      if (current >= 0) ++fig[static_cast<size_t>(current)].walks;
      // Forty whispers of 200 bytes to the stalled player per step of the
      // whisperer (muwarden only; the baseline has no chat).
      if (!plain && p.stalled == false && whisperer >= 0 &&
          &p == &all[static_cast<size_t>(whisperer)] && stall_since >= 0 &&
          stall_cut_after < 0) {
        // C1 <len> 02 <receiver: 10 bytes> <message, 0-terminated>
        std::vector<uint8_t> whisper = {0xC1, 0, 0x02};
        const std::string to = "Ld" + std::to_string(stalled_index);
        for (size_t c = 0; c < 10; ++c) {
          whisper.push_back(c < to.size() ? static_cast<uint8_t>(to[c]) : 0);
        }
        whisper.insert(whisper.end(), 200, 'w');
        whisper.push_back(0);
        whisper[1] = static_cast<uint8_t>(whisper.size());
        for (int k = 0; k < 40; ++k) {
          if (send_raw(p, whisper)) ++whispers;
        }
      }
    }
    const int ready = epoll_wait(ep, events.data(),
                                 static_cast<int>(events.size()), 1);
    now = MonoNs();
    for (int k = 0; k < ready; ++k) {
      const epoll_event& ev = events[static_cast<size_t>(k)];
      FanPlayer& p = all[ev.data.u64];
      if (p.w.closed) continue;
      if (p.stalled) {
        mark_closed(p, now);
        continue;
      }
      read_player(p, now);
    }
  }
  // Close the last window.
  {
    const int64_t now = MonoNs();
    const int64_t cpu = CpuTicks(o.server_pid);
    if (current >= 0 && current < windows) {
      WindowFigures& w = fig[static_cast<size_t>(current)];
      w.seconds = double(now - window_start) / 1e9;
      if (cpu >= 0 && cpu_at_start >= 0) w.cpu_s = double(cpu - cpu_at_start) * tick_s;
    }
  }
  const uint64_t rss_kib = StatusField(o.server_pid, "VmRSS");
  const uint64_t server_threads = StatusField(o.server_pid, "Threads");
  // A stalled player that was not cut by now still may be: look once more.
  if (stalled_index >= 0) {
    FanPlayer& s = all[static_cast<size_t>(stalled_index)];
    if (!s.w.closed) {
      pollfd pf{s.w.fd, POLLRDHUP, 0};
      if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR | POLLRDHUP))) {
        mark_closed(s, MonoNs());
      }
    }
  }

  // Expected K from the grid: who sees player i (himself included).
  double k_sum = 0;
  for (int i = 0; i < n; ++i) {
    const GridPos a = GridOf(o, i, n);
    for (int j = 0; j < n; ++j) {
      const GridPos b = GridOf(o, j, n);
      if (std::max(std::abs(a.x - b.x), std::abs(a.y - b.y)) <= o.view_range) {
        k_sum += 1;
      }
    }
  }
  Print("mode", std::string("fanout"));
  Print("protocol", o.protocol);
  Print("players", static_cast<uint64_t>(n));
  Print("players_in_world", static_cast<uint64_t>(entered.load()));
  Print("misplaced", static_cast<uint64_t>(misplaced.load()));
  Print("login_s", login_s);
  Print("grid_observers_per_move", k_sum / n);
  std::vector<double> dps, cpu_us, p50, p99, mx, per_walk;
  uint64_t missing = 0;
  for (int w = 0; w < windows; ++w) {
    WindowFigures& f = fig[static_cast<size_t>(w)];
    std::sort(f.lat_us.begin(), f.lat_us.end());
    std::vector<uint64_t> lat(f.lat_us.begin(), f.lat_us.end());
    const double d = f.seconds > 0 ? double(f.deliveries) / f.seconds : 0;
    const double c = f.deliveries > 0 && f.cpu_s >= 0
                         ? f.cpu_s * 1e6 / double(f.deliveries)
                         : -1;
    const std::string tag = "w" + std::to_string(w + 1) + "_";
    std::printf("%sdeliveries_per_s: %.1f\n", tag.c_str(), d);
    std::printf("%sserver_cpu_s: %.3f\n", tag.c_str(), f.cpu_s);
    std::printf("%scpu_us_per_delivery: %.4f\n", tag.c_str(), c);
    std::printf("%sp50_ms: %.3f\n", tag.c_str(), Percentile(lat, 0.50) / 1e3);
    std::printf("%sp99_ms: %.3f\n", tag.c_str(), Percentile(lat, 0.99) / 1e3);
    std::printf("%smax_ms: %.3f\n", tag.c_str(), lat.empty() ? 0.0 : lat.back() / 1e3);
    std::printf("%smissing: %llu\n", tag.c_str(), static_cast<unsigned long long>(f.missing));
    dps.push_back(d);
    cpu_us.push_back(c);
    p50.push_back(Percentile(lat, 0.50) / 1e3);
    p99.push_back(Percentile(lat, 0.99) / 1e3);
    mx.push_back(lat.empty() ? 0.0 : lat.back() / 1e3);
    per_walk.push_back(f.walks > 0 ? double(f.deliveries) / double(f.walks) : 0);
    missing += f.missing;
  }
  Print("deliveries_per_s", Median(dps));
  Print("deliveries_per_walk", Median(per_walk));
  Print("cpu_us_per_delivery", Median(cpu_us));
  Print("p50_ms", Median(p50));
  Print("p99_ms", Median(p99));
  Print("max_ms", *std::max_element(mx.begin(), mx.end()));
  if (!plain) Print("missing", missing);  // plain: world-baseline counts its drops
  Print("reading_disconnects", reading_disconnects);
  Print("send_failures", send_failures);
  Print("server_rss_kib", rss_kib);
  Print("server_threads", server_threads);
  if (stalled_index >= 0) {
    Print("stalled_cut", std::string(stall_cut_after >= 0 ? "yes" : "no"));
    Print("stalled_cut_after_s",
          stall_cut_after >= 0 ? double(stall_cut_after) / 1e9 : -1.0);
    Print("whispers_to_stalled", whispers);
  }
  for (FanPlayer& p : all) {
    if (p.w.fd >= 0) CloseSocket(p.w.fd, true);
  }
  close(ep);
  return entered.load() == n ? 0 : 1;
}

// Uses the whole descriptor allowance: holding connections is the point.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace
}  // namespace muwarden::load

int main(int argc, char** argv) {
  using namespace muwarden::load;
  Options o;
  CLI::App app{
      "load-tool: bounded load against a server on loopback (127.0.0.0/8 or "
      "::1 only)"};
  app.add_option("--mode", o.mode,
                 "flood: connect flood; hold: keep idle connections; probe: "
                 "connect->first byte latency; packets: packet flood; world: "
                 "players that enter the world, walk and chat")
      ->required()
      ->check(CLI::IsMember(
          {"flood", "hold", "probe", "packets", "world", "fanout"}));
  app.add_option("--host", o.host, "target address (loopback only)");
  app.add_option("--port", o.port, "target port")
      ->required()
      ->check(CLI::Range(1, 65535));
  app.add_option("--sources", o.sources,
                 "distinct 127.x source addresses, used round-robin")
      ->check(CLI::Range(1u, kMaxSources));
  app.add_option("--source-base", o.source_base,
                 "first source address (default per mode: flood 127.1.0.1, "
                 "hold 127.2.0.1, probe 127.3.0.1, packets 127.4.0.1)");
  app.add_option("--threads", o.threads, "flood/hold: client threads")
      ->check(CLI::Range(1, kMaxThreads));
  app.add_option("--duration", o.duration_s,
                 "seconds: flood/probe/packets run time; hold: time allowed "
                 "to open the connections")
      ->check(CLI::Range(0.0, kMaxDurationS));
  app.add_option("--count", o.count,
                 "at most this many connections (flood), probes or packets")
      ->check(CLI::Range(uint64_t{1}, kMaxCount));
  app.add_option("--inflight", o.inflight,
                 "flood: connections under way at once per thread")
      ->check(CLI::Range(1, 4096));
  app.add_option("--rate", o.rate,
                 "flood: connections per second over all threads (0 = as "
                 "fast as possible)")
      ->check(CLI::Range(0.0, 10'000'000.0));
  app.add_option("--expect", o.expect,
                 "flood: none = close right after connect; hello = read the "
                 "hello first")
      ->check(CLI::IsMember({"none", "hello"}));
  app.add_option("--close", o.close, "rst (SO_LINGER 0) or fin")
      ->check(CLI::IsMember({"rst", "fin"}));
  app.add_option("--connections", o.connections, "hold: connections to open")
      ->check(CLI::Range(1, kMaxConnections));
  app.add_option("--hold", o.hold_s, "hold: seconds to keep them open")
      ->check(CLI::Range(0.0, kMaxDurationS));
  app.add_option("--interval-ms", o.interval_ms, "probe: time between probes")
      ->check(CLI::Range(0.1, 10000.0));
  app.add_option("--packet", o.packet, "packets: the packet, hex bytes");
  app.add_option("--timeout-ms", o.timeout_ms,
                 "connect and read timeout per operation")
      ->check(CLI::Range(1, 60000));
  app.add_option("--account-prefix", o.account_prefix,
                 "world: accounts <prefix>0, <prefix>1, ... (must exist)");
  app.add_option("--password", o.password, "world: their password");
  app.add_option("--walk-rate", o.walk_rate,
                 "world: walks per second per player")
      ->check(CLI::Range(0.01, 1000.0));
  app.add_option("--chat-every", o.chat_every,
                 "world: one public chat every N walks (0 = none)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--protocol", o.protocol,
                 "fanout: mu = muwarden's 10404 client; plain = world-baseline")
      ->check(CLI::IsMember({"mu", "plain"}));
  app.add_option("--spacing-x", o.spacing_x, "fanout: grid spacing in x")
      ->check(CLI::Range(1, 64));
  app.add_option("--spacing-y", o.spacing_y, "fanout: grid spacing in y")
      ->check(CLI::Range(1, 64));
  app.add_option("--origin", o.origin, "fanout: the grid's first tile")
      ->check(CLI::Range(1, 200));
  app.add_option("--view-range", o.view_range,
                 "fanout: the server's view_range (for the expected K)")
      ->check(CLI::Range(1, 255));
  app.add_option("--warmup", o.warmup_s, "fanout: seconds walked unmeasured")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--windows", o.windows,
                 "fanout: measured windows of --duration s each")
      ->check(CLI::Range(1, 20));
  app.add_option("--server-pid", o.server_pid,
                 "fanout: the server, for CPU, RSS and threads")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("--stall", o.stall,
                 "fanout: 1 = the middle player stops reading when the first "
                 "window starts")
      ->check(CLI::Range(0, 1));
  CLI11_PARSE(app, argc, argv);

  Target target;
  std::string why;
  std::vector<uint32_t> sources;
  if (!ParseLoopbackTarget(o.host, o.port, &target, &why) ||
      !SourceAddresses(o, target, &sources, &why)) {
    std::fprintf(stderr, "load-tool: refusing: %s\n", why.c_str());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  RaiseFdLimit();
  int rc = 0;
  if (o.mode == "flood") rc = RunFlood(o, target, sources);
  if (o.mode == "hold") rc = RunHold(o, target, sources);
  if (o.mode == "probe") rc = RunProbe(o, target, sources);
  if (o.mode == "packets") rc = RunPackets(o, target, sources);
  if (o.mode == "world") rc = RunWorld(o, target, sources);
  if (o.mode == "fanout") rc = RunFanout(o, target, sources);
  std::fflush(stdout);
  return rc;
}
