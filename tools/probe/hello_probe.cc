#include "tools/probe/hello_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/hex.h"
#include "common/net/socket.h"

namespace muwarden::probe {
namespace {

constexpr uint8_t kConnectHello[] = {0xC1, 0x04, 0x00, 0x01};
constexpr uint8_t kGameJoinPrefix[] = {0xC1, 0x0C, 0xF1, 0x00, 0x01};

// True when `bytes` and `pattern` agree on their common length.
bool AgreesWith(absl::Span<const uint8_t> bytes,
                absl::Span<const uint8_t> pattern) {
  const size_t n = std::min(bytes.size(), pattern.size());
  return std::equal(bytes.begin(), bytes.begin() + n, pattern.begin());
}

struct Pending {
  net::UniqueFd fd;
  bool connected = false;
  uint8_t buffer[kMaxGreeting] = {};
  size_t received = 0;
  bool done = false;
};

absl::Status Resolve(const ProbeTarget& target, sockaddr_storage* addr,
                     socklen_t* len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(target.port);
  int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", target.host, ": ", gai_strerror(rc)));
  }
  std::memcpy(addr, found->ai_addr, found->ai_addrlen);
  *len = found->ai_addrlen;
  ::freeaddrinfo(found);
  return absl::OkStatus();
}

absl::Status Judge(Greeting greeting, Expect expect) {
  if (greeting == Greeting::kConnect && expect == Expect::kGame) {
    return absl::FailedPreconditionError(
        "ConnectServer hello where a GameServer join was expected");
  }
  if (greeting == Greeting::kGame && expect == Expect::kConnect) {
    return absl::FailedPreconditionError(
        "GameServer join where a ConnectServer hello was expected");
  }
  return absl::OkStatus();
}

}  // namespace

std::string ProbeTarget::ToString() const {
  if (host.find(':') != std::string::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<ProbeTarget> ParseTarget(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  ProbeTarget target;
  absl::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text, "': expected [IPv6]:PORT"));
    }
    target.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos ||
        text.find(':') != colon) {  // a bare IPv6 address needs brackets
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text, "': expected HOST:PORT (IPv6 as [ADDR]:PORT)"));
    }
    target.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (target.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': no host"));
  }
  if (!absl::SimpleAtoi(port_text, &target.port) || target.port < 1 ||
      target.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "': port must be 1..65535"));
  }
  return target;
}

absl::StatusOr<std::vector<ProbeTarget>> ParseTargetList(
    absl::string_view text) {
  std::vector<ProbeTarget> targets;
  for (absl::string_view item :
       absl::StrSplit(text, absl::ByAnyChar(", \t\n"), absl::SkipEmpty())) {
    auto target = ParseTarget(item);
    if (!target.ok()) return target.status();
    targets.push_back(*std::move(target));
    if (targets.size() > kMaxTargets) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxTargets, " targets"));
    }
  }
  return targets;
}

absl::StatusOr<Expect> ParseExpect(absl::string_view text) {
  if (text == "any") return Expect::kAny;
  if (text == "connect") return Expect::kConnect;
  if (text == "game") return Expect::kGame;
  return absl::InvalidArgumentError(
      absl::StrCat("--expect ", text, ": must be any, connect or game"));
}

Greeting ClassifyGreeting(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return Greeting::kNeedMore;
  const bool connect = AgreesWith(bytes, kConnectHello);
  const bool game = AgreesWith(bytes, kGameJoinPrefix);
  if (connect && bytes.size() >= sizeof(kConnectHello)) {
    return Greeting::kConnect;
  }
  if (game && bytes.size() >= kMaxGreeting) return Greeting::kGame;
  // Both start with C1: keep reading until the second byte decides.
  if (connect || game) return Greeting::kNeedMore;
  return Greeting::kWrong;
}

std::vector<ProbeResult> ProbeAll(const std::vector<ProbeTarget>& targets,
                                  Expect expect, absl::Duration timeout,
                                  const Clock& clock) {
  const absl::Time start = clock.Now();
  const absl::Time deadline = start + timeout;
  std::vector<ProbeResult> results(targets.size());
  std::vector<Pending> pending(targets.size());
  size_t open = 0;
  auto finish = [&](size_t i, absl::Status status) {
    results[i].status = std::move(status);
    results[i].elapsed = clock.Now() - start;
    pending[i].done = true;
    pending[i].fd.Reset();
  };

  for (size_t i = 0; i < targets.size(); ++i) {
    results[i].target = targets[i];
    sockaddr_storage addr{};
    socklen_t len = 0;
    absl::Status resolved = Resolve(targets[i], &addr, &len);
    if (!resolved.ok()) {
      finish(i, resolved);
      continue;
    }
    pending[i].fd.Reset(::socket(addr.ss_family,
                                 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                 IPPROTO_TCP));
    if (!pending[i].fd.valid()) {
      finish(i, absl::UnavailableError(
                    absl::StrCat("socket: ", std::strerror(errno))));
      continue;
    }
    if (::connect(pending[i].fd.get(), reinterpret_cast<sockaddr*>(&addr),
                  len) == 0) {
      pending[i].connected = true;
    } else if (errno != EINPROGRESS) {
      finish(i, absl::UnavailableError(
                    absl::StrCat("connect: ", std::strerror(errno))));
      continue;
    }
    ++open;
  }

  while (open > 0) {
    const absl::Time now = clock.Now();
    if (now >= deadline) break;
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (pending[i].done) continue;
      fds.push_back(
          {pending[i].fd.get(),
           static_cast<short>(pending[i].connected ? POLLIN : POLLOUT), 0});
      index.push_back(i);
    }
    int rc = ::poll(fds.data(), fds.size(), net::PollTimeoutMs(now, deadline));
    if (rc < 0 && errno != EINTR) break;
    for (size_t k = 0; rc > 0 && k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      const size_t i = index[k];
      Pending& p = pending[i];
      if (!p.connected) {
        int error = 0;
        socklen_t error_len = sizeof(error);
        ::getsockopt(p.fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_len);
        if (error != 0) {
          finish(i, absl::UnavailableError(
                        absl::StrCat("connect: ", std::strerror(error))));
          --open;
        } else {
          p.connected = true;
        }
        continue;
      }
      net::IoResult io = net::RecvSome(
          p.fd.get(),
          absl::MakeSpan(p.buffer + p.received, kMaxGreeting - p.received));
      if (io.state == net::IoState::kWouldBlock) continue;
      if (io.state != net::IoState::kOk) {
        finish(i, absl::DataLossError(absl::StrCat(
                      "closed after ", p.received, " bytes",
                      io.state == net::IoState::kError
                          ? absl::StrCat(": ", std::strerror(io.error))
                          : std::string())));
        --open;
        continue;
      }
      p.received += io.bytes;
      const Greeting greeting =
          ClassifyGreeting(absl::MakeConstSpan(p.buffer, p.received));
      results[i].greeting = greeting;
      if (greeting == Greeting::kNeedMore) continue;
      if (greeting == Greeting::kWrong) {
        finish(i, absl::DataLossError(absl::StrCat(
                      "not a MU greeting: ",
                      FormatHex(absl::MakeConstSpan(p.buffer, p.received)))));
      } else {
        finish(i, Judge(greeting, expect));
      }
      --open;
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].done) continue;
    finish(i, absl::DeadlineExceededError(
                  pending[i].connected
                      ? absl::StrCat("no greeting within ",
                                     absl::FormatDuration(timeout), " (",
                                     pending[i].received, " bytes)")
                      : absl::StrCat("connect did not finish within ",
                                     absl::FormatDuration(timeout))));
  }
  return results;
}

}  // namespace muwarden::probe
