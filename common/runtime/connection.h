// TcpConnection: one admitted TCP connection, run on its worker thread; the
// runtime's implementation of the session-facing Connection. It enforces,
// before the session sees a frame: the handshake gate (one total deadline from
// accept, allowed opcodes, stricter limits), the read deadline (a started
// packet must complete within read_timeout; after the handshake, silence beyond
// read_timeout closes), the raw packet window, and the frame caps (header
// judged before the body). Sends are bounded by write_timeout. Every wait goes
// through a net::Poller and every deadline is computed from the Clock it is
// given, so tests run it on a FakeClock. Not thread-safe: owned by its worker;
// only the OutboundQueue is shared.
#ifndef MUWARDEN_COMMON_RUNTIME_CONNECTION_H_
#define MUWARDEN_COMMON_RUNTIME_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/config/schema.h"
#include "common/guard/sliding_window.h"
#include "common/net/poller.h"
#include "common/net/socket.h"
#include "common/runtime/counters.h"
#include "common/runtime/session.h"

namespace muwarden::runtime {

struct ConnectionConfig {
  absl::Duration read_timeout = absl::Seconds(15);
  absl::Duration write_timeout = absl::Seconds(15);
  size_t max_frame_size = 255;  // after the handshake
  guard::SlidingWindowConfig raw_packets{20, absl::Seconds(2)};
  HandshakeConfig handshake;
  OutboundQueueConfig outbound;
  // Kernel send buffer per client (the kernel doubles it). A fixed size instead
  // of autotuning keeps a stalled reader from parking megabytes in the kernel
  // and lets the write deadline react after a few packets' worth, not after ~4
  // MB; 0 keeps the kernel default.
  int send_buffer_bytes = 32 * 1024;

  // [server] handshake_timeout, read_timeout, write_timeout, max_packet_size;
  // [ratelimit] raw_pkt_rate_limit, raw_pkt_rate_window. The handshake's own
  // frame cap is clamped to max_packet_size once loaded.
  void Describe(config::Schema& schema);
};

// Why a connection ended; for counters and tests.
enum class CloseReason {
  kPeerClosed,
  kHandshakeTimeout,
  kReadTimeout,
  kWriteTimeout,
  kPacketRate,
  kOversize,
  kMalformed,
  kSessionClosed,
  kSessionError,
  kArenaExhausted,
  kKicked,
  kIoError,
};

// What the server learns from a connection about its admission state (the
// registry, the ticket, the known blocks). Every hook may be empty.
struct ConnectionHooks {
  std::function<void()> handshake_complete;
  std::function<void()> protect;
  std::function<void()> known;
};

class TcpConnection final : public Connection {
 public:
  // `fd` is a connected, non-blocking socket; `poller` waits on it against
  // deadlines on `clock`.
  TcpConnection(net::UniqueFd fd, guard::IpAddress peer, absl::Time accepted_at,
                const ConnectionConfig& config, Arena& arena, Clock& clock,
                net::Poller& poller, WorkerCounters& counters, uint64_t id);
  ~TcpConnection() override;

  // Runs the connection to its end; the socket is closed when the
  // TcpConnection is destroyed.
  CloseReason Run(Session& session);

  // Connection:
  absl::Status Send(absl::Span<const uint8_t> packet) override;
  void CompleteHandshake() override;
  bool handshake_complete() const override { return handshake_complete_; }
  void MarkProtected() override;
  void MarkKnown() override;
  void SetHooks(ConnectionHooks hooks) { hooks_ = std::move(hooks); }
  std::shared_ptr<OutboundQueue> Outbound() override;
  const guard::IpAddress& peer() const override { return peer_; }
  const std::string& peer_ip() const override { return peer_ip_; }
  Arena& arena() override { return arena_; }
  Clock& clock() override { return clock_; }
  uint64_t id() const override { return id_; }

  int fd() const { return fd_.get(); }

 private:
  CloseReason Loop(Session& session);
  // Handles every complete frame buffered; returns a reason to close, or
  // nullopt.
  absl::optional<CloseReason> DrainFrames(Session& session, absl::Time now);
  absl::optional<CloseReason> MapSessionStatus(const absl::Status& status);
  absl::optional<CloseReason> FlushOutbound();

  net::UniqueFd fd_;
  const guard::IpAddress peer_;
  const std::string peer_ip_;
  const absl::Time accepted_at_;
  const ConnectionConfig& config_;
  Arena& arena_;
  Clock& clock_;
  net::Poller& poller_;
  WorkerCounters& counters_;
  const uint64_t id_;

  std::unique_ptr<protocol::FrameAssembler> assembler_;
  guard::SlidingWindow raw_window_;
  bool handshake_complete_ = false;
  int packets_before_handshake_ = 0;
  // clang-format off
  absl::Time packet_started_at_;  // first byte of the frame being assembled
  absl::Time last_frame_at_;      // last complete frame (silence deadline)
  absl::Status send_error_;       // first failed Send, surfaced after the handler returns
  // clang-format on
  std::shared_ptr<OutboundQueue> outbound_;
  ConnectionHooks hooks_;
  bool protected_ = false;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_CONNECTION_H_
