#include "common/guard/security_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace muwarden::guard {
namespace {

constexpr absl::Duration kBurstWindow = absl::Minutes(1);
constexpr absl::string_view kCategory = "security";

// The address as inet_ntop writes it, which is what these lines have always
// carried (glibc writes IPv4-compatible IPv6 addresses such as ::a.b.c.d
// dotted, unlike IpAddress::ToString); fail2ban sees the same bytes.
absl::string_view FormatPeer(const IpAddress& ip, char (&out)[INET6_ADDRSTRLEN],
                             std::string& fallback) {
  const int af = ip.family == IpFamily::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, ip.bytes.data(), out, INET6_ADDRSTRLEN) != nullptr) {
    return out;
  }
  fallback = ip.ToString();
  return fallback;
}

}  // namespace

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
    case SecurityEvent::kPrefixRate:
      return "Prefix rate limited";
    case SecurityEvent::kPrefixLimit:
      return "Prefix limit reached";
    case SecurityEvent::kPendingLimit:
      return "Pending limit reached";
    case SecurityEvent::kPrefixAutoban:
      return "Auto-banned flooding prefix";
    case SecurityEvent::kEvicted:
      return "Evicted for a newcomer";
    case SecurityEvent::kPeerLine:
      return "Lines about";
    case SecurityEvent::kCount:
      break;
  }
  return "Security event";
}

SecurityLog& SecurityLog::Get() {
  static SecurityLog* log = new SecurityLog(Logger::Get(), Clock::Real());
  return *log;
}

SecurityLog::SecurityLog(Logger& sink, Clock& clock)
    : sink_(sink), clock_(clock) {}

void SecurityLog::Configure(const SecurityLogConfig& config) {
  MutexLock lock(&mu_);
  config_ = config;
}

void SecurityLog::WriteLocked(absl::string_view message) {
  sink_.Log(LogLevel::kWarn, kCategory, message);
}

void SecurityLog::WriteLocked(LogLevel level, absl::string_view category,
                              absl::string_view message) {
  sink_.Log(level, category, message);
}

void SecurityLog::SummariseLocked(SecurityEvent event, const BurstState& state,
                                  absl::Time now) {
  // Summaries count against the global cap too.
  if (!TakeGlobalLocked(now)) return;
  char text[INET6_ADDRSTRLEN];
  std::string fallback;
  const absl::string_view who = state.last_text.empty()
                                    ? FormatPeer(state.last, text, fallback)
                                    : absl::string_view(state.last_text);
  WriteLocked(absl::StrCat(SecurityEventText(event), ": ", who, " (",
                           state.suppressed,
                           " more in the last minute suppressed)"));
}

bool SecurityLog::TakeGlobalLocked(absl::Time now) {
  const int64_t cap = std::max<int64_t>(1000, int64_t{100} * config_.burst);
  if (now - global_start_ >= kBurstWindow) {
    if (global_suppressed_ > 0) {
      WriteLocked(absl::StrCat(
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

bool SecurityLog::TakeLocked(SecurityEvent event, const IpAddress& peer,
                             absl::Time now) {
  const BurstKey key{event, KeyOf(peer)};
  auto it = bursts_.find(key);
  if (it == bursts_.end()) {
    if (bursts_.size() >= config_.max_tracked) {
      // The table is full: print summaries of ended windows and drop them; if
      // none has ended, drop everything rather than grow (the global cap still
      // bounds what follows).
      FlushSummariesLocked(now);
      if (bursts_.size() >= config_.max_tracked) bursts_.clear();
    }
    it = bursts_.emplace(key, BurstState{now, 0, 0, {}, {}}).first;
  } else if (now - it->second.window_start >= kBurstWindow) {
    if (it->second.suppressed > 0) SummariseLocked(event, it->second, now);
    it->second = BurstState{now, 0, 0, {}, {}};
  }
  BurstState& state = it->second;
  state.last = peer;
  // Autobans are bounded by the bans themselves (one per block per ban) and
  // are what the operator and fail2ban must see: a flood of other lines
  // using up the all-clients minute does not hide them.
  const bool global_exempt = event == SecurityEvent::kAutoban ||
                             event == SecurityEvent::kPrefixAutoban;
  if (state.printed >= config_.burst ||
      (!global_exempt && !TakeGlobalLocked(now))) {
    ++state.suppressed;
    return false;
  }
  ++state.printed;
  return true;
}

void SecurityLog::Log(SecurityEvent event, const IpAddress& peer,
                      absl::string_view details) {
  const LogLevel level =
      event == SecurityEvent::kEvicted ? LogLevel::kInfo : LogLevel::kWarn;
  // Nothing is counted for lines the sink would drop anyway.
  if (!sink_.Enabled(level)) return;
  MutexLock lock(&mu_);
  if (!TakeLocked(event, peer, clock_.Now())) return;
  char text[INET6_ADDRSTRLEN];
  std::string fallback;
  std::string message = absl::StrCat(SecurityEventText(event), ": ",
                                     FormatPeer(peer, text, fallback));
  if (!details.empty()) absl::StrAppend(&message, " (", details, ")");
  WriteLocked(level, kCategory, message);
}

void SecurityLog::LogCidr(SecurityEvent event, const Cidr& block,
                          absl::string_view details) {
  if (!sink_.Enabled(LogLevel::kWarn)) return;
  MutexLock lock(&mu_);
  const std::string name = block.ToString();
  const bool take = TakeLocked(event, block.address, clock_.Now());
  bursts_[BurstKey{event, KeyOf(block.address)}].last_text = name;
  if (!take) return;
  std::string message = absl::StrCat(SecurityEventText(event), ": ", name);
  if (!details.empty()) absl::StrAppend(&message, " (", details, ")");
  WriteLocked(message);
}

void SecurityLog::LogPeerLine(LogLevel level, absl::string_view category,
                              const IpAddress& peer,
                              absl::string_view message) {
  if (!sink_.Enabled(level)) return;
  MutexLock lock(&mu_);
  if (!TakeLocked(SecurityEvent::kPeerLine, peer, clock_.Now())) return;
  WriteLocked(level, category, message);
}

void SecurityLog::FlushSummaries() {
  MutexLock lock(&mu_);
  FlushSummariesLocked(clock_.Now());
}

void SecurityLog::FlushSummariesLocked(absl::Time now) {
  if (global_suppressed_ > 0 && now - global_start_ >= kBurstWindow) {
    TakeGlobalLocked(now);  // prints the global summary and opens a new minute
    global_printed_ = 0;
  }
  for (auto it = bursts_.begin(); it != bursts_.end();) {
    auto current = it++;
    if (now - current->second.window_start < kBurstWindow) continue;
    if (current->second.suppressed > 0) {
      SummariseLocked(current->first.first, current->second, now);
    }
    bursts_.erase(current);
  }
}

void SecurityLogConfig::Describe(config::Schema& s) {
  s.Integer("security", "log_burst", &burst, 1, 100000,
            "security log lines per IP and event per minute before they are "
            "summarised");
}

}  // namespace muwarden::guard
