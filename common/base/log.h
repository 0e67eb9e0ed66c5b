// Logger: the sink every log line goes through. One line per event,
// "2026-11-22T01:23:45.678Z WARN [category] message" (UTC, milliseconds),
// to stdout, a file, or both, flushed per line so nothing is lost on a crash.
// Control bytes in a message are escaped, so one event is always one line.
// What is logged and how often is the callers' business (the security events
// and their budgets are in common/guard/security_log.h). Thread-safe.
#ifndef MUWARDEN_COMMON_BASE_LOG_H_
#define MUWARDEN_COMMON_BASE_LOG_H_

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"

namespace muwarden {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug|info|warn|error".
absl::Status ParseLogLevel(absl::string_view text, LogLevel* out);
absl::string_view LogLevelName(LogLevel level);

struct LogConfig {
  std::string file;  // empty = stdout
  LogLevel level = LogLevel::kInfo;
  // With a file: every line to stdout as well (a container's `docker logs`
  // beside the file fail2ban reads).
  bool also_stdout = false;
};

class Logger {
 public:
  // The process-wide logger; writes to stdout at info until Configure() is
  // called.
  static Logger& Get();

  // `clock` gives the timestamps (WallNow()).
  explicit Logger(Clock& clock = Clock::Real());
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Opens the file (append) if one is named. On error the previous sink stays.
  absl::Status Configure(const LogConfig& config) ABSL_LOCKS_EXCLUDED(mu_);

  void Log(LogLevel level, absl::string_view category,
           absl::string_view message) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a line at `level` would be written; cheap (no lock), so callers
  // can skip work for lines that would be dropped.
  bool Enabled(LogLevel level) const {
    return level >= level_.load(std::memory_order_relaxed);
  }

  // For tests: write into this stream instead of stdout (not owned).
  void SetStreamForTest(std::FILE* stream) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Clock& clock_;
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  Mutex mu_;
  std::FILE* out_ ABSL_GUARDED_BY(mu_);
  bool owns_out_ ABSL_GUARDED_BY(mu_) = false;
  bool also_stdout_ ABSL_GUARDED_BY(mu_) = false;
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
