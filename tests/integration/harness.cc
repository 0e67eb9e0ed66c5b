#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace muwarden::testing {
namespace {

int PollMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

// One recv of up to `cap` (> 0) bytes into `buf`: how many, or 0 with `how`
// set to why the stream ended (EOF, reset, other error).
size_t RecvSome(int fd, uint8_t* buf, size_t cap, ReadEnd& how) {
  const ssize_t got = ::recv(fd, buf, cap, 0);
  if (got == 0) {
    how = ReadEnd::kEof;
    return 0;
  }
  if (got < 0) {
    how = errno == ECONNRESET ? ReadEnd::kReset : ReadEnd::kError;
    return 0;
  }
  return static_cast<size_t>(got);
}

bool FillAddress(const std::string& host, int port, sockaddr_storage* addr,
                 socklen_t* len) {
  std::memset(addr, 0, sizeof(*addr));
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

RawClient::~RawClient() { Close(); }

RawClient::RawClient(RawClient&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

RawClient& RawClient::operator=(RawClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

bool RawClient::Connect(const std::string& host, int port,
                        const std::string& source, int rcvbuf) {
  Close();
  sockaddr_storage addr;
  socklen_t len;
  if (!FillAddress(host, port, &addr, &len)) return false;
  fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  if (rcvbuf > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (!source.empty()) {
    sockaddr_storage src;
    socklen_t src_len;
    if (!FillAddress(source, 0, &src, &src_len) ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&src), src_len) != 0) {
      Close();
      return false;
    }
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    Close();
    return false;
  }
  return true;
}

bool RawClient::Send(const Bytes& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n =
        ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

Bytes RawClient::ReadExactly(size_t n, absl::Duration timeout, ReadEnd* end) {
  Bytes out;
  const absl::Time deadline = absl::Now() + timeout;
  ReadEnd how = ReadEnd::kData;
  while (out.size() < n) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, PollMs(deadline));
    if (rc == 0) {
      how = ReadEnd::kTimeout;
      break;
    }
    if (rc < 0) {
      if (errno == EINTR) continue;
      how = ReadEnd::kError;
      break;
    }
    uint8_t buf[4096];
    const size_t got =
        RecvSome(fd_, buf, std::min(sizeof(buf), n - out.size()), how);
    if (got == 0) break;
    out.insert(out.end(), buf, buf + got);
  }
  if (end != nullptr) *end = how;
  return out;
}

Bytes RawClient::ReadAvailable(absl::Duration timeout, absl::Duration settle) {
  Bytes out;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, PollMs(deadline));
    if (rc <= 0) break;
    uint8_t buf[4096];
    ssize_t got = ::recv(fd_, buf, sizeof(buf), 0);
    if (got <= 0) break;
    out.insert(out.end(), buf, buf + got);
    deadline = std::min(deadline, absl::Now() + settle);
  }
  return out;
}

ReadEnd RawClient::WaitClosed(absl::Duration timeout, size_t* discarded) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t dropped = 0;
  ReadEnd how = ReadEnd::kTimeout;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, PollMs(deadline));
    if (rc == 0) break;
    if (rc < 0) {
      if (errno == EINTR) continue;
      how = ReadEnd::kError;
      break;
    }
    uint8_t buf[4096];
    const size_t got = RecvSome(fd_, buf, sizeof(buf), how);
    if (got == 0) break;
    dropped += got;
  }
  if (discarded != nullptr) *discarded = dropped;
  return how;
}

void RawClient::Reset() {
  if (fd_ < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  Close();
}

void RawClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(absl::Seconds(5));
}

bool ServerProcess::Start(const std::string& binary,
                          std::vector<std::string> args,
                          absl::Duration timeout) {
  log_path_ = absl::StrCat(MakeTempDir(), "/server.log");
  bool has_port = false;
  for (const auto& a : args) {
    if (a == "--port" || a.rfind("server.port=", 0) == 0) has_port = true;
  }
  if (!has_port) {
    args.push_back("--port");
    args.push_back("0");
  }
  args.insert(args.begin(), binary);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (max_open_files_ > 0) {
      rlimit limit{static_cast<rlim_t>(max_open_files_),
                   static_cast<rlim_t>(max_open_files_)};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    std::perror("execv");
    ::_exit(127);
  }
  // The server logs "... listening on ADDRESS port N" once it is bound.
  auto listening_port = [](const std::string& log) {
    const size_t at = log.find("listening on ");
    if (at == std::string::npos) return 0;
    const size_t port_at = log.find(" port ", at);
    if (port_at == std::string::npos) return 0;
    return std::atoi(log.c_str() + port_at + 6);
  };
  const bool ok = WaitFor(
      [&] {
        port_ = listening_port(Log());
        if (port_ > 0) return true;
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return false;
      },
      timeout);
  if (!ok || pid_ < 0 || port_ == 0) {
    std::fprintf(stderr, "server did not start; log:\n%s\n", Log().c_str());
    return false;
  }
  return true;
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ServerProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (absl::Now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

absl::Duration ServerProcess::CpuTime() const {
  std::ifstream in(absl::StrCat("/proc/", pid_, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last
  // ')'.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return absl::Seconds(static_cast<double>(utime + stime) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)));
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int ServerProcess::CountInLog(const std::string& text) const {
  const std::string log = Log();
  int count = 0;
  for (size_t pos = log.find(text); pos != std::string::npos;
       pos = log.find(text, pos + text.size())) {
    ++count;
  }
  return count;
}

bool ServerProcess::WaitForLog(const std::string& text, absl::Duration timeout,
                               int count) {
  return WaitFor([&] { return CountInLog(text) >= count; }, timeout);
}

std::string Ipv6LoopbackUnavailable() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::StrCat("IPv6 unavailable: socket(AF_INET6): ",
                        std::strerror(errno));
  }
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  const int err = errno;
  ::close(fd);
  if (rc == 0) return "";
  return absl::StrCat("IPv6 unavailable: cannot bind [::1]: ",
                      std::strerror(err));
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/muwarden-test-XXXXXX";
  char* dir = ::mkdtemp(tmpl);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("MUWARDEN_BIN_DIR");
#ifdef MUWARDEN_BIN_DIR
  if (dir == nullptr) dir = MUWARDEN_BIN_DIR;
#endif
  return absl::StrCat(dir == nullptr ? "." : dir, "/", name);
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

int RunCommand(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    if (output != nullptr) output->append(buf, n);
  }
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace muwarden::testing
