// SecurityLog: the security events of SPEC section 7, written through a
// Logger in [security] (WARN; kEvicted at INFO) as "<fixed text>: <ip>" plus
// " (<details>)" (a prefix autoban names its CIDR instead of an ip), and the
// other lines a peer can cause (LogPeerLine, any category and level);
// fail2ban filters match these bytes. So that a flood cannot fill the disk,
// each client block (an IPv4 address or an IPv6 /64) gets `burst` lines per
// event a minute and all clients together max(1000, 100 * burst) (autobans,
// bounded by the bans themselves, only the former); what is held back is
// counted and summarised in one line when its minute is over.
// Thread-safe.
#ifndef MUWARDEN_COMMON_GUARD_SECURITY_LOG_H_
#define MUWARDEN_COMMON_GUARD_SECURITY_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

// The fixed text of each event (SecurityEventText) is what precedes ": <ip>".
// clang-format off
enum class SecurityEvent : uint8_t {
  kBannedIp,          // Rejected banned IP
  kConnRate,          // Connection rate limited
  kAutoban,           // Auto-banned flooding IP
  kMulticlient,       // Multiclient limit reached
  kServerFull,        // Server full, rejected
  kHandshakeTimeout,  // Handshake timeout
  kReadTimeout,       // Read timeout
  kWriteTimeout,      // Write timeout
  kPacketRate,        // Packet rate exceeded
  kOversize,          // Oversize packet
  kMalformed,         // Malformed packet
  kLoginFailed,       // Login failed
  kPrefixRate,        // Prefix rate limited
  kPrefixLimit,       // Prefix limit reached
  kPendingLimit,      // Pending limit reached
  kPrefixAutoban,     // Auto-banned flooding prefix (names a CIDR)
  kEvicted,           // Evicted for a newcomer (INFO)
  kPeerLine,          // not an event: the budget of LogPeerLine's lines
  kCount,
};
// clang-format on

absl::string_view SecurityEventText(SecurityEvent event);

struct SecurityLogConfig {
  int burst = 10;              // lines per client block and event per minute
  size_t max_tracked = 65536;  // cap of the per-block table

  // [security] log_burst. max_tracked follows server.max_tracked_ips
  // (runtime::ServerSettings).
  void Describe(config::Schema& schema);
};

class SecurityLog {
 public:
  // The process-wide security log: writes through Logger::Get() on the real
  // clock, with the default config until Configure() is called.
  static SecurityLog& Get();

  // `sink` stamps and writes the lines; `clock` (monotonic Now()) times the
  // minutes. Neither is owned.
  SecurityLog(Logger& sink, Clock& clock);
  SecurityLog(const SecurityLog&) = delete;
  SecurityLog& operator=(const SecurityLog&) = delete;

  void Configure(const SecurityLogConfig& config) ABSL_LOCKS_EXCLUDED(mu_);

  // "<event text>: <peer>" plus " (<details>)" when details is not empty,
  // unless the peer's block or all clients are over their budget. Cheap for
  // a line that is not printed: the address is formatted only when it is.
  void Log(SecurityEvent event, const IpAddress& peer,
           absl::string_view details = {}) ABSL_LOCKS_EXCLUDED(mu_);

  // The same for an event that names a block (kPrefixAutoban): "<event
  // text>: <cidr>"; the budget is the block's first address's.
  void LogCidr(SecurityEvent event, const Cidr& block,
               absl::string_view details = {}) ABSL_LOCKS_EXCLUDED(mu_);

  // Any other line a peer can cause (why its connection closed, ...):
  // `message` as given, at `level` in `category`, under the same per-block
  // and global budgets as the events (one budget for all such lines).
  void LogPeerLine(LogLevel level, absl::string_view category,
                   const IpAddress& peer, absl::string_view message)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Prints the summaries of minutes that have ended; call now and then.
  void FlushSummaries() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // One budget per event and client block, so rotating through a /64 buys no
  // extra lines.
  using BurstKey = std::pair<SecurityEvent, IpKey>;
  struct BurstState {
    absl::Time window_start;
    int printed = 0;
    int64_t suppressed = 0;
    IpAddress last;  // named in the summary
    std::string last_text;  // for LogCidr/LogPeerLine: what the summary names
  };

  // Takes a line from the budgets of (event, peer's block); false when over.
  bool TakeLocked(SecurityEvent event, const IpAddress& peer, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLocked(absl::string_view message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLocked(LogLevel level, absl::string_view category,
                   absl::string_view message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushSummariesLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SummariseLocked(SecurityEvent event, const BurstState& state,
                       absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The all-clients cap: true when one more line may be printed this minute.
  bool TakeGlobalLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Logger& sink_;
  Clock& clock_;
  // Held while writing, so a summary and the line after it keep their order.
  Mutex mu_;
  SecurityLogConfig config_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<BurstKey, BurstState> bursts_ ABSL_GUARDED_BY(mu_);
  absl::Time global_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t global_printed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t global_suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

// SecurityLog::Get().Log(event, peer, details).
inline void LogSecurity(SecurityEvent event, const IpAddress& peer,
                        absl::string_view details = {}) {
  SecurityLog::Get().Log(event, peer, details);
}

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_SECURITY_LOG_H_
