#include "common/ops/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/log.h"

namespace muwarden::ops {
namespace {

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Milliseconds left until `deadline`, at least 0.
int MsLeft(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// True when something accepts connections on `path` right now.
bool SomeoneListens(const std::string& path) {
  net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un a = AddressOf(path);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

// Writes all of `text` before `deadline`; false when the peer is too slow.
bool WriteAll(int fd, const std::string& text, absl::Time deadline) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd, POLLOUT, 0};
    const int ms = MsLeft(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) <= 0) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    const std::string& path, ControlHandler handler) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control socket path '", path, "' is empty or too long"));
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "control socket ", path, ": exists and is not a socket"));
    }
    if (SomeoneListens(path)) {
      return absl::UnavailableError(absl::StrCat(
          "control socket ", path, ": another process listens on it"));
    }
    ::unlink(path.c_str());  // stale, from a process that died
  }
  net::UniqueFd fd(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    return absl::UnavailableError(
        absl::StrCat("control socket: ", std::strerror(errno)));
  }
  sockaddr_un a = AddressOf(path);
  // The file is created owner-only from the start: no moment in which
  // another local user could connect.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot bind control socket ", path, ": ", std::strerror(bind_errno)));
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 8) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat(
        "control socket ", path, ": ", std::strerror(err)));
  }
  net::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    ::unlink(path.c_str());
    return absl::UnavailableError(
        absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(
      path, std::move(fd), std::move(wake), std::move(handler)));
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

ControlServer::ControlServer(std::string path, net::UniqueFd listener,
                             net::UniqueFd wake, ControlHandler handler)
    : path_(std::move(path)),
      listener_(std::move(listener)),
      wake_(std::move(wake)),
      handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void ControlServer::Loop() {
  while (true) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("control", absl::StrCat("poll: ", std::strerror(errno)));
      return;
    }
    if (p[1].revents != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    net::UniqueFd client(
        ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (client.valid()) Serve(std::move(client));
  }
}

void ControlServer::Serve(net::UniqueFd client) {
  const absl::Time deadline = absl::Now() + kControlDeadline;
  std::string line;
  char buf[256];
  bool complete = false;
  while (!complete) {
    const ssize_t n = ::recv(client.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n') {
          complete = true;
          break;
        }
        line.push_back(buf[i]);
      }
      if (!complete && line.size() > kMaxControlLine) {
        WriteAll(client.get(),
                 absl::StrCat("error command longer than ", kMaxControlLine,
                              " bytes\n"),
                 absl::Now() + kControlDeadline);
        return;
      }
      continue;
    }
    if (n == 0) break;  // the peer finished without a newline: take the line
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return;
    pollfd p{client.get(), POLLIN, 0};
    const int ms = MsLeft(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) <= 0) {
      WriteAll(client.get(), "error no complete command line in time\n",
               absl::Now() + kControlDeadline);
      return;
    }
  }
  if (line.size() > kMaxControlLine) {
    WriteAll(client.get(),
             absl::StrCat("error command longer than ", kMaxControlLine,
                          " bytes\n"),
             absl::Now() + kControlDeadline);
    return;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ControlReply reply = handler_(line);
  std::string text = absl::StrCat(reply.ok ? "ok" : "error",
                                  reply.text.empty() ? "" : " ", reply.text);
  if (text.back() != '\n') text.push_back('\n');
  WriteAll(client.get(), text, absl::Now() + kControlDeadline);
}

}  // namespace muwarden::ops
