// TcpConnection: one admitted TCP connection, run on its worker thread; the
// runtime's implementation of the session-facing Connection. It enforces,
// before the session sees a frame: the handshake gate (one total deadline from
// accept, allowed opcodes, stricter limits), the read deadline (a started
// packet must complete within read_timeout; after the handshake, silence beyond
// read_timeout closes), the raw packet window, and the frame caps (header
// judged before the body). Sends are bounded by write_timeout. Every wait goes
// through a net::Poller and every deadline is computed from the Clock it is
// given, so tests run it on a FakeClock. A connection may be opened (the
// session's hello sent) before it has a worker and wait for its first byte in
// the PendingWaiter; a worker then attaches its arena and runs it from the
// first byte to the end. Not thread-safe: owned by one thread at a time (the
// accept thread, the pending waiter, then its worker); only the OutboundQueue
// is shared.
#ifndef MUWARDEN_COMMON_RUNTIME_CONNECTION_H_
#define MUWARDEN_COMMON_RUNTIME_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

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
  // The same without a worker yet: Open() may run, Attach() gives the arena
  // before Run().
  TcpConnection(net::UniqueFd fd, guard::IpAddress peer, absl::Time accepted_at,
                const ConnectionConfig& config, Clock& clock,
                net::Poller& poller, WorkerCounters& counters, uint64_t id);
  ~TcpConnection() override;

  // Before a worker: runs the session's OnOpen (the hello) with sends that
  // never wait. A packet the kernel does not take whole at once is kept (up
  // to outbound.max_bytes in all) and finished by Run() within write_timeout
  // of its Send. A reason to close now (counted and logged), or nullopt.
  absl::optional<CloseReason> Open(Session& session);
  // Whether Open() left bytes unsent: the connection must go to a worker now
  // rather than wait for its first byte.
  bool has_unsent() const { return !unsent_.empty(); }
  // The worker's arena, before Run().
  void Attach(Arena& arena) { arena_ = &arena; }

  // While waiting for a first byte (opened, no worker), the socket became
  // readable: nullopt when bytes are there for Run(); kPeerClosed or kIoError
  // (counted as peer_closed) when the peer hung up or the socket was shut
  // down from another thread. Reads nothing.
  absl::optional<CloseReason> CheckFirstByte();
  // While waiting for a first byte, the handshake deadline passed: counts and
  // logs it as Run() would.
  CloseReason ExpireHandshake();
  // Ends a connection that never reached Run(): the session's OnClose.
  void EndUnrun(Session& session);
  // Gives the socket up (to refuse it elsewhere); the connection is dead.
  net::UniqueFd ReleaseFd() { return std::move(fd_); }

  // Runs the connection to its end (opening it first unless Open() ran); the
  // socket is closed when the TcpConnection is destroyed.
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
  const std::string& peer_ip() const override;
  // Before Attach(): an arena that holds nothing (OnOpen allocates nothing).
  Arena& arena() override;
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
  // Open()'s sends: what the kernel takes at once, the rest into unsent_.
  absl::Status SendWithoutWaiting(absl::Span<const uint8_t> packet);
  // SendAll under write_timeout, the error kept in send_error_; the caller
  // holds the outbound queue's writer() when there is a queue.
  absl::Status SendNow(absl::Span<const uint8_t> packet);

  net::UniqueFd fd_;
  const guard::IpAddress peer_;
  // Formatted on first use: most connections never need the text.
  mutable std::string peer_ip_;
  const absl::Time accepted_at_;
  const ConnectionConfig& config_;
  Arena* arena_;
  Clock& clock_;
  net::Poller& poller_;
  WorkerCounters& counters_;
  const uint64_t id_;

  std::unique_ptr<protocol::FrameAssembler> assembler_;
  guard::SlidingWindow raw_window_;
  bool handshake_complete_ = false;
  bool opened_ = false;          // OnOpen ran
  bool greeting_ = false;        // inside Open(): sends must not wait
  bool closed_ = false;          // OnClose ran
  std::vector<uint8_t> unsent_;  // Open()'s bytes the kernel did not take yet
  absl::Time unsent_since_;      // the Send that left them
  int packets_before_handshake_ = 0;
  // clang-format off
  absl::Time packet_started_at_;  // first byte of the frame being assembled
  absl::Time last_frame_at_;      // last complete frame (silence deadline)
  absl::Status send_error_;       // first failed Send, surfaced after the handler returns
  // clang-format on
  std::shared_ptr<OutboundQueue> outbound_;
  // What one wake-up took from outbound_, handed to the kernel in one send;
  // swapped with the queue's buffer, so a steady stream allocates nothing.
  std::vector<uint8_t> flush_buffer_;
  ConnectionHooks hooks_;
  bool protected_ = false;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_CONNECTION_H_
