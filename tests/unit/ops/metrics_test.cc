#include "common/ops/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "gtest/gtest.h"

namespace muwarden::ops {
namespace {

// One HTTP exchange over loopback; the whole answer (the server closes).
std::string Http(int port, const std::string& request) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent,
                       MSG_NOSIGNAL);
    if (n <= 0) break;  // refused while sending
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd.get(), buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
  return reply;
}

std::vector<Family> Fake() {
  Family f{"muwarden_test_total", "a test counter", Family::Type::kCounter, {}};
  f.samples.push_back({{{"reason", "conn_rate"}}, 3});
  Family g{"muwarden_test_gauge", "a test gauge", Family::Type::kGauge, {}};
  g.samples.push_back({{}, 7});
  return {f, g};
}

class MetricsExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = MetricsExporter::Start({"127.0.0.1:0"}, "cs1", {Fake});
    ASSERT_TRUE(e.ok()) << e.status();
    exporter_ = *std::move(e);
    ASSERT_GT(exporter_->port(), 0);
  }
  std::unique_ptr<MetricsExporter> exporter_;
};

TEST_F(MetricsExporterTest, ServesTheSourcesWithTheServerLabel) {
  const std::string reply =
      Http(exporter_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find("# TYPE muwarden_test_total counter"), std::string::npos);
  EXPECT_NE(reply.find("muwarden_test_total{server=\"cs1\",reason=\"conn_rate\"} 3"),
            std::string::npos)
      << reply;
  EXPECT_NE(reply.find("muwarden_test_gauge{server=\"cs1\"} 7"), std::string::npos);
}

TEST_F(MetricsExporterTest, RefusesOtherMethods) {
  const std::string reply = Http(
      exporter_->port(),
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_NE(reply.find("405"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("muwarden_test_total"), std::string::npos);
}

TEST_F(MetricsExporterTest, RefusesAnOversizedRequestHeader) {
  const std::string reply =
      Http(exporter_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                  std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(reply.find("muwarden_test_total"), std::string::npos) << reply;
  // And the next scrape is served.
  EXPECT_NE(Http(exporter_->port(), "GET /metrics HTTP/1.0\r\n\r\n")
                .find("muwarden_test_gauge"),
            std::string::npos);
}

TEST(MetricsExporterStartTest, ABadOrTakenAddressIsAnError) {
  EXPECT_EQ(MetricsExporter::Start({"nowhere"}, "s", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = MetricsExporter::Start({"127.0.0.1:0"}, "s", {});
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(MetricsExporter::Start({taken}, "s", {}).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace muwarden::ops
