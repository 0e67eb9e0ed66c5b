// Layer 1 attacked over real sockets from distinct loopback source addresses:
// connection rate, flood autoban (durable across a restart), multiclient,
// server full, bans reloaded on SIGHUP, and a 1000-address flood during which a
// witness is still greeted within 100 ms.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/in_process.h"

namespace muwarden::testing {
namespace {

using guard::RejectReason;

constexpr absl::Duration kIo = absl::Seconds(3);
const Bytes kHello = HexBytes("C1 04 00 01");

bool IsClosed(ReadEnd end) {
  return end == ReadEnd::kEof || end == ReadEnd::kReset;
}

// Connects from `source` and reports whether the hello came (true) or the
// socket was closed without one (false).
bool Greeted(int port, const std::string& source, RawClient* keep = nullptr) {
  RawClient c;
  if (!c.Connect("127.0.0.1", port, source)) return false;
  ReadEnd end;
  Bytes hello = c.ReadExactly(4, kIo, &end);
  if (hello == kHello) {
    if (keep != nullptr) *keep = std::move(c);
    return true;
  }
  EXPECT_TRUE(hello.empty()) << Hex(hello);
  EXPECT_TRUE(IsClosed(end)) << static_cast<int>(end);
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint64_t Rejected(InProcessConnectServer& s, RejectReason reason) {
  return s.server().guard().Counters().Rejected(reason);
}

TEST(Layer1Test, EleventhConnectionInTenSecondsGetsNoHelloAnotherIpDoes) {
  InProcessConnectServer s;
  // Defaults (10 per 10 s), but for the pending cap: each greeted connection
  // is closed before the next, and the server may not have seen the close yet.
  ASSERT_TRUE(s.Start({"server.pending_per_ip=16"}));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Greeted(s.port(), "127.0.3.1")) << i;
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.1"));
  EXPECT_TRUE(Greeted(s.port(), "127.0.3.2"));
  EXPECT_EQ(Rejected(s, RejectReason::kConnRate), 1u);
  EXPECT_EQ(s.server().counters().connections_served.load(),
            11u);  // no worker for the 11th
}

TEST(Layer1Test, HammeringIsAutobannedDurablyAndStaysBannedAfterRestart) {
  const std::string ban_file = MakeTempDir() + "/bans.txt";
  {
    InProcessConnectServer s;
    // Ten connections in a row from one block, each closed once greeted: the
    // server may not have seen the last one's close when the next arrives,
    // and this test is about the rate limit, not the pending cap (SPEC 4a).
    ASSERT_TRUE(s.Start(
        {"security.ban_file=" + ban_file, "server.pending_per_ip=16"}));
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(Greeted(s.port(), "127.0.3.3"));
    // Refusals 1..6 reach flood_ban_threshold (6).
    for (int i = 0; i < 6; ++i) EXPECT_FALSE(Greeted(s.port(), "127.0.3.3"));
    ASSERT_TRUE(WaitFor(
        [&] {
          return ReadFile(ban_file).find("127.0.3.3") != std::string::npos;
        },
        kIo))
        << ReadFile(ban_file);
    EXPECT_EQ(Rejected(s, RejectReason::kFloodAutoban), 1u);
    EXPECT_FALSE(Greeted(s.port(), "127.0.3.3"));
    EXPECT_TRUE(Greeted(s.port(), "127.0.3.4"));
  }
  // A new server process state reading the same file: the ban holds from the
  // first attempt.
  InProcessConnectServer restarted;
  ASSERT_TRUE(restarted.Start({"security.ban_file=" + ban_file}));
  EXPECT_FALSE(Greeted(restarted.port(), "127.0.3.3"));
  EXPECT_EQ(Rejected(restarted, RejectReason::kBanned), 1u);
  EXPECT_TRUE(Greeted(restarted.port(), "127.0.3.4"));
  const std::string line = ReadFile(ban_file);
  EXPECT_NE(line.find("until="), std::string::npos) << line;
  EXPECT_NE(line.find("reason="), std::string::npos) << line;
}

TEST(Layer1Test, MulticlientLimitPerIpThirdIpUnaffected) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"server.multiclient_limit=2"}));
  RawClient a1, a2, b1, b2;
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.5", &a1));
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.5", &a2));
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.5"));
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.6", &b1));
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.6", &b2));
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.6"));
  EXPECT_TRUE(Greeted(s.port(), "127.0.3.7"));  // a third IP
  EXPECT_EQ(Rejected(s, RejectReason::kMulticlient), 2u);
  // Closing one socket gives its slot back.
  a1.Close();
  ASSERT_TRUE(
      WaitFor([&] { return s.server().guard().Counters().active == 3; }, kIo));
  EXPECT_TRUE(Greeted(s.port(), "127.0.3.5"));
}

TEST(Layer1Test, ServerFullRefusesThenAdmitsWhenASlotFrees) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"server.max_clients=3"}));
  RawClient c1, c2, c3;
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.11", &c1));
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.12", &c2));
  ASSERT_TRUE(Greeted(s.port(), "127.0.3.13", &c3));
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.14"));
  EXPECT_EQ(Rejected(s, RejectReason::kServerFull), 1u);
  c2.Close();
  ASSERT_TRUE(
      WaitFor([&] { return s.server().guard().Counters().active == 2; }, kIo));
  EXPECT_TRUE(Greeted(s.port(), "127.0.3.14"));
}

TEST(Layer1Test, AllowlistSkipsRateAndMulticlientButNotBans) {
  const std::string ban_file = MakeTempDir() + "/bans.txt";
  std::ofstream(ban_file) << "127.0.3.22 reason=test\n";
  InProcessConnectServer s;
  ASSERT_TRUE(
      s.Start({"security.allowlist=127.0.3.16/31, 127.0.3.22",
               "security.ban_file=" + ban_file, "server.multiclient_limit=1"}));
  std::vector<RawClient> held(15);
  for (int i = 0; i < 15; ++i)
    ASSERT_TRUE(Greeted(s.port(), "127.0.3.17", &held[i])) << i;
  EXPECT_FALSE(
      Greeted(s.port(), "127.0.3.22"));  // allowlisted and banned: banned wins
  EXPECT_EQ(Rejected(s, RejectReason::kBanned), 1u);
}

TEST(Layer1Test, BanAddedToTheFileTakesEffectOnSighup) {
  const std::string dir = MakeTempDir();
  const std::string ban_file = dir + "/bans.txt";
  std::ofstream(ban_file) << "# operator's list\n";
  ServerProcess server;
  ASSERT_TRUE(server.Start(BinaryPath("connect-server"),
                           {"--bind", "127.0.0.1", "--ban-file", ban_file}));
  ASSERT_TRUE(Greeted(server.port(), "127.0.3.30"));
  std::ofstream(ban_file, std::ios::app) << "127.0.3.30 reason=seen cheating\n"
                                         << "not-an-address\n";
  server.Signal(SIGHUP);
  ASSERT_TRUE(server.WaitForLog("reloaded 1 entries", kIo)) << server.Log();
  EXPECT_EQ(server.CountInLog(":3: skipped"), 1)
      << server.Log();  // the bad line, by number
  EXPECT_FALSE(Greeted(server.port(), "127.0.3.30"));
  EXPECT_TRUE(Greeted(server.port(), "127.0.3.31"));
  EXPECT_TRUE(
      server.WaitForLog("WARN [security] Rejected banned IP: 127.0.3.30", kIo))
      << server.Log();
  EXPECT_EQ(server.Stop(), 0);
}

TEST(Layer1Test, ThousandAddressFloodWhileAWitnessIsGreetedWithin100ms) {
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"server.max_clients=4096"}));
  // 1000 addresses 127.4.x.y connect again and again without reading, paced at
  // a total of 6000 connections per second (what two client threads sustain on
  // a small VPS while the server shares the cores), for at most 3 s. An unpaced
  // flood faster than one accept thread can drain fills the kernel's accept
  // queue, and then the kernel drops every SYN, the witness's too: that is
  // SYN-flood territory, for syncookies and upstream filtering (SECURITY.md),
  // and the bench measures the ceiling.
  constexpr int kPerSecondPerThread = 3000;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> attempts{0};
  std::vector<std::thread> flooders;
  for (int t = 0; t < 2; ++t) {
    flooders.emplace_back([&, t] {
      const absl::Time start = absl::Now();
      int64_t sent = 0;
      for (int round = 0; round < 20 && !stop.load(); ++round) {
        for (int i = t; i < 1000 && !stop.load(); i += 2) {
          const absl::Time due =
              start + absl::Seconds(1) * sent / kPerSecondPerThread;
          if (absl::Now() < due) absl::SleepFor(due - absl::Now());
          ++sent;
          RawClient c;
          if (c.Connect("127.0.0.1", s.port(),
                        absl::StrCat("127.4.", i / 250, ".", i % 250 + 1))) {
            attempts.fetch_add(1);
          }
          c.Reset();
        }
      }
    });
  }
  absl::Duration worst = absl::ZeroDuration();
  std::vector<double> latencies;
  int greeted = 0;
  for (int i = 0; i < 60; ++i) {
    RawClient w;
    const absl::Time start = absl::Now();
    ASSERT_TRUE(
        w.Connect("127.0.0.1", s.port(), absl::StrCat("127.0.6.", i + 1)));
    Bytes hello = w.ReadExactly(4, kIo);
    const absl::Duration took = absl::Now() - start;
    worst = std::max(worst, took);
    latencies.push_back(absl::ToDoubleMilliseconds(took));
    EXPECT_EQ(hello, kHello) << i;
    EXPECT_LT(took, absl::Milliseconds(100)) << "witness " << i;
    if (hello == kHello) ++greeted;
    absl::SleepFor(absl::Milliseconds(50));
  }
  stop.store(true);
  for (auto& t : flooders) t.join();
  const auto counters = s.server().guard().Counters();
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "[measure] 1000-address flood: %llu attempts, %llu admitted, %llu "
      "rate-limited, "
      "%llu prefix-rate-limited, %llu autobans, %llu banned refusals; witness "
      "connect->hello p50 %.2f "
      "ms, "
      "worst %.2f ms over %d probes\n",
      static_cast<unsigned long long>(attempts.load()),
      static_cast<unsigned long long>(counters.admitted),
      static_cast<unsigned long long>(
          counters.Rejected(RejectReason::kConnRate)),
      static_cast<unsigned long long>(
          counters.Rejected(RejectReason::kPrefixRate)),
      static_cast<unsigned long long>(
          counters.Rejected(RejectReason::kFloodAutoban)),
      static_cast<unsigned long long>(counters.Rejected(RejectReason::kBanned)),
      latencies[latencies.size() / 2], absl::ToDoubleMilliseconds(worst),
      greeted);
  EXPECT_EQ(greeted, 60);
  EXPECT_GT(attempts.load(), 5000u);  // the flood really ran
  // The 1000 addresses are four /24s: the prefix rate limit and then the
  // prefix autobans (SPEC 4a) refuse most of the flood before the per-address
  // rate limit would.
  EXPECT_GT(counters.Rejected(RejectReason::kConnRate) +
                counters.Rejected(RejectReason::kPrefixRate) +
                counters.Rejected(RejectReason::kBanned),
            1000u);
  EXPECT_GT(counters.Rejected(RejectReason::kBanned), 0u);
}

}  // namespace
}  // namespace muwarden::testing

namespace muwarden::testing {
namespace {

TEST(Layer1FdTest, FdExhaustionRefusesAsServerFullWithoutSpinning) {
  ServerProcess server;
  server.set_max_open_files(48);
  ASSERT_TRUE(server.Start(
      BinaryPath("connect-server"),
      {"--bind", "127.0.0.1", "--set", "server.handshake_timeout=30"}));
  // Each held client takes one descriptor in the server; 60 clients from
  // distinct addresses run it out of descriptors well before max_clients.
  std::vector<RawClient> held;
  int greeted = 0, refused = 0;
  for (int i = 0; i < 60; ++i) {
    RawClient c;
    // A refusal can come so fast that it resets the socket before connect()
    // returns.
    if (!c.Connect("127.0.0.1", server.port(),
                   absl::StrCat("127.0.7.", i + 1))) {
      ++refused;
      continue;
    }
    ReadEnd end;
    if (c.ReadExactly(4, kIo, &end) == kHello) {
      ++greeted;
      held.push_back(std::move(c));
    } else {
      EXPECT_TRUE(IsClosed(end));
      ++refused;
    }
  }
  EXPECT_GT(greeted, 20);
  EXPECT_GT(refused, 5);
  EXPECT_TRUE(server.WaitForLog("Server full, rejected: 127.0.7.", kIo))
      << server.Log();
  EXPECT_NE(server.Log().find("out of file descriptors"), std::string::npos);
  // While clients keep knocking, the accept loop must not spin on the readable
  // listener.
  const absl::Duration cpu_before = server.CpuTime();
  for (int i = 0; i < 20; ++i) {
    RawClient c;
    c.Connect("127.0.0.1", server.port(), absl::StrCat("127.0.8.", i + 1));
    absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Duration cpu_used = server.CpuTime() - cpu_before;
  std::printf(
      "[measure] server CPU over 1 s of knocking while out of descriptors: "
      "%.0f ms\n",
      absl::ToDoubleMilliseconds(cpu_used));
  EXPECT_LT(cpu_used, absl::Milliseconds(300));
  // Descriptors come back: a new client is greeted again.
  held.clear();
  EXPECT_TRUE(
      WaitFor([&] { return Greeted(server.port(), "127.0.7.200"); }, kIo));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace muwarden::testing

namespace muwarden::testing {
namespace {

TEST(Layer1BanFileTest, ExpiredEntriesStopApplyingAndAreDroppedFromTheFile) {
  const std::string ban_file = MakeTempDir() + "/bans.txt";
  std::ofstream(ban_file)
      << "# kept comment\n"
      << "127.0.3.40 until=2001-01-01T00:00:00Z reason=long ago\n"
      << "127.0.3.41 until=2999-01-01T00:00:00Z reason=still on\n";
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"security.ban_file=" + ban_file}));
  EXPECT_TRUE(Greeted(s.port(), "127.0.3.40"));
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.41"));
  const std::string text = ReadFile(ban_file);
  EXPECT_EQ(text.find("127.0.3.40"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.3.41"), std::string::npos) << text;
  EXPECT_NE(text.find("# kept comment"), std::string::npos) << text;
}

}  // namespace
}  // namespace muwarden::testing

namespace muwarden::testing {
namespace {

TEST(Layer1BanFileTest, RepeatedEntriesAreCompactedSoTheFileStaysSmall) {
  // Re-bans of the same block append lines; the ban thread rewrites the file
  // once it holds far more lines than bans in force.
  const std::string ban_file = MakeTempDir() + "/bans.txt";
  {
    std::ofstream out(ban_file);
    for (int i = 0; i < 3000; ++i) out << "127.0.3.50 reason=again\n";
  }
  InProcessConnectServer s;
  ASSERT_TRUE(s.Start({"security.ban_file=" + ban_file}));
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.50"));
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string text = ReadFile(ban_file);
        return std::count(text.begin(), text.end(), '\n') == 1;
      },
      absl::Seconds(5)))
      << ReadFile(ban_file).size() << " bytes left";
  EXPECT_FALSE(Greeted(s.port(), "127.0.3.50"));  // still banned
}

}  // namespace
}  // namespace muwarden::testing
