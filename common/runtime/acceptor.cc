#include "common/runtime/acceptor.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/log.h"

namespace muwarden::runtime {
namespace {

// How long the accept loop waits before retrying when the kernel is out of
// memory or the spare descriptor could not be had back, so it never spins.
constexpr absl::Duration kAcceptBackoff = absl::Milliseconds(50);

}  // namespace

Acceptor::Acceptor(AcceptorConfig config, Callback on_accept,
                   Callback on_overflow)
    : config_(std::move(config)),
      on_accept_(std::move(on_accept)),
      on_overflow_(std::move(on_overflow)) {}

Acceptor::~Acceptor() { Stop(); }

absl::Status Acceptor::Listen() {
  auto fd = net::Listen(config_.bind, config_.port, config_.backlog);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *std::move(fd);
  port_ = net::LocalPort(listen_fd_.get());
  reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return net::SetBlocking(listen_fd_.get());
}

void Acceptor::Start() {
  if (!listen_fd_.valid()) {
    // A broken invariant, not something the network can cause: without a
    // listener the loop would only log EBADF forever.
    std::fprintf(stderr, "Acceptor::Start before a successful Listen\n");
    std::abort();
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-accept");
    AcceptLoop();
  });
}

void Acceptor::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_.valid()) {
    ::shutdown(listen_fd_.get(), SHUT_RD);  // wakes the blocking accept
  }
  if (thread_.joinable()) thread_.join();
  listen_fd_.Reset();
}

void Acceptor::AcceptLoop() {
  // A blocking accept: one system call per connection and no poll round trip.
  // Stop() wakes it by shutting the listener down, which makes accept fail with
  // EINVAL.
  while (!stopping_.load(std::memory_order_relaxed)) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr),
                       &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(net::UniqueFd(fd), addr);
      continue;
    }
    if (stopping_.load(std::memory_order_relaxed)) break;
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
        errno == EAGAIN || errno == EWOULDBLOCK) {
      continue;
    }
    accept_errors_.fetch_add(1, std::memory_order_relaxed);
    if (errno == EMFILE || errno == ENFILE) {
      HandleFdExhaustion();
      if (!reserve_fd_.valid()) absl::SleepFor(kAcceptBackoff);
      continue;
    }
    // ENOBUFS, ENOMEM and the like: the kernel is short; wait a little, do not
    // spin.
    LogWarn("net", absl::StrCat("accept: ", std::strerror(errno)));
    absl::SleepFor(kAcceptBackoff);
  }
}

void Acceptor::HandleFdExhaustion() {
  fd_exhausted_.fetch_add(1, std::memory_order_relaxed);
  if (!reserve_fd_.valid()) {
    reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return;
  }
  // Give the spare descriptor up for a moment to take the pending connection
  // off the queue and refuse it; otherwise the listener stays readable and the
  // loop would spin.
  reserve_fd_.Reset();
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) on_overflow_(net::UniqueFd(fd), addr);
  reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace muwarden::runtime
