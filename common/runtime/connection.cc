#include "common/runtime/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {

namespace {

// What arena() gives before a worker attached its own: it holds nothing, so
// an allocation there fails like an exhausted arena, and nothing is shared.
Arena& NoArena() {
  static Arena* const arena = new Arena(0);
  return *arena;
}

}  // namespace

TcpConnection::TcpConnection(net::UniqueFd fd, guard::IpAddress peer,
                             absl::Time accepted_at,
                             const ConnectionConfig& config, Arena& arena,
                             Clock& clock, net::Poller& poller,
                             WorkerCounters& counters, uint64_t id)
    : TcpConnection(std::move(fd), peer, accepted_at, config, clock, poller,
                    counters, id) {
  arena_ = &arena;
}

TcpConnection::TcpConnection(net::UniqueFd fd, guard::IpAddress peer,
                             absl::Time accepted_at,
                             const ConnectionConfig& config, Clock& clock,
                             net::Poller& poller, WorkerCounters& counters,
                             uint64_t id)
    : fd_(std::move(fd)),
      peer_(peer),
      accepted_at_(accepted_at),
      config_(config),
      arena_(nullptr),
      clock_(clock),
      poller_(poller),
      counters_(counters),
      id_(id),
      raw_window_(config.raw_packets) {}

TcpConnection::~TcpConnection() {
  if (outbound_) outbound_->Close();
}

const std::string& TcpConnection::peer_ip() const {
  if (peer_ip_.empty()) peer_ip_ = peer_.ToString();
  return peer_ip_;
}

Arena& TcpConnection::arena() {
  return arena_ != nullptr ? *arena_ : NoArena();
}

absl::Status TcpConnection::Send(absl::Span<const uint8_t> packet) {
  if (greeting_) return SendWithoutWaiting(packet);
  if (!send_error_.ok()) return send_error_;
  if (outbound_ == nullptr) return SendNow(packet);
  absl::Status status;
  {
    // Broadcasters may be writing to this socket from their threads.
    MutexLock writing(&outbound_->writer());
    status = SendNow(packet);
  }
  // What they staged while we held the socket.
  if (status.ok()) outbound_->Flush();
  return status;
}

absl::Status TcpConnection::SendNow(absl::Span<const uint8_t> packet) {
  absl::Status status = net::SendAll(
      fd_.get(), packet, clock_.Now() + config_.write_timeout, clock_, poller_);
  if (!status.ok()) send_error_ = status;
  return status;
}

absl::Status TcpConnection::SendWithoutWaiting(
    absl::Span<const uint8_t> packet) {
  if (!send_error_.ok()) return send_error_;
  if (unsent_.empty()) {
    ssize_t n;
    do {
      n = ::send(fd_.get(), packet.data(), packet.size(),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        send_error_ = absl::UnavailableError(
            absl::StrCat("send: ", std::strerror(errno)));
        return send_error_;
      }
      n = 0;
    }
    if (static_cast<size_t>(n) == packet.size()) return absl::OkStatus();
    packet.remove_prefix(static_cast<size_t>(n));
    unsent_since_ = clock_.Now();
  }
  // A fresh socket's buffer takes any hello at once; this bound only keeps a
  // session that greets with megabytes from parking them here.
  if (unsent_.size() + packet.size() > config_.outbound.max_bytes) {
    return absl::ResourceExhaustedError(
        "greeting larger than the outbound queue");
  }
  unsent_.insert(unsent_.end(), packet.begin(), packet.end());
  return absl::OkStatus();
}

absl::optional<CloseReason> TcpConnection::Open(Session& session) {
  opened_ = true;
  greeting_ = true;
  absl::Status status = session.OnOpen(*this);
  greeting_ = false;
  return MapSessionStatus(status);
}

absl::optional<CloseReason> TcpConnection::CheckFirstByte() {
  uint8_t byte;
  ssize_t n;
  do {
    n = ::recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) return absl::nullopt;
  // A spurious wake-up: the worker waits for the byte with its deadlines.
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return absl::nullopt;
  counters_.peer_closed.fetch_add(1, std::memory_order_relaxed);
  return n == 0 ? CloseReason::kPeerClosed : CloseReason::kIoError;
}

CloseReason TcpConnection::ExpireHandshake() {
  counters_.handshake_timeouts.fetch_add(1, std::memory_order_relaxed);
  guard::LogSecurity(guard::SecurityEvent::kHandshakeTimeout, peer_);
  return CloseReason::kHandshakeTimeout;
}

void TcpConnection::EndUnrun(Session& session) {
  if (!closed_) {
    closed_ = true;
    session.OnClose(*this);
  }
  if (outbound_) outbound_->Close();
}

void TcpConnection::CompleteHandshake() {
  if (handshake_complete_) return;
  handshake_complete_ = true;
  assembler_->SetMaxFrameSize(config_.max_frame_size);
  // Only a client that completed the handshake can ask for much output; fixing
  // its buffer here keeps the extra system call off the path of floods that
  // never get this far.
  if (config_.send_buffer_bytes > 0) {
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &config_.send_buffer_bytes,
                 sizeof(config_.send_buffer_bytes));
  }
  // A game sends small packets that must not wait: with Nagle a D4 queued
  // behind an unacknowledged one waits for the peer's delayed ACK (40 ms on
  // Linux). What is queued together still leaves in one send.
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (outbound_) outbound_->AttachSocket(fd_.get());
  last_frame_at_ = clock_.Now();
  counters_.handshakes_completed.fetch_add(1, std::memory_order_relaxed);
  counters_.connections_established.fetch_add(1, std::memory_order_relaxed);
  if (hooks_.handshake_complete) hooks_.handshake_complete();
}

void TcpConnection::MarkProtected() {
  if (protected_) return;
  protected_ = true;
  if (hooks_.protect) hooks_.protect();
  MarkKnown();
}

void TcpConnection::MarkKnown() {
  if (hooks_.known) hooks_.known();
}

std::shared_ptr<OutboundQueue> TcpConnection::Outbound() {
  if (!outbound_) {
    outbound_ = std::make_shared<OutboundQueue>(config_.outbound, clock_);
    // Before the handshake every send is the worker's own (the greeting
    // rules); CompleteHandshake attaches it otherwise.
    if (handshake_complete_) outbound_->AttachSocket(fd_.get());
  }
  return outbound_;
}

CloseReason TcpConnection::Run(Session& session) {
  counters_.connections_active.fetch_add(1, std::memory_order_relaxed);
  CloseReason reason = Loop(session);
  if (!closed_) {
    closed_ = true;
    session.OnClose(*this);
  }
  if (outbound_) outbound_->Close();
  counters_.connections_active.fetch_sub(1, std::memory_order_relaxed);
  if (handshake_complete_) {
    counters_.connections_established.fetch_sub(1, std::memory_order_relaxed);
  }
  // The destructor closes the socket: a FIN when everything was read, a reset
  // when the peer's bytes were left unread (the body of a refused frame is
  // never read).
  return reason;
}

absl::optional<CloseReason> TcpConnection::MapSessionStatus(
    const absl::Status& status) {
  if (status.ok()) {
    if (!send_error_.ok()) {
      if (absl::IsDeadlineExceeded(send_error_)) {
        counters_.write_timeouts.fetch_add(1, std::memory_order_relaxed);
        guard::LogSecurity(guard::SecurityEvent::kWriteTimeout, peer_);
        return CloseReason::kWriteTimeout;
      }
      return CloseReason::kIoError;
    }
    return absl::nullopt;
  }
  if (absl::IsDeadlineExceeded(status) || !send_error_.ok()) {
    // The session gave up because a send failed: report the send, not the
    // session.
    if (absl::IsDeadlineExceeded(send_error_) ||
        absl::IsDeadlineExceeded(status)) {
      counters_.write_timeouts.fetch_add(1, std::memory_order_relaxed);
      guard::LogSecurity(guard::SecurityEvent::kWriteTimeout, peer_);
      return CloseReason::kWriteTimeout;
    }
    return CloseReason::kIoError;
  }
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
      return CloseReason::kSessionClosed;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
      if (status.code() != absl::StatusCode::kInvalidArgument &&
          status.code() != absl::StatusCode::kDataLoss) {
        counters_.frames_rejected_opcode.fetch_add(1, std::memory_order_relaxed);
      }
      counters_.frames_rejected_malformed.fetch_add(1,
                                                    std::memory_order_relaxed);
      guard::LogSecurity(guard::SecurityEvent::kMalformed, peer_,
                         status.message());
      return CloseReason::kMalformed;
    case absl::StatusCode::kResourceExhausted:
      if (IsArenaExhausted(status)) {
        counters_.arena_exhausted.fetch_add(1, std::memory_order_relaxed);
        guard::SecurityLog::Get().LogPeerLine(
            LogLevel::kWarn, "net",
            peer_, absl::StrCat("arena exhausted, closing: ", peer_ip()));
        return CloseReason::kArenaExhausted;
      }
      guard::SecurityLog::Get().LogPeerLine(
          LogLevel::kInfo, "net", peer_,
          absl::StrCat("closing ", peer_ip(), ": ", status.message()));
      return CloseReason::kSessionClosed;
    case absl::StatusCode::kPermissionDenied:
      return CloseReason::kSessionClosed;
    default:
      counters_.handler_errors.fetch_add(1, std::memory_order_relaxed);
      guard::SecurityLog::Get().LogPeerLine(
          LogLevel::kError, "net", peer_,
          absl::StrCat("handler error for ", peer_ip(), ": ",
                       status.ToString()));
      return CloseReason::kSessionError;
  }
}

absl::optional<CloseReason> TcpConnection::DrainFrames(Session& session,
                                                       absl::Time now) {
  while (true) {
    auto next = assembler_->Next();
    if (!next.ok()) {
      if (protocol::IsOversize(next.status())) {
        counters_.frames_rejected_oversize.fetch_add(1,
                                                     std::memory_order_relaxed);
        guard::LogSecurity(guard::SecurityEvent::kOversize, peer_,
                           next.status().message());
        return CloseReason::kOversize;
      }
      counters_.frames_rejected_malformed.fetch_add(1,
                                                    std::memory_order_relaxed);
      guard::LogSecurity(guard::SecurityEvent::kMalformed, peer_,
                         next.status().message());
      return CloseReason::kMalformed;
    }
    if (!next->has_value()) return absl::nullopt;
    const protocol::Frame& frame = **next;
    // Layer 3: every frame counts, whatever it is; the window is exact.
    if (!raw_window_.TryAcquire(now)) {
      counters_.packet_rate_exceeded.fetch_add(1, std::memory_order_relaxed);
      guard::LogSecurity(guard::SecurityEvent::kPacketRate, peer_);
      return CloseReason::kPacketRate;
    }
    if (!handshake_complete_) {
      if (++packets_before_handshake_ > config_.handshake.max_packets) {
        counters_.packet_rate_exceeded.fetch_add(1, std::memory_order_relaxed);
        guard::LogSecurity(guard::SecurityEvent::kPacketRate, peer_,
                           "before handshake");
        return CloseReason::kPacketRate;
      }
      if (!session.AllowedBeforeHandshake(frame)) {
        counters_.frames_rejected_opcode.fetch_add(1, std::memory_order_relaxed);
        counters_.frames_rejected_malformed.fetch_add(
            1, std::memory_order_relaxed);
        guard::LogSecurity(
            guard::SecurityEvent::kMalformed, peer_,
            absl::StrCat("opcode 0x",
                         absl::Hex(frame.bytes[frame.header.header_size],
                                   absl::kZeroPad2),
                         " before handshake"));
        return CloseReason::kMalformed;
      }
    }
    last_frame_at_ = now;
    counters_.frames_handled.fetch_add(1, std::memory_order_relaxed);
    if (auto reason = MapSessionStatus(session.OnFrame(*this, frame))) {
      return reason;
    }
    // Bytes left over after this frame arrived in the same read: their packet
    // starts now.
    packet_started_at_ = now;
  }
}

absl::optional<CloseReason> TcpConnection::FlushOutbound() {
  if (outbound_->kicked()) {
    counters_.kicked.fetch_add(1, std::memory_order_relaxed);
    return CloseReason::kKicked;
  }
  // Everything queued since the last wake-up goes out in one send, under one
  // write deadline: the queue's byte cap bounds what that send may hold.
  {
    // Held while sending what is taken, so that no broadcaster's direct send
    // can overtake it.
    MutexLock writing(&outbound_->writer());
    flush_buffer_.clear();
    outbound_->TakeBytes(&flush_buffer_);
    if (flush_buffer_.empty()) return absl::nullopt;
    if (send_error_.ok()) {
      SendNow(flush_buffer_).IgnoreError();  // the error is kept in send_error_
    }
    flush_buffer_.clear();
  }
  if (auto reason = MapSessionStatus(absl::OkStatus())) return reason;
  outbound_->Flush();  // what was staged while we held the socket
  return absl::nullopt;
}

CloseReason TcpConnection::Loop(Session& session) {
  const size_t buffer_size =
      std::max(config_.max_frame_size, config_.handshake.max_frame_size);
  absl::Span<uint8_t> buffer = arena().Allocate(buffer_size);
  if (buffer.empty()) {
    counters_.arena_exhausted.fetch_add(1, std::memory_order_relaxed);
    guard::SecurityLog::Get().LogPeerLine(
        LogLevel::kWarn, "net", peer_,
        absl::StrCat("arena too small for the frame buffer: ", peer_ip()));
    return CloseReason::kArenaExhausted;
  }
  assembler_ = std::make_unique<protocol::FrameAssembler>(
      buffer,
      std::min(config_.handshake.max_frame_size, config_.max_frame_size));
  if (!opened_) {
    opened_ = true;
    if (auto reason = MapSessionStatus(session.OnOpen(*this))) return *reason;
  } else if (!unsent_.empty()) {
    // What Open() could not hand over at once, within write_timeout of its
    // Send.
    absl::Status status =
        net::SendAll(fd_.get(), unsent_, unsent_since_ + config_.write_timeout,
                     clock_, poller_);
    unsent_.clear();
    unsent_.shrink_to_fit();
    if (!status.ok()) send_error_ = status;
    if (auto reason = MapSessionStatus(absl::OkStatus())) return *reason;
  }

  const absl::Time handshake_deadline =
      accepted_at_ + config_.handshake.timeout;
  while (true) {
    const absl::Time now = clock_.Now();
    // The nearest deadline decides how long poll may sleep; bytes never extend
    // any of them.
    absl::Time deadline = absl::InfiniteFuture();
    CloseReason on_expiry = CloseReason::kReadTimeout;
    if (!handshake_complete_) {
      deadline = handshake_deadline;
      on_expiry = CloseReason::kHandshakeTimeout;
    }
    const absl::Time read_deadline =
        assembler_->HasPartial() ? packet_started_at_ + config_.read_timeout
        : handshake_complete_    ? last_frame_at_ + config_.read_timeout
                                 : absl::InfiniteFuture();
    if (read_deadline < deadline) {
      deadline = read_deadline;
      on_expiry = CloseReason::kReadTimeout;
    }
    if (outbound_) {
      if (auto since = outbound_->full_since();
          since.has_value() && *since + config_.write_timeout < deadline) {
        deadline = *since + config_.write_timeout;
        on_expiry = CloseReason::kWriteTimeout;
      }
    }
    if (now >= deadline) {
      switch (on_expiry) {
        case CloseReason::kHandshakeTimeout:
          counters_.handshake_timeouts.fetch_add(1, std::memory_order_relaxed);
          guard::LogSecurity(guard::SecurityEvent::kHandshakeTimeout, peer_);
          break;
        case CloseReason::kWriteTimeout:
          counters_.write_timeouts.fetch_add(1, std::memory_order_relaxed);
          guard::LogSecurity(guard::SecurityEvent::kWriteTimeout, peer_,
                             "outbound queue full");
          break;
        default:
          counters_.read_timeouts.fetch_add(1, std::memory_order_relaxed);
          guard::LogSecurity(
              guard::SecurityEvent::kReadTimeout, peer_,
              assembler_->HasPartial() ? "incomplete packet" : "silent");
          break;
      }
      return on_expiry;
    }
    const int wake_fd = outbound_ ? outbound_->wake_fd() : -1;
    auto ready = poller_.Wait(fd_.get(), POLLIN, wake_fd, deadline);
    if (!ready.ok()) return CloseReason::kIoError;
    if (ready->wake) {
      if (auto reason = FlushOutbound()) return *reason;
    }
    // Nothing on the socket: a deadline (checked at the top) or the wake only.
    if (ready->socket == 0) continue;
    auto space = assembler_->WritableSpace();
    if (space.empty()) {
      // Cannot happen: frames never exceed the buffer and complete ones are
      // drained below.
      return CloseReason::kSessionError;
    }
    const bool was_partial = assembler_->HasPartial();
    net::IoResult io = net::RecvSome(fd_.get(), space);
    if (io.state == net::IoState::kWouldBlock) continue;
    if (io.state != net::IoState::kOk) {
      counters_.peer_closed.fetch_add(1, std::memory_order_relaxed);
      return io.state == net::IoState::kClosed ? CloseReason::kPeerClosed
                                               : CloseReason::kIoError;
    }
    const absl::Time received_at = clock_.Now();
    if (!was_partial) packet_started_at_ = received_at;
    assembler_->Commit(io.bytes);
    if (auto reason = DrainFrames(session, received_at)) return *reason;
  }
}

void ConnectionConfig::Describe(config::Schema& s) {
  s.Seconds("server", "handshake_timeout", &handshake.timeout, 0.05, 3600,
            "total time from accept until the handshake is complete");
  s.Seconds("server", "read_timeout", &read_timeout, 0.05, 3600,
            "time to receive one whole packet once its first byte arrived; "
            "also the longest silence after the handshake");
  s.Seconds("server", "write_timeout", &write_timeout, 0.05, 3600,
            "time to hand one packet to the kernel");
  s.Integer("server", "max_packet_size", &max_frame_size, 4, 65535,
            "declared frame length cap in bytes, checked on the header");
  raw_packets.Describe(
      s, "ratelimit", "raw_pkt",
      "packets per client per raw_pkt_rate_window; exceeding disconnects");
  s.OnLoaded([this](config::SettingsErrors&) {
    handshake.max_frame_size =
        std::min(handshake.max_frame_size, max_frame_size);
  });
}

}  // namespace muwarden::runtime
