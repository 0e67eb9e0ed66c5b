// Deadline rules of TcpConnection (SPEC section 5) on a FakeClock: bytes come
// from a socketpair, time only from the clock, so nothing here sleeps.
#include "common/runtime/connection.h"

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/guard/ip_address.h"
#include "common/net/socket.h"
#include "common/runtime/arena.h"
#include "common/runtime/counters.h"
#include "common/runtime/session.h"
#include "gtest/gtest.h"
#include "tests/support/scripted_poller.h"

namespace muwarden::runtime {
namespace {

constexpr uint8_t kLogin = 0xF1;  // completes the handshake
constexpr uint8_t kPing = 0xF2;   // allowed before the handshake

std::vector<uint8_t> Frame(uint8_t code) { return {0xC1, 0x03, code}; }

// `count` frames of `code` back to back, as one read brings them.
std::vector<uint8_t> Frames(uint8_t code, int count) {
  std::vector<uint8_t> out;
  for (int i = 0; i < count; ++i) {
    for (uint8_t b : Frame(code)) out.push_back(b);
  }
  return out;
}

// Allows login and ping before the handshake; login completes it. OnOpen
// optionally sends `hello`.
class TestSession final : public Session {
 public:
  absl::Status OnOpen(Connection& conn) override {
    ++opens;
    if (open_status.has_value()) {
      if (open_allocation > 0) (void)conn.arena().Allocate(open_allocation);
      return *open_status;
    }
    if (hello.empty()) return absl::OkStatus();
    return conn.Send(hello);
  }
  bool AllowedBeforeHandshake(const protocol::Frame& frame) const override {
    const uint8_t code = protocol::CodeOf(frame.header, frame.bytes);
    return code == kLogin || code == kPing;
  }
  absl::Status OnFrame(Connection& conn,
                       const protocol::Frame& frame) override {
    if (protocol::CodeOf(frame.header, frame.bytes) == kLogin) {
      conn.CompleteHandshake();
    }
    frame_times.push_back(conn.clock().Now());
    return absl::OkStatus();
  }

  std::vector<uint8_t> hello;
  // When set, OnOpen allocates `open_allocation` bytes and returns this.
  std::optional<absl::Status> open_status;
  size_t open_allocation = 0;
  std::vector<absl::Time> frame_times;
  int opens = 0;
  int closes = 0;
  void OnClose(Connection&) override { ++closes; }
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() {
    config_.read_timeout = absl::Seconds(15);
    config_.write_timeout = absl::Seconds(15);
    config_.handshake.timeout = absl::Seconds(20);
    config_.handshake.max_packets = 4;
    config_.raw_packets = {5, absl::Seconds(2)};
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           0, sv),
              0);
    server_end_.Reset(sv[0]);
    peer_.Reset(sv[1]);
    start_ = clock_.Now();
  }

  // Bytes the peer sends `after` the start.
  void SendAt(absl::Duration after, std::vector<uint8_t> bytes) {
    poller_.At(start_ + after, [this, bytes] {
      ASSERT_EQ(::send(peer_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(bytes.size()));
    });
  }
  void CloseAt(absl::Duration after) {
    poller_.At(start_ + after, [this] { peer_.Reset(); });
  }

  // Runs a connection accepted at `accepted_at` to its end.
  CloseReason Run(absl::Time accepted_at) {
    TcpConnection connection(std::move(server_end_),
                             *guard::ParseIp("192.0.2.7"), accepted_at, config_,
                             arena_, clock_, poller_, counters_, 1);
    return connection.Run(session_);
  }
  CloseReason Run() { return Run(start_); }

  absl::Duration Elapsed() const { return clock_.Now() - start_; }

  FakeClock clock_;
  testing::ScriptedPoller poller_{clock_};
  Arena arena_{64 * 1024};
  WorkerCounters counters_;
  ConnectionConfig config_;
  TestSession session_;
  net::UniqueFd server_end_;
  net::UniqueFd peer_;
  absl::Time start_;
};

TEST_F(ConnectionTest, HandshakeDeadlineIsTotalFromAcceptNotExtendedByBytes) {
  // Accepted 3 s before its worker started; allowed frames keep arriving but
  // never complete the handshake, and a packet is under way at the end.
  const absl::Time accepted_at = start_ - absl::Seconds(3);
  SendAt(absl::Seconds(5), Frame(kPing));
  SendAt(absl::Seconds(10), Frame(kPing));
  SendAt(absl::Seconds(15), Frame(kPing));
  SendAt(absl::Seconds(16), {0xC1});

  EXPECT_EQ(Run(accepted_at), CloseReason::kHandshakeTimeout);
  EXPECT_EQ(clock_.Now(), accepted_at + absl::Seconds(20));
  EXPECT_EQ(counters_.handshake_timeouts.load(), 1u);
  EXPECT_EQ(counters_.read_timeouts.load(), 0u);
  EXPECT_EQ(counters_.frames_handled.load(), 3u);
}

TEST_F(ConnectionTest, NoSilenceDeadlineBeforeTheHandshake) {
  config_.handshake.timeout = absl::Seconds(60);
  // 30 s of silence (more than read_timeout) before the login is not a read
  // timeout; only the handshake deadline applies then.
  SendAt(absl::Seconds(30), Frame(kLogin));
  CloseAt(absl::Seconds(40));

  EXPECT_EQ(Run(), CloseReason::kPeerClosed);
  EXPECT_EQ(counters_.handshakes_completed.load(), 1u);
  EXPECT_EQ(counters_.read_timeouts.load(), 0u);
  EXPECT_EQ(Elapsed(), absl::Seconds(40));
}

TEST_F(ConnectionTest, DrippedPacketMustCompleteWithinReadTimeout) {
  config_.handshake.timeout = absl::Seconds(60);
  // One byte every 4 s from t=2: the packet started at 2 s must be whole by
  // 17 s; its last byte would come at 18 s.
  const std::vector<uint8_t> frame = {0xC1, 0x05, kPing, 0x00, 0x00};
  for (size_t i = 0; i < frame.size(); ++i) {
    SendAt(absl::Seconds(2 + 4 * static_cast<int64_t>(i)), {frame[i]});
  }

  EXPECT_EQ(Run(), CloseReason::kReadTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(17));
  EXPECT_EQ(counters_.read_timeouts.load(), 1u);
  EXPECT_EQ(counters_.handshake_timeouts.load(), 0u);
  EXPECT_EQ(counters_.frames_handled.load(), 0u);
}

TEST_F(ConnectionTest, DrippedPacketThatCompletesInTimeIsServed) {
  config_.handshake.timeout = absl::Seconds(60);
  const std::vector<uint8_t> frame = {0xC1, 0x05, kPing, 0x00, 0x00};
  for (size_t i = 0; i < frame.size(); ++i) {
    SendAt(absl::Seconds(2 + 3 * static_cast<int64_t>(i)), {frame[i]});
  }
  // The next packet starts when its first byte arrives, not before.
  SendAt(absl::Seconds(30), {0xC1});
  SendAt(absl::Seconds(44), {0x03, kPing});
  CloseAt(absl::Seconds(50));

  EXPECT_EQ(Run(), CloseReason::kPeerClosed);
  ASSERT_EQ(session_.frame_times.size(), 2u);
  EXPECT_EQ(session_.frame_times[0], start_ + absl::Seconds(14));
  EXPECT_EQ(session_.frame_times[1], start_ + absl::Seconds(44));
  EXPECT_EQ(counters_.read_timeouts.load(), 0u);
}

TEST_F(ConnectionTest, SilenceAfterTheHandshakeBeyondReadTimeoutCloses) {
  SendAt(absl::Seconds(2), Frame(kLogin));
  SendAt(absl::Seconds(10), Frame(kPing));  // the silence counts from here

  EXPECT_EQ(Run(), CloseReason::kReadTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(25));
  EXPECT_EQ(counters_.read_timeouts.load(), 1u);
  EXPECT_EQ(counters_.handshakes_completed.load(), 1u);
  EXPECT_EQ(counters_.frames_handled.load(), 2u);
}

TEST_F(ConnectionTest, WriteDeadlineOnAPeerThatNeverDrains) {
  // Far more than the socket buffers hold; the peer reads nothing.
  session_.hello.assign(4 * 1024 * 1024, 0xAB);

  EXPECT_EQ(Run(), CloseReason::kWriteTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(15));
  EXPECT_EQ(counters_.write_timeouts.load(), 1u);
}

TEST_F(ConnectionTest,
       QueuedMessagesToAPeerThatNeverDrainsHitTheWriteDeadline) {
  config_.outbound.max_bytes = 8 * 1024 * 1024;
  SendAt(absl::Seconds(1), Frame(kLogin));
  TcpConnection connection(std::move(server_end_), *guard::ParseIp("192.0.2.7"),
                           start_, config_, arena_, clock_, poller_, counters_,
                           1);
  // Another thread's broadcast, queued before the worker looks: the worker's
  // send of it blocks on the full socket until write_timeout.
  ASSERT_TRUE(
      connection.Outbound()->Push(std::vector<uint8_t>(4 * 1024 * 1024, 0xCD)));

  EXPECT_EQ(connection.Run(session_), CloseReason::kWriteTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(15));
  EXPECT_EQ(counters_.write_timeouts.load(), 1u);
}

TEST_F(ConnectionTest, PacketOverTheRawWindowDisconnects) {
  // Window: 5 frames per 2 s, every frame counted, the login included.
  SendAt(absl::Seconds(1), Frame(kLogin));
  const std::vector<uint8_t> four = Frames(kPing, 4);
  SendAt(absl::Milliseconds(1200), four);
  SendAt(absl::Milliseconds(1400), Frame(kPing));  // the sixth inside 2 s

  EXPECT_EQ(Run(), CloseReason::kPacketRate);
  EXPECT_EQ(Elapsed(), absl::Milliseconds(1400));
  EXPECT_EQ(counters_.packet_rate_exceeded.load(), 1u);
  EXPECT_EQ(counters_.frames_handled.load(), 5u);
}

TEST_F(ConnectionTest, RawWindowSlides) {
  SendAt(absl::Seconds(1), Frame(kLogin));
  const std::vector<uint8_t> four = Frames(kPing, 4);
  SendAt(absl::Milliseconds(1200), four);
  // Once the first five are out of the window, five more fit.
  SendAt(absl::Milliseconds(3500), four);
  SendAt(absl::Milliseconds(3600), Frame(kPing));
  CloseAt(absl::Seconds(4));

  EXPECT_EQ(Run(), CloseReason::kPeerClosed);
  EXPECT_EQ(counters_.packet_rate_exceeded.load(), 0u);
  EXPECT_EQ(counters_.frames_handled.load(), 10u);
}

TEST_F(ConnectionTest, ArenaExhaustedStatusIsCountedAsSuch) {
  session_.open_allocation = 1 << 20;  // more than the 64 KiB arena
  session_.open_status = ArenaExhaustedError("no room for buffers");

  EXPECT_EQ(Run(), CloseReason::kArenaExhausted);
  EXPECT_EQ(counters_.arena_exhausted.load(), 1u);
}

TEST_F(ConnectionTest,
       OtherResourceExhaustedIsACapCloseEvenAfterAFailedAllocation) {
  session_.open_allocation = 1 << 20;  // fails, but the session says why not
  session_.open_status = absl::ResourceExhaustedError("arena exhausted");

  EXPECT_EQ(Run(), CloseReason::kSessionClosed);
  EXPECT_EQ(counters_.arena_exhausted.load(), 0u);
}

// Opened before it has a worker (the accept thread sends the hello, the
// socket then waits in the PendingWaiter), run by a worker from the first
// byte.
class OpenedConnectionTest : public ConnectionTest {
 protected:
  std::unique_ptr<TcpConnection> Unattached(absl::Time accepted_at) {
    return std::make_unique<TcpConnection>(
        std::move(server_end_), *guard::ParseIp("192.0.2.7"), accepted_at,
        config_, clock_, poller_, counters_, 1);
  }
  std::vector<uint8_t> PeerReads(size_t max) {
    std::vector<uint8_t> got(max);
    ssize_t n = ::recv(peer_.get(), got.data(), got.size(), MSG_DONTWAIT);
    got.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return got;
  }
};

TEST_F(OpenedConnectionTest, HelloBeforeAWorkerThenTheWorkerServesTheRest) {
  session_.hello = {0xC1, 0x04, 0x00, 0x01};
  auto connection = Unattached(start_);
  EXPECT_EQ(connection->Open(session_), absl::nullopt);
  EXPECT_FALSE(connection->has_unsent());
  EXPECT_EQ(PeerReads(16), session_.hello);
  EXPECT_EQ(poller_.waits(), 0);  // nothing waited

  SendAt(absl::Seconds(3), Frame(kLogin));
  CloseAt(absl::Seconds(4));
  ASSERT_EQ(connection->CheckFirstByte(), absl::nullopt);  // nothing yet
  clock_.Advance(absl::Seconds(3));
  connection->Attach(arena_);
  EXPECT_EQ(connection->Run(session_), CloseReason::kPeerClosed);
  EXPECT_EQ(session_.opens, 1);  // the hello was not sent twice
  EXPECT_EQ(session_.closes, 1);
  EXPECT_EQ(session_.frame_times.size(), 1u);
  EXPECT_EQ(counters_.handshakes_completed.load(), 1u);
}

TEST_F(OpenedConnectionTest, HandshakeDeadlineStillCountsFromAccept) {
  // Parked for 15 s, then a byte: the worker has 5 s left, not 20.
  auto connection = Unattached(start_);
  ASSERT_EQ(connection->Open(session_), absl::nullopt);
  clock_.Advance(absl::Seconds(15));
  ASSERT_EQ(::send(peer_.get(), "\xC1", 1, MSG_NOSIGNAL), 1);
  ASSERT_EQ(connection->CheckFirstByte(), absl::nullopt);
  connection->Attach(arena_);
  EXPECT_EQ(connection->Run(session_), CloseReason::kHandshakeTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(20));
  EXPECT_EQ(counters_.handshake_timeouts.load(), 1u);
}

TEST_F(OpenedConnectionTest, AHelloTheKernelDoesNotTakeAtOnceIsFinishedOnTime) {
  // More than a socketpair buffers: Open keeps the rest instead of waiting,
  // and the worker must finish it within write_timeout of the Send.
  config_.outbound.max_bytes = 8 * 1024 * 1024;
  session_.hello.assign(4 * 1024 * 1024, 0xAB);
  auto connection = Unattached(start_);
  EXPECT_EQ(connection->Open(session_), absl::nullopt);
  EXPECT_TRUE(connection->has_unsent());
  EXPECT_EQ(poller_.waits(), 0);
  clock_.Advance(absl::Seconds(5));  // on its way to a worker
  connection->Attach(arena_);
  EXPECT_EQ(connection->Run(session_), CloseReason::kWriteTimeout);
  EXPECT_EQ(Elapsed(), absl::Seconds(15));
  EXPECT_EQ(counters_.write_timeouts.load(), 1u);
  EXPECT_EQ(session_.opens, 1);
}

TEST_F(OpenedConnectionTest, AGreetingBeyondTheOutboundCapIsRefused) {
  config_.outbound.max_bytes = 64 * 1024;
  session_.hello.assign(4 * 1024 * 1024, 0xAB);
  auto connection = Unattached(start_);
  EXPECT_EQ(connection->Open(session_), CloseReason::kSessionClosed);
  connection->EndUnrun(session_);
  connection->EndUnrun(session_);
  EXPECT_EQ(session_.closes, 1);
}

TEST_F(OpenedConnectionTest, BytesThenAHangupAreLeftForTheWorker) {
  auto connection = Unattached(start_);
  ASSERT_EQ(connection->Open(session_), absl::nullopt);
  ASSERT_EQ(::send(peer_.get(), "ab", 2, MSG_NOSIGNAL), 2);
  EXPECT_EQ(connection->CheckFirstByte(), absl::nullopt);
  EXPECT_EQ(connection->CheckFirstByte(), absl::nullopt);  // still there
  peer_.Reset();
  // The unread bytes are still there after the hang-up: the worker gets them.
  EXPECT_EQ(connection->CheckFirstByte(), absl::nullopt);
  EXPECT_EQ(counters_.peer_closed.load(), 0u);
}

TEST_F(OpenedConnectionTest, ShutdownWhileWaitingIsAPeerClose) {
  auto connection = Unattached(start_);
  ASSERT_EQ(connection->Open(session_), absl::nullopt);
  ::shutdown(connection->fd(), SHUT_RDWR);  // eviction, kick, Stop
  EXPECT_EQ(connection->CheckFirstByte(), CloseReason::kPeerClosed);
  EXPECT_EQ(counters_.peer_closed.load(), 1u);
  connection->EndUnrun(session_);
  EXPECT_EQ(session_.closes, 1);
}

TEST_F(OpenedConnectionTest, ExpiryWhileWaitingCountsAHandshakeTimeout) {
  auto connection = Unattached(start_);
  ASSERT_EQ(connection->Open(session_), absl::nullopt);
  EXPECT_EQ(connection->ExpireHandshake(), CloseReason::kHandshakeTimeout);
  EXPECT_EQ(counters_.handshake_timeouts.load(), 1u);
}

}  // namespace
}  // namespace muwarden::runtime
