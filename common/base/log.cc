#include "common/base/log.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace muwarden {
namespace {

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
  also_stdout_ = config.also_stdout && owns_out_;
  level_.store(config.level, std::memory_order_relaxed);
  return absl::OkStatus();
}

void Logger::SetStreamForTest(std::FILE* stream) {
  MutexLock lock(&mu_);
  if (owns_out_) std::fclose(out_);
  out_ = stream;
  owns_out_ = false;
  also_stdout_ = false;
}

void Logger::Log(LogLevel level, absl::string_view category,
                 absl::string_view message) {
  if (!Enabled(level)) return;
  // Stamped under the lock, so the file is in timestamp order.
  MutexLock lock(&mu_);
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
  if (also_stdout_) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace muwarden
