// Layers 2-5 attacked over real sockets: each test runs one attack against the
// real runtime (accept thread, worker pool, ConnectServer session) and checks
// that it was stopped, how fast, and that a witness client from another
// loopback address was served meanwhile.
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <thread>

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

void Measure(const std::string& what, absl::Duration d) {
  std::printf("[measure] %s: %.0f ms\n", what.c_str(),
              absl::ToDoubleMilliseconds(d));
}

bool IsClosed(ReadEnd end) {
  return end == ReadEnd::kEof || end == ReadEnd::kReset;
}

// A legitimate client from its own address: hello, then a server list.
::testing::AssertionResult WitnessServed(
    int port, const std::string& source = "127.0.0.99") {
  RawClient c;
  if (!c.Connect("127.0.0.1", port, source)) {
    return ::testing::AssertionFailure() << "witness could not connect";
  }
  Bytes hello = c.ReadExactly(4, kIo);
  if (hello != kHello)
    return ::testing::AssertionFailure() << "witness hello: " << Hex(hello);
  if (!c.Send(kListRequest))
    return ::testing::AssertionFailure() << "witness send";
  Bytes list = c.ReadExactly(kListSize, kIo);
  if (list.size() != kListSize) {
    return ::testing::AssertionFailure() << "witness list: " << Hex(list);
  }
  return ::testing::AssertionSuccess();
}

// Runs witnesses every 100 ms on another thread until stopped; counts failures.
class WitnessLoop {
 public:
  explicit WitnessLoop(int port) {
    thread_ = std::thread([this, port] {
      for (int i = 0; i < 600 && !stop_.load(); ++i) {
        // A fresh address each time, so the witnesses never add up to a rate
        // limit.
        if (WitnessServed(port, absl::StrCat("127.0.1.", i % 250 + 1))) {
          served_.fetch_add(1);
        } else {
          failed_.fetch_add(1);
        }
        absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  ~WitnessLoop() { Finish(); }
  void Finish() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int served() const { return served_.load(); }
  int failed() const { return failed_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::atomic<int> failed_{0};
  std::thread thread_;
};

RawClient Attacker(int port, const std::string& source = "127.0.0.66",
                   int rcvbuf = 0) {
  RawClient c;
  EXPECT_TRUE(c.Connect("127.0.0.1", port, source, rcvbuf));
  EXPECT_EQ(c.ReadExactly(4, kIo), kHello);
  return c;
}

// `count` server list requests back to back.
Bytes ListRequests(int count) {
  Bytes burst;
  for (int i = 0; i < count; ++i)
    burst.insert(burst.end(), kListRequest.begin(), kListRequest.end());
  return burst;
}

// Starts `s` with `sets` plus 200 game servers, which make each list answer 807
// bytes, and no cap on list requests.
bool StartWithLongLists(InProcessConnectServer& s,
                        std::vector<std::string> sets) {
  for (int i = 0; i < 200; ++i)
    sets.push_back(absl::StrCat("gameserver.", i, ".load=1"));
  connect::ConnectLimits limits;
  limits.max_list_requests = 100000;
  return s.Start(sets, limits);
}

TEST(LayersTest, SilentSlowlorisClosedAtHandshakeTimeout) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"server.handshake_timeout=1"}));
  WitnessLoop witness(s.port());
  const absl::Time start = absl::Now();
  RawClient attacker = Attacker(s.port());
  ASSERT_TRUE(IsClosed(attacker.WaitClosed(absl::Seconds(5))));
  const absl::Duration took = absl::Now() - start;
  Measure("silent slowloris time-to-close (handshake_timeout=1s)", took);
  EXPECT_GE(took, absl::Milliseconds(950));
  EXPECT_LT(took, absl::Milliseconds(1500));
  witness.Finish();
  EXPECT_GT(witness.served(), 5);
  EXPECT_EQ(witness.failed(), 0);
  EXPECT_EQ(s.server().counters().handshake_timeouts.load(), 1u);
}

TEST(LayersTest, HandshakeDeadlineIsNotExtendedByBytes) {
  // Valid-looking but incomplete bytes keep arriving; the handshake deadline
  // still holds.
  InProcessConnectServer s;
  ASSERT_TRUE(
      s.Start({"server.handshake_timeout=1", "server.read_timeout=10"}));
  RawClient attacker = Attacker(s.port());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(attacker.Send(HexBytes("C1")));
  ASSERT_TRUE(attacker.Send(HexBytes("06")));
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(300));
    if (!attacker.Send(HexBytes("F4"))) break;
  }
  ASSERT_TRUE(IsClosed(attacker.WaitClosed(absl::Seconds(5))));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Milliseconds(1500));
  EXPECT_EQ(s.server().counters().handshake_timeouts.load(), 1u);
}

TEST(LayersTest, DripSlowlorisClosedAtReadTimeoutWhileBytesKeepComing) {
  InProcessConnectServer s;
  ASSERT_TRUE(
      s.Start({"server.handshake_timeout=60", "server.read_timeout=2"}));
  WitnessLoop witness(s.port());
  RawClient attacker = Attacker(s.port());
  ASSERT_TRUE(
      attacker.Send(kListRequest));  // completes the handshake: cap is now 255
  ASSERT_EQ(attacker.ReadExactly(kListSize, kIo).size(), kListSize);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(attacker.Send(HexBytes("C1 FF")));
  int dripped = 0;
  ReadEnd end = ReadEnd::kTimeout;
  for (int i = 0; i < 20; ++i) {  // 10 s at most
    end = attacker.WaitClosed(absl::Milliseconds(500));
    if (end != ReadEnd::kTimeout) break;
    if (!attacker.Send(HexBytes("00"))) break;
    ++dripped;
  }
  const absl::Duration took = absl::Now() - start;
  Measure("drip slowloris time-to-close (read_timeout=2s)", took);
  EXPECT_TRUE(IsClosed(end) || dripped < 20);
  EXPECT_GE(dripped, 3);  // bytes really kept coming
  EXPECT_GE(took, absl::Milliseconds(1900));
  EXPECT_LT(took, absl::Milliseconds(2700));
  EXPECT_EQ(s.server().counters().read_timeouts.load(), 1u);
  witness.Finish();
  EXPECT_EQ(witness.failed(), 0);
  EXPECT_GT(witness.served(), 10);
}

TEST(LayersTest, SilenceAfterHandshakeClosedAtReadTimeout) {
  InProcessConnectServer s;
  ASSERT_TRUE(
      s.Start({"server.handshake_timeout=60", "server.read_timeout=1"}));
  RawClient attacker = Attacker(s.port());
  ASSERT_TRUE(attacker.Send(kListRequest));
  ASSERT_EQ(attacker.ReadExactly(kListSize, kIo).size(), kListSize);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(IsClosed(attacker.WaitClosed(absl::Seconds(4))));
  const absl::Duration took = absl::Now() - start;
  Measure("silent client after handshake time-to-close (read_timeout=1s)",
          took);
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Milliseconds(1500));
  EXPECT_TRUE(WitnessServed(s.port()));
}

struct OversizeCase {
  std::string name;
  std::string header;
  bool after_handshake;
};

TEST(LayersTest, OversizeAndShortHeadersClosedAtOnceWithNoBodyRead) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({}));
  const std::vector<OversizeCase> cases = {
      {"C1 declaring 0", "C1 00", false},
      {"C1 declaring 1", "C1 01", false},
      {"C1 declaring 2", "C1 02", false},
      {"C2 FF FF", "C2 FF FF", false},
      {"C2 FF FF after handshake", "C2 FF FF", true},
      {"cap + 1 (256) after handshake", "C2 01 00", true},
      {"C1 declaring 9 before handshake (pre-handshake cap 8)", "C1 09", false},
  };
  uint64_t oversize = 0, malformed = 0;
  for (const auto& c : cases) {
    RawClient attacker = Attacker(s.port());
    if (c.after_handshake) {
      ASSERT_TRUE(attacker.Send(kListRequest));
      ASSERT_EQ(attacker.ReadExactly(kListSize, kIo).size(), kListSize);
    }
    const absl::Time start = absl::Now();
    ASSERT_TRUE(
        attacker.Send(HexBytes(c.header)));  // the header only: no body follows
    size_t extra = 0;
    ASSERT_TRUE(IsClosed(attacker.WaitClosed(kIo, &extra))) << c.name;
    const absl::Duration took = absl::Now() - start;
    Measure("oversize/short header " + c.name + " time-to-close", took);
    EXPECT_LT(took, absl::Milliseconds(200)) << c.name;
    EXPECT_EQ(extra, 0u) << c.name;
    EXPECT_TRUE(WitnessServed(s.port())) << c.name;
  }
  // Header and body in one write: the server takes only the header from the
  // socket, so the body is still unread when it closes, and the kernel answers
  // that with a reset.
  for (const std::string header : {"C2 FF FF", "C1 09"}) {
    RawClient attacker = Attacker(s.port());
    Bytes frame = HexBytes(header);
    frame.resize(300, 0x41);
    ASSERT_TRUE(attacker.Send(frame));
    EXPECT_EQ(attacker.WaitClosed(kIo), ReadEnd::kReset) << header;
  }
  oversize = s.server().counters().frames_rejected_oversize.load();
  malformed = s.server().counters().frames_rejected_malformed.load();
  EXPECT_EQ(oversize,
            6u);  // C2 FF FF three times, cap + 1, pre-handshake cap twice
  EXPECT_EQ(malformed, 3u);  // lengths 0, 1, 2
}

TEST(LayersTest, GarbageClosedBeforeAnyHandlerRuns) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({}));
  const std::vector<std::pair<std::string, Bytes>> garbage = {
      {"HTTP GET", Bytes({'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/',
                          '1', '.', '1', '\r', '\n', '\r', '\n'})},
      {"RDP probe",
       HexBytes("03 00 00 13 0E E0 00 00 00 00 00 01 00 08 00 03 00 00 00")},
      {"DE AD BE EF", HexBytes("DE AD BE EF")},
  };
  for (const auto& [name, bytes] : garbage) {
    RawClient attacker = Attacker(s.port());
    const absl::Time start = absl::Now();
    ASSERT_TRUE(attacker.Send(bytes));
    size_t extra = 0;
    ASSERT_TRUE(IsClosed(attacker.WaitClosed(kIo, &extra))) << name;
    Measure("garbage " + name + " time-to-close", absl::Now() - start);
    EXPECT_EQ(extra, 0u) << name;
  }
  {
    // A single zero byte, then 1 KiB chunks: closed at the first byte; later
    // sends fail.
    RawClient attacker = Attacker(s.port());
    const absl::Time start = absl::Now();
    ASSERT_TRUE(attacker.Send(HexBytes("00")));
    int chunks_sent = 0;
    for (int i = 0; i < 64; ++i) {
      if (!attacker.Send(Bytes(1024, 0x41))) break;
      ++chunks_sent;
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(IsClosed(attacker.WaitClosed(kIo)));
    Measure("garbage 00 then 1 KiB chunks time-to-close", absl::Now() - start);
    EXPECT_LT(chunks_sent, 64);
  }
  EXPECT_EQ(s.server().counters().frames_handled.load(),
            0u);  // no handler ever ran
  EXPECT_EQ(s.server().counters().frames_rejected_malformed.load(), 4u);
  EXPECT_TRUE(WitnessServed(s.port()));
}

TEST(LayersTest, WrongOpcodeBeforeHandshakeClosed) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({}));
  RawClient attacker = Attacker(s.port());
  ASSERT_TRUE(attacker.Send(
      HexBytes("C1 04 00 01")));  // the server's hello, echoed back
  size_t extra = 0;
  ASSERT_TRUE(IsClosed(attacker.WaitClosed(kIo, &extra)));
  EXPECT_EQ(extra, 0u);
  EXPECT_EQ(s.server().counters().frames_handled.load(), 0u);
  EXPECT_EQ(s.server().counters().frames_rejected_malformed.load(), 1u);
  EXPECT_TRUE(WitnessServed(s.port()));
}

TEST(LayersTest, PacketFloodOverTheWindowDisconnectsAtTheLimitDoesNot) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start(
      {"ratelimit.raw_pkt_rate_limit=10", "ratelimit.raw_pkt_rate_window=2"}));
  {
    RawClient client = Attacker(s.port(), "127.0.0.67");
    const Bytes burst = ListRequests(10);
    ASSERT_TRUE(client.Send(burst));
    EXPECT_EQ(client.ReadExactly(10 * kListSize, kIo).size(), 10 * kListSize);
    EXPECT_EQ(client.WaitClosed(absl::Milliseconds(300)),
              ReadEnd::kTimeout);  // still open
  }
  {
    RawClient attacker = Attacker(s.port(), "127.0.0.68");
    const Bytes burst = ListRequests(11);
    const absl::Time start = absl::Now();
    ASSERT_TRUE(attacker.Send(burst));
    size_t answered = 0;
    ASSERT_TRUE(IsClosed(attacker.WaitClosed(kIo, &answered)));
    Measure("packet flood (limit + 1) time-to-close", absl::Now() - start);
    EXPECT_EQ(
        answered,
        10 * kListSize);  // the first ten were served, the eleventh was not
  }
  EXPECT_EQ(s.server().counters().packet_rate_exceeded.load(), 1u);
  EXPECT_TRUE(WitnessServed(s.port()));
}

TEST(LayersTest, SlowReaderDisconnectedAtWriteTimeoutOthersKeepFlowing) {
  std::vector<std::string> sets = {
      "server.write_timeout=1", "ratelimit.raw_pkt_rate_limit=65536",
      "ratelimit.raw_pkt_rate_window=1", "server.read_timeout=30"};
  InProcessConnectServer s;
  ASSERT_TRUE(StartWithLongLists(s, sets));
  RawClient reader = Attacker(s.port(), "127.0.0.69", /*rcvbuf=*/1024);
  // 20000 requests ask for 16 MB of answers, more than the kernel buffers on
  // both sides (tcp_wmem tops out at 4 MB); the client reads none of them.
  const Bytes burst = ListRequests(20000);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(reader.Send(burst));
  // Meanwhile another client is served normally.
  RawClient other = Attacker(s.port(), "127.0.0.70");
  ASSERT_TRUE(other.Send(kListRequest));
  EXPECT_EQ(other.ReadExactly(807, kIo).size(), 807u);
  ASSERT_TRUE(
      WaitFor([&] { return s.server().counters().write_timeouts.load() == 1; },
              absl::Seconds(10)));
  const absl::Duration took = absl::Now() - start;
  Measure("slow reader time-to-disconnect (write_timeout=1s)", took);
  // write_timeout counts from the first send that the full buffers block, which
  // comes after some megabytes were handed to the kernel.
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(6));
  ASSERT_TRUE(other.Send(kListRequest));
  EXPECT_EQ(other.ReadExactly(807, kIo).size(), 807u);
}

TEST(LayersTest, ResetInTheMiddleOfASendLeavesTheProcessServing) {
  std::vector<std::string> sets = {"ratelimit.raw_pkt_rate_limit=65536",
                                   "ratelimit.raw_pkt_rate_window=1"};
  InProcessConnectServer s;
  ASSERT_TRUE(StartWithLongLists(s, sets));
  for (int round = 0; round < 20; ++round) {
    RawClient attacker = Attacker(s.port(), absl::StrCat("127.0.2.", round + 1),
                                  /*rcvbuf=*/1024);
    const Bytes burst = ListRequests(500);
    ASSERT_TRUE(attacker.Send(burst));
    absl::SleepFor(
        absl::Milliseconds(20));  // the server is now blocked sending to us
    attacker.Reset();             // SO_LINGER 0 + close: RST mid-send
  }
  ASSERT_TRUE(WaitFor(
      [&] { return s.server().counters().connections_active.load() == 0; },
      absl::Seconds(5)));
  EXPECT_TRUE(WitnessServed(s.port()));
}

TEST(LayersTest, DisconnectsRightAfterAcceptAndMidHeaderLeakNothing) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start(
      {"server.multiclient_limit=1000", "ratelimit.conn_rate_limit=1000"}));
  for (int i = 0; i < 50; ++i) {
    RawClient c;
    ASSERT_TRUE(c.Connect("127.0.0.1", s.port(), "127.0.0.72"));
    if (i % 2 == 0) {
      c.Reset();  // right after accept
    } else {
      ASSERT_TRUE(c.Send(HexBytes("C2 00")));  // the middle of a header
      c.Close();
    }
    // One at a time: each connection is over (its slot given back, by the
    // waiter or by its worker) and its worker back in the pool before the next
    // arrives. The slot goes before the worker is idle, so both together mean
    // the connection is done wherever it ended.
    ASSERT_TRUE(WaitFor(
        [&] {
          return s.server().counters().connections_served.load() ==
                     static_cast<uint64_t>(i + 1) &&
                 s.server().guard().Counters().active == 0 &&
                 s.server().pool().busy() == 0;
        },
        absl::Seconds(5)));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return s.server().counters().connections_active.load() == 0 &&
               s.server().guard().Counters().active == 0 &&
               s.server().pool().busy() == 0;
      },
      absl::Seconds(5)))
      << "active=" << s.server().counters().connections_active.load()
      << " slots=" << s.server().guard().Counters().active
      << " busy workers=" << s.server().pool().busy();
  // Workers are reused, not one per connection: the 50 came one after another,
  // so one thread served them all.
  EXPECT_EQ(s.server().pool().threads(), 1u);
  EXPECT_TRUE(WitnessServed(s.port()));
}

}  // namespace
}  // namespace muwarden::testing
