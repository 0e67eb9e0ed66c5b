// HelloProbe: the health check of muwarden-probe. It connects to each target
// and passes when the server greets it as a MU client expects: the
// ConnectServer hello `C1 04 00 01` or the GameServer's 12-byte join
// `C1 0C F1 00 01 ...`. All targets are probed at once with non-blocking
// sockets and one poll() loop against a single total deadline, so one hung
// server cannot use up another's time. Pure functions and one blocking call;
// thread-compatible.
#ifndef MUWARDEN_TOOLS_PROBE_HELLO_PROBE_H_
#define MUWARDEN_TOOLS_PROBE_HELLO_PROBE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/base/clock.h"

namespace muwarden::probe {

// More targets are refused: the probe is a health check, not a scanner.
inline constexpr size_t kMaxTargets = 16;
// The longest greeting (the GameServer join).
inline constexpr size_t kMaxGreeting = 12;

struct ProbeTarget {
  std::string host;  // IPv4, IPv6 (without brackets) or a name
  int port = 0;

  std::string ToString() const;
};

// "host:port", "[v6addr]:port". kInvalidArgument says what is wrong.
absl::StatusOr<ProbeTarget> ParseTarget(absl::string_view text);
// Targets separated by commas or whitespace (for MUWARDEN_PROBE_TARGETS).
absl::StatusOr<std::vector<ProbeTarget>> ParseTargetList(
    absl::string_view text);

enum class Expect { kAny, kConnect, kGame };
absl::StatusOr<Expect> ParseExpect(absl::string_view text);

enum class Greeting {
  kNeedMore,  // a prefix of a valid greeting: keep reading
  kConnect,   // C1 04 00 01
  kGame,      // C1 0C F1 00 01 + player id + 5-byte version
  kWrong,     // anything else
};
// Judges the bytes received so far.
Greeting ClassifyGreeting(absl::Span<const uint8_t> bytes);

struct ProbeResult {
  ProbeTarget target;
  absl::Status status;  // OK: greeted as expected
  Greeting greeting = Greeting::kNeedMore;
  absl::Duration elapsed;  // from the start until greeted or failed
};

// Probes every target until each is greeted or failed, or `timeout` passes.
// Failures: kUnavailable (cannot connect), kDeadlineExceeded (no greeting in
// time), kDataLoss (wrong bytes or closed early), kFailedPrecondition (the
// other server's greeting when one kind was expected).
std::vector<ProbeResult> ProbeAll(const std::vector<ProbeTarget>& targets,
                                  Expect expect, absl::Duration timeout,
                                  const Clock& clock);

}  // namespace muwarden::probe

#endif  // MUWARDEN_TOOLS_PROBE_HELLO_PROBE_H_
