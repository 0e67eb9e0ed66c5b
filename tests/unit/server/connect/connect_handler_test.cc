#include "server/connect/connect_handler.h"

#include "gtest/gtest.h"

namespace muwarden::connect {
namespace {

std::vector<GameServerEntry> TwoServers() {
  GameServerEntry one;
  one.id = 1;
  one.load = 50;
  one.host = "192.0.2.10";
  one.port = 55902;
  GameServerEntry zero;
  zero.id = 0;
  zero.load = 0;
  zero.host = "127.0.0.1";
  zero.port = 55901;
  return {one, zero};  // unsorted on purpose
}

TEST(ConnectHandlerTest, BuildersMatchTheProtocolExamples) {
  EXPECT_EQ(BuildHello(), Packet({0xC1, 0x04, 0x00, 0x01}));
  EXPECT_EQ(BuildServerList(TwoServers()),
            Packet({0xC2, 0x00, 0x0F, 0xF4, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00,
                    0x00, 0x01, 0x00, 0x32, 0x00}));
  EXPECT_EQ(
      BuildServerListOld(TwoServers()),
      Packet({0xC2, 0x00, 0x0A, 0xF4, 0x02, 0x02, 0x00, 0x00, 0x01, 0x32}));
  EXPECT_EQ(BuildServerInfo(TwoServers()[1]),
            Packet({0xC1, 0x16, 0xF4, 0x03, 0x31, 0x32, 0x37, 0x2E,
                    0x30, 0x2E, 0x30, 0x2E, 0x31, 0x00, 0x00, 0x00,
                    0x00, 0x00, 0x00, 0x00, 0x5D, 0xDA}));
  EXPECT_EQ(BuildPatchOk(), Packet({0xC1, 0x04, 0x02, 0x00}));
  EXPECT_EQ(BuildServerList({}),
            Packet({0xC2, 0x00, 0x07, 0xF4, 0x06, 0x00, 0x00}));
}

TEST(ConnectHandlerTest, WideIdsAreLittleEndianAndLeftOutOfTheOldList) {
  GameServerEntry wide;
  wide.id = 0x0102;
  wide.load = 7;
  Packet list = BuildServerList({wide});
  EXPECT_EQ(list[7], 0x02);
  EXPECT_EQ(list[8], 0x01);
  EXPECT_EQ(BuildServerListOld({wide}),
            Packet({0xC2, 0x00, 0x06, 0xF4, 0x02, 0x00}));
}

TEST(ConnectHandlerTest, InfoAnswersThenHelloAndUnknownIdGetsTheList) {
  const auto servers = TwoServers();
  ConnectHandler h(servers);
  auto six = h.Handle(Packet({0xC1, 0x06, 0xF4, 0x03, 0x01, 0x00}));
  ASSERT_TRUE(six.ok());
  ASSERT_EQ(six->size(), 2u);
  EXPECT_EQ((*six)[0], BuildServerInfo(servers[0]));
  EXPECT_EQ((*six)[1], BuildHello());
  auto five = h.Handle(Packet({0xC1, 0x05, 0xF4, 0x03, 0x00}));
  ASSERT_TRUE(five.ok());
  EXPECT_EQ((*five)[0], BuildServerInfo(servers[1]));
  auto unknown = h.Handle(Packet({0xC1, 0x06, 0xF4, 0x03, 0x09, 0x00}));
  ASSERT_TRUE(unknown.ok());
  ASSERT_EQ(unknown->size(), 1u);
  EXPECT_EQ((*unknown)[0], BuildServerList(servers));
}

TEST(ConnectHandlerTest, CapsPerConnection) {
  const auto servers = TwoServers();
  ConnectHandler h(servers);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.Handle(Packet({0xC1, 0x04, 0xF4,
                                 static_cast<uint8_t>(i % 2 ? 0x06 : 0x02)}))
                    .ok())
        << i;
  }
  EXPECT_EQ(h.Handle(Packet({0xC1, 0x04, 0xF4, 0x06})).status().code(),
            absl::StatusCode::kResourceExhausted);
  ConnectHandler info(servers);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(info.Handle(Packet({0xC1, 0x05, 0xF4, 0x03, 0x00})).ok());
  }
  EXPECT_EQ(info.Handle(Packet({0xC1, 0x05, 0xF4, 0x03, 0x00})).status().code(),
            absl::StatusCode::kResourceExhausted);
  ConnectHandler patch(servers);
  auto ok = patch.Handle(Packet({0xC1, 0x06, 0x05, 0x01, 0x00, 0x00}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], BuildPatchOk());
  EXPECT_EQ(patch.Handle(Packet({0xC1, 0x06, 0x02, 0x01, 0x00, 0x00}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ConnectHandlerTest, MalformedRequestsAreInvalidArgument) {
  const auto servers = TwoServers();
  ConnectHandler h(servers);
  for (const Packet& p :
       {Packet({0xC1, 0x04, 0x77, 0x00}),           // unknown code
        Packet({0xC1, 0x05, 0xF4, 0x06, 0x00}),     // list with a body
        Packet({0xC1, 0x07, 0xF4, 0x03, 0, 0, 0}),  // info too long
        Packet({0xC1, 0x04, 0xF4, 0x03}),           // info too short
        Packet({0xC1, 0x05, 0x05, 0x01, 0x00}),     // patch too short
        Packet({0xC3, 0x04, 0xF4, 0x06}),           // encrypted type
        Packet({0xC1, 0x04, 0xF4, 0x09})}) {        // unknown sub-code
    EXPECT_EQ(h.Handle(p).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ConnectHandlerTest, HandshakeOpcodes) {
  EXPECT_TRUE(IsConnectRequest(Packet({0xC1, 0x04, 0xF4, 0x06})));
  EXPECT_TRUE(IsConnectRequest(Packet({0xC1, 0x04, 0xF4, 0x02})));
  EXPECT_TRUE(IsConnectRequest(Packet({0xC1, 0x05, 0xF4, 0x03, 0x00})));
  EXPECT_TRUE(IsConnectRequest(Packet({0xC1, 0x06, 0x05, 0x01, 0x00, 0x00})));
  EXPECT_FALSE(IsConnectRequest(Packet({0xC1, 0x04, 0x00, 0x01})));
  EXPECT_FALSE(IsConnectRequest(Packet({0xC3, 0x04, 0xF4, 0x06})));
  EXPECT_FALSE(IsConnectRequest(Packet({0xC1, 0x04, 0xF4, 0x10})));
}

}  // namespace
}  // namespace muwarden::connect
