// muwarden-ctl: sends one command to a running server's [control] socket and
// prints the reply (SPEC section 12).
//   muwarden-ctl [--socket PATH | --config FILE] COMMAND...
// Exit 0 done, 1 refused (the reason printed) or the server unreachable, 2
// usage. With --config the socket is the file's [control] socket, or
// <server>.sock beside it (game-server.sock when the file has a [game]
// section, connect-server.sock otherwise).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/durable_file.h"
#include "common/config/schema.h"
#include "common/ops/control_commands.h"
#include "common/ops/control_server.h"

namespace muwarden::ops {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
// A reply is a few lines, `bans` at most ~1000; past this the rest is cut.
constexpr size_t kMaxReply = 1 << 20;
// The server answers within its own deadlines; a command that writes a ban
// file (fsync) may take a moment more.
constexpr absl::Duration kReplyDeadline = absl::Seconds(10);

constexpr char kUsage[] =
    "usage: muwarden-ctl [--socket PATH | --config FILE] COMMAND...\n"
    "commands:\n"
    "  ban ADDR|CIDR [--for SECONDS] [--reason TEXT]\n"
    "  unban ADDR|CIDR\n"
    "  bans\n"
    "  kick ADDR|CIDR\n"
    "  status\n"
    "  reload\n"
    "exit: 0 done, 1 refused or unreachable, 2 usage\n";

int Usage(const std::string& why) {
  std::cerr << "muwarden-ctl: " << why << "\n" << kUsage;
  return kExitUsage;
}

// The socket a config file names, or the default beside it.
bool SocketFromConfig(const std::string& file, std::string* path,
                      std::string* why) {
  std::ifstream in(file);
  if (!in) {
    *why = absl::StrCat("cannot read ", file, ": ", std::strerror(errno));
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string dir = DirOf(file);
  config::SettingsErrors errors;
  std::vector<config::Assignment> assignments =
      config::ParseIni(text.str(), file, dir, errors);
  bool game = false;
  std::optional<std::string> socket;
  for (const config::Assignment& a : assignments) {
    if (a.section == "game") game = true;
    if (a.section == "control" && a.key == "socket") socket = a.value;
  }
  if (socket.has_value()) {
    if (socket->empty()) {
      *why = absl::StrCat(file, " turns the control socket off");
      return false;
    }
    *path = (*socket)[0] == '/' ? *socket : absl::StrCat(dir, "/", *socket);
    return true;
  }
  *path = absl::StrCat(dir, "/", game ? "game-server.sock" : "connect-server.sock");
  return true;
}

int Send(const std::string& path, const std::string& line) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    std::cerr << "muwarden-ctl: socket path too long: " << path << "\n";
    return kExitRefused;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::cerr << "muwarden-ctl: cannot connect to " << path << ": "
              << std::strerror(errno) << " (is the server running with "
              << "[control] socket set?)\n";
    if (fd >= 0) ::close(fd);
    return kExitRefused;
  }
  const std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    std::cerr << "muwarden-ctl: send to " << path << ": "
              << std::strerror(errno) << "\n";
    ::close(fd);
    return kExitRefused;
  }
  std::string reply;
  const absl::Time deadline = absl::Now() + kReplyDeadline;
  char buf[4096];
  while (reply.size() < kMaxReply) {
    pollfd p{fd, POLLIN, 0};
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0 || ::poll(&p, 1, static_cast<int>(ms)) <= 0) {
      std::cerr << "muwarden-ctl: no reply from " << path << " in time\n";
      ::close(fd);
      return kExitRefused;
    }
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (absl::StartsWith(reply, "ok")) {
    std::string body = reply.substr(2);
    if (!body.empty() && body[0] == ' ') body.erase(0, 1);
    std::cout << body;
    return kExitOk;
  }
  std::string why = absl::StartsWith(reply, "error ") ? reply.substr(6) : reply;
  std::cerr << "muwarden-ctl: refused: " << why;
  if (why.empty() || why.back() != '\n') std::cerr << "\n";
  return absl::StartsWith(why, kUsagePrefix) ? kExitUsage : kExitRefused;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string socket, config_file;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (a == "--socket" || a == "--config") {
      if (i + 1 >= args.size()) return Usage(a + " needs a value");
      (a == "--socket" ? socket : config_file) = args[++i];
      continue;
    }
    break;
  }
  if (!socket.empty() && !config_file.empty()) {
    return Usage("--socket and --config exclude each other");
  }
  if (socket.empty() && config_file.empty()) {
    return Usage("say which server: --socket PATH or --config FILE");
  }
  if (i >= args.size()) return Usage("no command");
  std::vector<std::string> words(args.begin() + static_cast<long>(i), args.end());
  const std::string line = absl::StrJoin(words, " ");
  if (line.find('\n') != std::string::npos) return Usage("newline in a word");
  if (line.size() > kMaxControlLine) return Usage("command too long");
  if (socket.empty()) {
    std::string why;
    if (!SocketFromConfig(config_file, &socket, &why)) {
      std::cerr << "muwarden-ctl: " << why << "\n";
      return kExitUsage;
    }
  }
  return Send(socket, line);
}

}  // namespace
}  // namespace muwarden::ops

int main(int argc, char** argv) { return muwarden::ops::Main(argc, argv); }
