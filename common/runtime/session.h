// Session: the protocol handler of one connection (ConnectServer or
// GameServer), called by the worker only with frames that passed Layers 2-4.
// Connection: what the runtime offers a session (send with the write deadline,
// complete the handshake, the arena, the peer); TcpConnection implements it.
// Both are used by one worker thread only, except OutboundQueue, which is
// thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_SESSION_H_
#define MUWARDEN_COMMON_RUNTIME_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/base/clock.h"
#include "common/guard/ip_address.h"
#include "common/protocol/frame_assembler.h"
#include "common/runtime/arena.h"
#include "common/runtime/outbound_queue.h"

namespace muwarden::runtime {

// Limits that hold until the handshake completes (Layer 2), stricter than the
// ones after.
struct HandshakeConfig {
  absl::Duration timeout = absl::Seconds(20);
  size_t max_frame_size = 16;
  // Frames accepted in total before the handshake completes.
  int max_packets = 4;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Hands `packet` to the kernel within write_timeout (blocking this worker
  // only).
  virtual absl::Status Send(absl::Span<const uint8_t> packet) = 0;
  // Lifts the pre-handshake limits: full frame cap and packet window, silence
  // deadline.
  virtual void CompleteHandshake() = 0;
  virtual bool handshake_complete() const = 0;
  // A logged-in player: never evicted for a newcomer (SPEC 4a). Also a good
  // visit: the peer's block becomes known (MarkKnown).
  virtual void MarkProtected() {}
  // A good visit (a server-info request on the ConnectServer): the peer's
  // block is known from now on, for known_days.
  virtual void MarkKnown() {}
  // The queue other threads use to reach this client; created on first call.
  virtual std::shared_ptr<OutboundQueue> Outbound() = 0;
  virtual const guard::IpAddress& peer() const = 0;
  virtual const std::string& peer_ip() const = 0;
  virtual Arena& arena() = 0;
  virtual Clock& clock() = 0;
  virtual uint64_t id() const = 0;
};

// How a session's status ends a connection (the worker maps codes to counters
// and logs):
// clang-format off
//   OK                                          keep going
//   kCancelled                                  close quietly (the client asked, or a cap hit)
//   kInvalidArgument, kDataLoss,
//   kFailedPrecondition, kUnimplemented         "Malformed packet" security line, close
//   kResourceExhausted                          close (a per-connection cap), info line;
//                                               an exhausted arena counts as arena_exhausted
//   kPermissionDenied                           close (refused identity), no extra line
//   anything else                               close, error line
// clang-format on
class Session {
 public:
  virtual ~Session() = default;
  // Called once after accept (the hello).
  virtual absl::Status OnOpen(Connection& conn) = 0;
  // Layer 2: may this frame come before the handshake is complete?
  virtual bool AllowedBeforeHandshake(const protocol::Frame& frame) const = 0;
  virtual absl::Status OnFrame(Connection& conn,
                               const protocol::Frame& frame) = 0;
  // Called once when the connection ends, whatever the reason.
  virtual void OnClose(Connection& conn) { (void)conn; }
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SESSION_H_
