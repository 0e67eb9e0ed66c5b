// The real connect-server binary on loopback: exact bytes of every exchange
// over IPv4 and IPv6, and a crafted header closing one client while another is
// still served.
#include <fstream>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(3);

const Bytes kHello = HexBytes("C1 04 00 01");

std::string WriteConfig(const std::string& dir) {
  const std::string path = dir + "/connect-server.ini";
  std::ofstream out(path);
  out << "[server]\nbind = 127.0.0.1\n"
         "[gameserver.0]\nid = 0\nname = Zero\nhost = 127.0.0.1\nport = "
         "55901\nload = 0\n"
         "[gameserver.1]\nid = 1\nname = One\nhost = 192.0.2.10\nport = "
         "55902\nload = 50\n";
  return path;
}

class ConnectServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "::1") MUWARDEN_SKIP_WITHOUT_IPV6();
    dir_ = MakeTempDir();
    ASSERT_TRUE(
        server_.Start(BinaryPath("connect-server"),
                      {"--config", WriteConfig(dir_), "--bind", GetParam()}));
  }
  RawClient Connected() {
    RawClient c;
    EXPECT_TRUE(c.Connect(GetParam(), server_.port()));
    EXPECT_EQ(c.ReadExactly(4, kIo), kHello);
    return c;
  }
  std::string dir_;
  ServerProcess server_;
};

TEST_P(ConnectServerTest, HelloThenServerList) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 04 F4 06")));
  EXPECT_EQ(Hex(c.ReadExactly(15, kIo)),
            "C2 00 0F F4 06 00 02 00 00 00 00 01 00 32 00");
}

TEST_P(ConnectServerTest, OldServerList) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 04 F4 02")));
  EXPECT_EQ(Hex(c.ReadExactly(10, kIo)), "C2 00 0A F4 02 02 00 00 01 32");
}

TEST_P(ConnectServerTest, ServerInfoSixByteRequestThenHello) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 06 F4 03 00 00")));
  EXPECT_EQ(
      Hex(c.ReadExactly(22, kIo)),
      "C1 16 F4 03 31 32 37 2E 30 2E 30 2E 31 00 00 00 00 00 00 00 5D DA");
  EXPECT_EQ(c.ReadExactly(4, kIo), kHello);
}

TEST_P(ConnectServerTest, ServerInfoFiveByteRequest) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 05 F4 03 01")));
  Bytes info = c.ReadExactly(22, kIo);
  ASSERT_EQ(info.size(), 22u);
  EXPECT_EQ(std::string(info.begin() + 4, info.begin() + 14), "192.0.2.10");
  EXPECT_EQ(info[20], 0x5E);  // 55902 little-endian
  EXPECT_EQ(info[21], 0xDA);
  EXPECT_EQ(c.ReadExactly(4, kIo), kHello);
}

TEST_P(ConnectServerTest, UnknownServerIdGetsTheList) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 06 F4 03 09 00")));
  EXPECT_EQ(Hex(c.ReadExactly(15, kIo)),
            "C2 00 0F F4 06 00 02 00 00 00 00 01 00 32 00");
}

TEST_P(ConnectServerTest, PatchCheckOnceThenCapCloses) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 06 05 01 00 00")));
  EXPECT_EQ(Hex(c.ReadExactly(4, kIo)), "C1 04 02 00");
  ASSERT_TRUE(c.Send(HexBytes("C1 06 05 01 00 00")));
  ReadEnd end = c.WaitClosed(kIo);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
}

TEST_P(ConnectServerTest, TwentyListRequestsServedTwentyFirstCloses) {
  RawClient c = Connected();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.Send(HexBytes("C1 04 F4 06")));
    ASSERT_EQ(c.ReadExactly(15, kIo).size(), 15u) << i;
  }
  ASSERT_TRUE(c.Send(HexBytes("C1 04 F4 06")));
  size_t extra = 0;
  ReadEnd end = c.WaitClosed(kIo, &extra);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
  EXPECT_EQ(extra, 0u);
}

TEST_P(ConnectServerTest, FiveInfoRequestsServedSixthCloses) {
  RawClient c = Connected();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Send(HexBytes("C1 06 F4 03 00 00")));
    ASSERT_EQ(c.ReadExactly(26, kIo).size(), 26u) << i;
  }
  ASSERT_TRUE(c.Send(HexBytes("C1 06 F4 03 00 00")));
  size_t extra = 0;
  ReadEnd end = c.WaitClosed(kIo, &extra);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
  EXPECT_EQ(extra, 0u);
}

TEST_P(ConnectServerTest, UnknownCodeCloses) {
  RawClient c = Connected();
  ASSERT_TRUE(c.Send(HexBytes("C1 04 F4 06")));
  ASSERT_EQ(c.ReadExactly(15, kIo).size(), 15u);
  ASSERT_TRUE(c.Send(HexBytes("C1 04 77 00")));
  ReadEnd end = c.WaitClosed(kIo);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
}

TEST_P(ConnectServerTest,
       OversizeHeaderClosesAtOnceWhileAnotherClientIsServed) {
  RawClient witness = Connected();
  RawClient attacker = Connected();
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(attacker.Send(HexBytes("C2 03 E8 F4 06")));
  ReadEnd end = attacker.WaitClosed(kIo);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
  EXPECT_LT(absl::Now() - sent, absl::Milliseconds(500));
  ASSERT_TRUE(witness.Send(HexBytes("C1 04 F4 06")));
  EXPECT_EQ(witness.ReadExactly(15, kIo).size(), 15u);
  const std::string ip = GetParam() == "::1" ? "::1" : "127.0.0.1";
  EXPECT_TRUE(server_.WaitForLog("WARN [security] Oversize packet: " + ip, kIo))
      << server_.Log();
}

TEST_P(ConnectServerTest, StopsCleanlyWithClientsConnected) {
  RawClient a = Connected();
  RawClient b = Connected();
  const absl::Time start = absl::Now();
  EXPECT_EQ(server_.Stop(), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ReadEnd end = a.WaitClosed(kIo);
  EXPECT_TRUE(end == ReadEnd::kEof || end == ReadEnd::kReset);
}

INSTANTIATE_TEST_SUITE_P(Loopback, ConnectServerTest,
                         ::testing::Values("127.0.0.1", "::1"),
                         [](const auto& param_info) {
                           return param_info.param == "::1"
                                      ? std::string("IPv6")
                                      : "IPv4";
                         });

TEST(GameServerJoinTest, SendsTwelveByteJoinOnIPv4AndIPv6) {
  for (const std::string host : {"127.0.0.1", "::1"}) {
    if (host == "::1") MUWARDEN_SKIP_WITHOUT_IPV6();
    ServerProcess server;
    ASSERT_TRUE(server.Start(BinaryPath("game-server"),
                             {"--bind", host, "--set",
                              "game.database=" + MakeTempDir() + "/accounts.db",
                              "--set", "game.join_version=10404"}));
    RawClient c;
    ASSERT_TRUE(c.Connect(host, server.port()));
    Bytes join = c.ReadExactly(12, kIo);
    ASSERT_EQ(join.size(), 12u);
    EXPECT_EQ(Hex(Bytes(join.begin(), join.begin() + 5)), "C1 0C F1 00 01");
    EXPECT_EQ(std::string(join.begin() + 7, join.end()), "10404");
    EXPECT_EQ(server.Stop(), 0);
  }
}

}  // namespace
}  // namespace muwarden::testing
