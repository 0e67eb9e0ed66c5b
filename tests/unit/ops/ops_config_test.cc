#include "common/ops/ops_config.h"

#include "gtest/gtest.h"

namespace muwarden::ops {
namespace {

TEST(OpsConfigTest, ListenAddressIsHostColonPortWithAnIpLiteral) {
  std::string host;
  int port = -1;
  EXPECT_TRUE(SplitListenAddress("127.0.0.1:9405", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9405);
  EXPECT_TRUE(SplitListenAddress("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(CheckListenAddress("").ok());  // off
  EXPECT_FALSE(CheckListenAddress("localhost:9405").ok());
  EXPECT_FALSE(CheckListenAddress("127.0.0.1").ok());
  EXPECT_FALSE(CheckListenAddress("127.0.0.1:65536").ok());
  EXPECT_FALSE(CheckListenAddress("::1:9405").ok());
}

}  // namespace
}  // namespace muwarden::ops
