#include "common/base/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace muwarden {
namespace {

constexpr absl::Duration kBurstWindow = absl::Minutes(1);

std::string FormatStamp(absl::Time t) {
  // absl's %E3S gives seconds with exactly three fractional digits.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status ParseLogLevel(absl::string_view text, LogLevel* out) {
  if (text == "debug") {
    *out = LogLevel::kDebug;
  } else if (text == "info") {
    *out = LogLevel::kInfo;
  } else if (text == "warn") {
    *out = LogLevel::kWarn;
  } else if (text == "error") {
    *out = LogLevel::kError;
  } else {
    return absl::InvalidArgumentError(
        "must be one of debug, info, warn, error");
  }
  return absl::OkStatus();
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

absl::string_view SecurityEventText(SecurityEvent event) {
  switch (event) {
    case SecurityEvent::kBannedIp:
      return "Rejected banned IP";
    case SecurityEvent::kConnRate:
      return "Connection rate limited";
    case SecurityEvent::kAutoban:
      return "Auto-banned flooding IP";
    case SecurityEvent::kMulticlient:
      return "Multiclient limit reached";
    case SecurityEvent::kServerFull:
      return "Server full, rejected";
    case SecurityEvent::kHandshakeTimeout:
      return "Handshake timeout";
    case SecurityEvent::kReadTimeout:
      return "Read timeout";
    case SecurityEvent::kWriteTimeout:
      return "Write timeout";
    case SecurityEvent::kPacketRate:
      return "Packet rate exceeded";
    case SecurityEvent::kOversize:
      return "Oversize packet";
    case SecurityEvent::kMalformed:
      return "Malformed packet";
    case SecurityEvent::kLoginFailed:
      return "Login failed";
    case SecurityEvent::kCount:
      break;
  }
  return "Security event";
}

Logger& Logger::Get() {
  static Logger* logger = new Logger();
  return *logger;
}

Logger::Logger(Clock& clock) : clock_(clock), out_(stdout) {}

Logger::~Logger() {
  MutexLock lock(&mu_);
  if (owns_out_) std::fclose(out_);
}

absl::Status Logger::Configure(const LogConfig& config) {
  std::FILE* file = nullptr;
  if (!config.file.empty()) {
    file = std::fopen(config.file.c_str(), "ae");
    if (file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot open log file ", config.file, ": ", std::strerror(errno)));
    }
  }
  MutexLock lock(&mu_);
  if (file != nullptr) {
    if (owns_out_) std::fclose(out_);
    out_ = file;
    owns_out_ = true;
  }
  level_ = config.level;
  burst_ = config.security_burst;
  max_tracked_ = config.max_tracked;
  return absl::OkStatus();
}

void Logger::SetStreamForTest(std::FILE* stream) {
  MutexLock lock(&mu_);
  if (owns_out_) std::fclose(out_);
  out_ = stream;
  owns_out_ = false;
}

void Logger::Log(LogLevel level, absl::string_view category,
                 absl::string_view message) {
  MutexLock lock(&mu_);
  if (level < level_) return;
  WriteLocked(level, category, message);
}

void Logger::WriteLocked(LogLevel level, absl::string_view category,
                         absl::string_view message) {
  std::string line = absl::StrCat(FormatStamp(clock_.WallNow()), " ",
                                  LogLevelName(level), " [", category, "] ");
  // One event is one line: control bytes (a newline in text that came from a
  // peer) are escaped, so nobody can forge a second line naming another IP for
  // fail2ban to ban.
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      absl::StrAppend(&line, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      line.push_back(c);
    }
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void Logger::SummariseLocked(SecurityEvent event, const BurstState& state,
                             absl::Time now) {
  char text[INET6_ADDRSTRLEN];
  if (!TakeGlobalLocked(now))
    return;  // summaries count against the global cap too
  WriteLocked(LogLevel::kWarn, "security",
              absl::StrCat(SecurityEventText(event), ": ",
                           state.last.Format(text), " (", state.suppressed,
                           " more in the last minute suppressed)"));
}

bool Logger::TakeGlobalLocked(absl::Time now) {
  const int64_t cap = std::max<int64_t>(1000, int64_t{100} * burst_);
  if (now - global_start_ >= kBurstWindow) {
    if (global_suppressed_ > 0) {
      WriteLocked(
          LogLevel::kWarn, "security",
          absl::StrCat(
              global_suppressed_,
              " security lines suppressed in the last minute (more than ", cap,
              " a minute from all clients)"));
    }
    global_start_ = now;
    global_printed_ = 0;
    global_suppressed_ = 0;
  }
  if (global_printed_ >= cap) {
    ++global_suppressed_;
    return false;
  }
  ++global_printed_;
  return true;
}

PeerAddress PeerAddress::V4(const uint8_t* four) {
  PeerAddress p;
  p.family = 4;
  std::memcpy(p.bytes.data(), four, 4);
  return p;
}

PeerAddress PeerAddress::V6(const uint8_t* sixteen) {
  PeerAddress p;
  p.family = 6;
  std::memcpy(p.bytes.data(), sixteen, 16);
  return p;
}

PeerAddress PeerAddress::Parse(absl::string_view text) {
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), std::min(text.size(), sizeof(buf) - 1));
  PeerAddress p;
  if (inet_pton(AF_INET, buf, p.bytes.data()) == 1) {
    p.family = 4;
  } else if (inet_pton(AF_INET6, buf, p.bytes.data()) == 1) {
    p.family = 6;
  } else {
    p.bytes = {};
    std::memcpy(p.bytes.data(), text.data(),
                std::min(text.size(), p.bytes.size()));
  }
  return p;
}

absl::string_view PeerAddress::Format(char* out) const {
  if (family == 4 &&
      inet_ntop(AF_INET, bytes.data(), out, INET6_ADDRSTRLEN) != nullptr) {
    return out;
  }
  if (family == 6 &&
      inet_ntop(AF_INET6, bytes.data(), out, INET6_ADDRSTRLEN) != nullptr) {
    return out;
  }
  size_t n = 0;
  while (n < bytes.size() && bytes[n] != 0) {
    out[n] = static_cast<char>(bytes[n]);
    ++n;
  }
  out[n] = '\0';
  return absl::string_view(out, n);
}

namespace {

// The burst key: the event, and the IPv4 address or the IPv6 /64.
std::array<uint8_t, 10> BurstKeyOf(SecurityEvent event,
                                   const PeerAddress& peer) {
  std::array<uint8_t, 10> key{};
  key[0] = static_cast<uint8_t>(event);
  key[1] = peer.family;
  std::memcpy(&key[2], peer.bytes.data(), peer.family == 4 ? 4 : 8);
  return key;
}

}  // namespace

void Logger::Security(SecurityEvent event, absl::string_view ip,
                      absl::string_view details) {
  Security(event, PeerAddress::Parse(ip), details);
}

void Logger::Security(SecurityEvent event, const PeerAddress& peer,
                      absl::string_view details) {
  MutexLock lock(&mu_);
  if (LogLevel::kWarn < level_) return;
  const absl::Time now = clock_.Now();
  const BurstKey key = BurstKeyOf(event, peer);
  auto it = bursts_.find(key);
  if (it == bursts_.end()) {
    if (bursts_.size() >= max_tracked_) {
      // The table is full: print summaries of ended windows and drop them; if
      // none has ended, drop everything rather than grow (the global cap still
      // bounds what follows).
      FlushSummariesLocked(now);
      if (bursts_.size() >= max_tracked_) bursts_.clear();
    }
    it = bursts_.emplace(key, BurstState{now, 0, 0, {}}).first;
  } else if (now - it->second.window_start >= kBurstWindow) {
    if (it->second.suppressed > 0) SummariseLocked(event, it->second, now);
    it->second = BurstState{now, 0, 0, {}};
  }
  BurstState& state = it->second;
  state.last = peer;
  if (state.printed >= burst_ || !TakeGlobalLocked(now)) {
    ++state.suppressed;
    return;
  }
  ++state.printed;
  char text[INET6_ADDRSTRLEN];
  std::string message =
      absl::StrCat(SecurityEventText(event), ": ", peer.Format(text));
  if (!details.empty()) absl::StrAppend(&message, " (", details, ")");
  WriteLocked(LogLevel::kWarn, "security", message);
}

void Logger::FlushSummaries() {
  MutexLock lock(&mu_);
  FlushSummariesLocked(clock_.Now());
}

void Logger::FlushSummariesLocked(absl::Time now) {
  if (global_suppressed_ > 0 && now - global_start_ >= kBurstWindow) {
    TakeGlobalLocked(now);  // prints the global summary and opens a new minute
    global_printed_ = 0;
  }
  for (auto it = bursts_.begin(); it != bursts_.end();) {
    auto current = it++;
    if (now - current->second.window_start < kBurstWindow) continue;
    if (current->second.suppressed > 0) {
      SummariseLocked(static_cast<SecurityEvent>(current->first[0]),
                      current->second, now);
    }
    bursts_.erase(current);
  }
}

}  // namespace muwarden

namespace muwarden {

void LogConfig::Describe(config::Schema& s) {
  s.Path("log", "file", &file, "log file; empty = stdout");
  s.Custom<LogLevel>(
      "log", "level", &level, "debug, info, warn or error",
      [](absl::string_view v) -> absl::StatusOr<LogLevel> {
        LogLevel parsed;
        absl::Status status =
            ParseLogLevel(absl::StripAsciiWhitespace(v), &parsed);
        if (!status.ok()) return status;
        return parsed;
      },
      [](const LogLevel& l) { return absl::AsciiStrToLower(LogLevelName(l)); });
  s.Integer("security", "log_burst", &security_burst, 1, 100000,
            "security log lines per IP and event per minute before they are "
            "summarised");
}

}  // namespace muwarden
