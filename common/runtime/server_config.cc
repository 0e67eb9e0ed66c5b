#include "common/runtime/server_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/durable_file.h"

namespace muwarden::runtime {
namespace {

// The guard caps live connections at max_clients; a worker goes back to the
// pool a moment after its connection's slot is released, so a little headroom
// keeps a connection admitted in that moment from finding no worker.
constexpr size_t kWorkerHeadroom = 64;

// The connection's reassembly buffer and its outbound buffer both live in the
// arena, with room for the rest of what a connection allocates there.
constexpr int64_t kArenaOverhead = 1024;

}  // namespace

absl::Status CheckBindAddress(absl::string_view v) {
  const std::string text(v);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1 ||
      inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "not an IPv4 or IPv6 address: '", v, "' (e.g. 0.0.0.0, ::, 127.0.0.1)"));
}

void DescribeLog(config::Schema& s, LogConfig* log) {
  s.Path("log", "file", &log->file, "log file; empty = stdout");
  s.Custom<LogLevel>(
      "log", "level", &log->level, "debug, info, warn or error",
      [](absl::string_view v) -> absl::StatusOr<LogLevel> {
        LogLevel parsed;
        absl::Status status =
            ParseLogLevel(absl::StripAsciiWhitespace(v), &parsed);
        if (!status.ok()) return status;
        return parsed;
      },
      [](const LogLevel& l) { return absl::AsciiStrToLower(LogLevelName(l)); });
  s.Bool("log", "stdout", &log->also_stdout,
         "with log.file set, write every line to stdout too (the Docker image "
         "does: docker logs, and the file for fail2ban)");
}

void DescribeChatWindows(config::Schema& s, guard::SlidingWindowConfig* chat,
                         guard::SlidingWindowConfig* whisper) {
  chat->Describe(
      s, "ratelimit", "chat",
      "public chat messages per client per chat_rate_window; excess dropped");
  whisper->Describe(
      s, "ratelimit", "whisper",
      "whispers per client per whisper_rate_window; excess dropped");
}

void ServerConfig::Describe(config::Schema& s) {
  s.String("server", "name", &name, "name used in logs",
           [](absl::string_view v) {
             absl::Status st = config::CheckNonEmpty(v);
             return st.ok() ? config::CheckPrintable(v, 64) : st;
           });
  s.String("server", "bind", &bind,
           "listen address, IPv4 or IPv6 (0.0.0.0, ::, 127.0.0.1)",
           CheckBindAddress);
  s.Integer("server", "port", &port, 0, 65535,
            "TCP port; 0 = any free port (the log says which)");
  guard.Describe(s);
  connection.Describe(s);
  pool.Describe(s);
  bans.Describe(s);
  known.Describe(s);
  s.OnLoaded([this](config::SettingsErrors& errors) {
    known.max_entries = guard.max_tracked_ips;
    // SPEC 3: beside the ban file, none without one (an absolute name stands).
    if (known.file.empty()) {
      known.path.clear();
    } else if (known.file.front() == '/') {
      known.path = known.file;
    } else {
      known.path = bans.path.empty()
                       ? std::string()
                       : absl::StrCat(DirOf(bans.path), "/", known.file);
    }
    pool.max_workers = static_cast<size_t>(guard.max_clients) + kWorkerHeadroom;
    const int64_t needed =
        2 * static_cast<int64_t>(connection.max_frame_size) + kArenaOverhead;
    if (static_cast<int64_t>(pool.arena_bytes) < needed) {
      errors.Add(
          absl::StrCat("server.arena_kib: ", pool.arena_bytes / 1024,
                       " KiB cannot hold two frames of server.max_packet_size ",
                       connection.max_frame_size, " (need at least ",
                       (needed + 1023) / 1024, " KiB)"));
    }
  });
}

void ServerSettings::Describe(config::Schema& s) {
  server.Describe(s);
  DescribeLog(s, &log);
  security_log.Describe(s);
  metrics.Describe(s);
  control.Describe(s);
  s.OnLoaded([this](config::SettingsErrors&) {
    security_log.max_tracked = server.guard.max_tracked_ips;
  });
}

}  // namespace muwarden::runtime
