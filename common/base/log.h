// Logger: one line per event, "2026-11-22T01:23:45.678Z WARN [category]
// message", to stdout or a file, flushed per line so nothing is lost on a
// crash. Security events use fixed texts that end in the peer IP and are
// limited to `burst` lines per IP and event per minute, then summarised in one
// line. Thread-safe.
#ifndef MUWARDEN_COMMON_BASE_LOG_H_
#define MUWARDEN_COMMON_BASE_LOG_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"

namespace muwarden {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug|info|warn|error".
absl::Status ParseLogLevel(absl::string_view text, LogLevel* out);
absl::string_view LogLevelName(LogLevel level);

enum class SecurityEvent : uint8_t {
  kBannedIp,
  kConnRate,
  kAutoban,
  kMulticlient,
  kServerFull,
  kHandshakeTimeout,
  kReadTimeout,
  kWriteTimeout,
  kPacketRate,
  kOversize,
  kMalformed,
  kLoginFailed,
  kCount,
};

// The fixed text before ": <ip>" (SPEC section 7); fail2ban filters depend on
// these.
absl::string_view SecurityEventText(SecurityEvent event);

// A peer address as raw bytes, so hot paths (the accept thread's refusals) hand
// it over without formatting it: the text is made only for a line that is
// actually printed.
struct PeerAddress {
  uint8_t family =
      0;  // 4, 6, or 0 for text that is not an address (kept in `bytes`)
  std::array<uint8_t, 16> bytes{};

  static PeerAddress V4(const uint8_t* four);
  static PeerAddress V6(const uint8_t* sixteen);
  static PeerAddress Parse(absl::string_view text);
  // Writes the text into `out` (INET6_ADDRSTRLEN bytes) and returns it.
  absl::string_view Format(char* out) const;
};

struct LogConfig {
  std::string file;  // empty = stdout
  LogLevel level = LogLevel::kInfo;
  int security_burst = 10;     // lines per IP and event per minute
  size_t max_tracked = 65536;  // cap of the burst table

  // [log] file, level; [security] log_burst.
  void Describe(config::Schema& schema);
};

class Logger {
 public:
  // The process-wide logger; writes to stdout at info until Configure() is
  // called.
  static Logger& Get();

  explicit Logger(Clock& clock = Clock::Real());
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Opens the file (append) if one is named. On error the previous sink stays.
  absl::Status Configure(const LogConfig& config);

  void Log(LogLevel level, absl::string_view category,
           absl::string_view message);
  // "<event text>: <ip>" plus " (<details>)" when details is not empty, at WARN
  // in [security].
  void Security(SecurityEvent event, const PeerAddress& peer,
                absl::string_view details = {});
  void Security(SecurityEvent event, absl::string_view ip,
                absl::string_view details = {});
  // Prints the summaries of burst windows that have ended; call now and then.
  void FlushSummaries();

  // For tests: write into this stream instead of stdout (not owned).
  void SetStreamForTest(std::FILE* stream);

 private:
  // Event, family, and the address (IPv4) or its /64 (IPv6): one budget per
  // client network, so rotating through a /64 buys no extra lines.
  using BurstKey = std::array<uint8_t, 10>;
  struct BurstState {
    absl::Time window_start;
    int printed = 0;
    int64_t suppressed = 0;
    PeerAddress last;  // named in the summary
  };
  void WriteLocked(LogLevel level, absl::string_view category,
                   absl::string_view message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushSummariesLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SummariseLocked(SecurityEvent event, const BurstState& state,
                       absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The all-clients cap: true when one more security line may be printed this
  // minute.
  bool TakeGlobalLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  Mutex mu_;
  std::FILE* out_ ABSL_GUARDED_BY(mu_);
  bool owns_out_ ABSL_GUARDED_BY(mu_) = false;
  LogLevel level_ ABSL_GUARDED_BY(mu_) = LogLevel::kInfo;
  int burst_ ABSL_GUARDED_BY(mu_) = 10;
  size_t max_tracked_ ABSL_GUARDED_BY(mu_) = 65536;
  absl::flat_hash_map<BurstKey, BurstState> bursts_ ABSL_GUARDED_BY(mu_);
  // Many addresses each within their own budget still add up: at most
  // max(1000, 100 * burst) security lines a minute in all, the rest counted and
  // summarised.
  absl::Time global_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t global_printed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t global_suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

inline void LogDebug(absl::string_view category, absl::string_view message) {
  Logger::Get().Log(LogLevel::kDebug, category, message);
}
inline void LogInfo(absl::string_view category, absl::string_view message) {
  Logger::Get().Log(LogLevel::kInfo, category, message);
}
inline void LogWarn(absl::string_view category, absl::string_view message) {
  Logger::Get().Log(LogLevel::kWarn, category, message);
}
inline void LogError(absl::string_view category, absl::string_view message) {
  Logger::Get().Log(LogLevel::kError, category, message);
}

}  // namespace muwarden

#endif  // MUWARDEN_COMMON_BASE_LOG_H_
