// Silent pending sockets over real loopback sockets: greeted sockets that send
// nothing wait in the PendingWaiter without a worker thread each, a parked
// socket that speaks later is served like any other, parked sockets that hang
// up or time out are released once, and Stop closes them. Each runs beside a
// witness from another address; the thread counts are compared with the path
// that gives every socket its own worker.
#include <sys/resource.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/in_process.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(3);
const Bytes kHello = HexBytes("C1 04 00 01");
const Bytes kListRequest = HexBytes("C1 04 F4 06");
constexpr size_t kListSize = 11;  // one configured game server

bool IsClosed(ReadEnd end) {
  return end == ReadEnd::kEof || end == ReadEnd::kReset;
}

// A source address for silent socket `i`: 50 per /24, so no prefix limit is
// what stops them.
std::string SilentSource(int i) {
  return absl::StrCat("127.20.", i / 50, ".", i % 50 + 1);
}

// The settings for many silent sockets. A branch that caps pending sockets in
// total has the key; one that does not refuses it, and then is started
// without it.
bool StartRoomy(InProcessConnectServer& s, std::vector<std::string> sets) {
  sets.push_back("server.max_clients=4096");
  std::vector<std::string> with_cap = sets;
  with_cap.push_back("server.max_pending=4096");
  return s.Start(with_cap) || s.Start(sets);
}

// Opens `n` silent sockets that have read their hello.
std::vector<RawClient> SilentSockets(int port, int n) {
  std::vector<RawClient> held;
  for (int i = 0; i < n; ++i) {
    RawClient c;
    if (!c.Connect("127.0.0.1", port, SilentSource(i))) {
      ADD_FAILURE() << "connect " << i;
      break;
    }
    if (c.ReadExactly(4, kIo) != kHello) {
      ADD_FAILURE() << "hello " << i;
      break;
    }
    held.push_back(std::move(c));
  }
  return held;
}

::testing::AssertionResult WitnessServed(int port, const std::string& source) {
  RawClient c;
  if (!c.Connect("127.0.0.1", port, source))
    return ::testing::AssertionFailure() << "witness could not connect";
  if (c.ReadExactly(4, kIo) != kHello)
    return ::testing::AssertionFailure() << "witness hello";
  if (!c.Send(kListRequest))
    return ::testing::AssertionFailure() << "witness send";
  if (c.ReadExactly(kListSize, kIo).size() != kListSize)
    return ::testing::AssertionFailure() << "witness list";
  return ::testing::AssertionSuccess();
}

// Client and server ends of every socket live in this process.
void RaiseFdLimit(int needed) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  ASSERT_GE(rl.rlim_cur, static_cast<rlim_t>(needed))
      << "the descriptor limit is too low for this test";
}

constexpr int kSilent = 1000;

TEST(PendingTest, ThousandSilentSocketsWaitWithoutAThreadEach) {
  RaiseFdLimit(2 * kSilent + 100);
  InProcessConnectServer s;
  ASSERT_TRUE(StartRoomy(s, {}));
  std::vector<RawClient> held = SilentSockets(s.port(), kSilent);
  ASSERT_EQ(held.size(), static_cast<size_t>(kSilent));
  ASSERT_TRUE(
      WaitFor([&] { return s.server().waiter().parked() == kSilent; }, kIo))
      << s.server().waiter().parked();
  // Not one worker was needed for them.
  EXPECT_EQ(s.server().pool().threads(), 0u);
  EXPECT_EQ(s.server().counters().connections_active.load(), 0);
  std::printf("[measure] %d silent sockets: %zu worker threads\n", kSilent,
              s.server().pool().threads());
  // A witness is served meanwhile, by one worker, and the sockets stay open.
  EXPECT_TRUE(WitnessServed(s.port(), "127.0.1.1"));
  EXPECT_EQ(s.server().pool().threads(), 1u);
  EXPECT_EQ(held[0].WaitClosed(absl::Milliseconds(100)), ReadEnd::kTimeout);
  EXPECT_EQ(s.server().guard().Counters().active, kSilent);
}

TEST(PendingTest, WithoutTheWaiterEverySilentSocketHoldsAThread) {
  // The same silent sockets on the thread-per-socket path: what the waiter
  // saves.
  RaiseFdLimit(2 * kSilent + 100);
  InProcessConnectServer s;
  s.set_park_silent(false);
  ASSERT_TRUE(StartRoomy(s, {}));
  std::vector<RawClient> held = SilentSockets(s.port(), kSilent);
  ASSERT_EQ(held.size(), static_cast<size_t>(kSilent));
  ASSERT_TRUE(WaitFor(
      [&] {
        return s.server().counters().connections_active.load() == kSilent;
      },
      kIo));
  EXPECT_GE(s.server().pool().threads(), static_cast<size_t>(kSilent));
  EXPECT_EQ(s.server().waiter().parked(), 0u);
  std::printf("[measure] %d silent sockets without the waiter: %zu threads\n",
              kSilent, s.server().pool().threads());
}

TEST(PendingTest, AParkedSocketThatSpeaksLaterIsServedNormally) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"server.handshake_timeout=10"}));
  RawClient c;
  ASSERT_TRUE(c.Connect("127.0.0.1", s.port(), "127.0.9.1"));
  ASSERT_EQ(c.ReadExactly(4, kIo), kHello);
  ASSERT_TRUE(WaitFor([&] { return s.server().waiter().parked() == 1; }, kIo));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(s.server().pool().threads(), 0u);
  ASSERT_TRUE(c.Send(kListRequest));
  EXPECT_EQ(c.ReadExactly(kListSize, kIo).size(), kListSize);
  EXPECT_EQ(s.server().waiter().parked(), 0u);
  EXPECT_EQ(s.server().counters().handshakes_completed.load(), 1u);
  // From its first byte the connection has its worker, as before: it keeps
  // being served.
  ASSERT_TRUE(c.Send(kListRequest));
  EXPECT_EQ(c.ReadExactly(kListSize, kIo).size(), kListSize);
  EXPECT_EQ(s.server().counters().connections_active.load(), 1);
  EXPECT_EQ(s.server().pool().threads(), 1u);
}

TEST(PendingTest, ParkedSocketsThatHangUpAreReleasedWithoutAWorker) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({}));
  for (int i = 0; i < 100; ++i) {
    RawClient c;
    ASSERT_TRUE(c.Connect("127.0.0.1", s.port(),
                          absl::StrCat("127.22.", i / 50, ".", i % 50 + 1)));
    ASSERT_EQ(c.ReadExactly(4, kIo), kHello);
    if (i % 2 == 0) {
      c.Reset();
    } else {
      c.Close();
    }
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return s.server().guard().Counters().active == 0 &&
               s.server().waiter().parked() == 0;
      },
      kIo))
      << "slots=" << s.server().guard().Counters().active
      << " parked=" << s.server().waiter().parked();
  EXPECT_EQ(s.server().counters().connections_served.load(), 100u);
  EXPECT_EQ(s.server().counters().peer_closed.load(), 100u);
  EXPECT_EQ(s.server().pool().threads(), 0u);  // no thread was woken for them
  EXPECT_EQ(s.server().counters().handshake_timeouts.load(), 0u);
  EXPECT_TRUE(WitnessServed(s.port(), "127.0.1.2"));
}

TEST(PendingTest, StopClosesParkedSocketsAndGivesTheirSlotsBack) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({}));
  std::vector<RawClient> held = SilentSockets(s.port(), 20);
  ASSERT_EQ(held.size(), 20u);
  ASSERT_TRUE(WaitFor([&] { return s.server().waiter().parked() == 20; }, kIo));
  const absl::Time start = absl::Now();
  s.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (auto& c : held) EXPECT_TRUE(IsClosed(c.WaitClosed(kIo)));
  EXPECT_EQ(s.server().guard().Counters().active, 0);
  EXPECT_EQ(s.server().waiter().parked(), 0u);
}

TEST(PendingTest, ParkedHandshakeTimeoutIsLoggedOnceWithTheAddress) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      BinaryPath("connect-server"),
      {"--bind", "127.0.0.1", "--set", "server.handshake_timeout=1"}));
  RawClient c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port(), "127.0.9.3"));
  const absl::Time start = absl::Now();
  ASSERT_EQ(c.ReadExactly(4, kIo), kHello);
  ASSERT_TRUE(IsClosed(c.WaitClosed(absl::Seconds(5))));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Milliseconds(1500));
  ASSERT_TRUE(
      server.WaitForLog("WARN [security] Handshake timeout: 127.0.9.3", kIo))
      << server.Log();
  // Once, not again from anywhere else later.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(server.CountInLog("Handshake timeout: 127.0.9.3"), 1)
      << server.Log();
  EXPECT_TRUE(WitnessServed(server.port(), "127.0.1.3"));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace muwarden::testing
