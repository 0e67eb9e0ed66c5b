#include "common/runtime/ban_writer.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/guard/ban_list.h"
#include "common/guard/ip_address.h"
#include "gtest/gtest.h"

namespace muwarden::runtime {
namespace {

PendingBan Ban(const char* cidr, const char* ip, absl::Duration duration) {
  return {*guard::ParseCidr(cidr), duration, *guard::ParseIp(ip),
          "flood autoban"};
}

class BanWriterTest : public ::testing::Test {
 protected:
  BanWriterTest() {
    std::string tmpl = ::testing::TempDir() + "/banwriter_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/bans.txt";
  }
  ~BanWriterTest() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string File() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::string path_;
  FakeClock clock_;
};

TEST_F(BanWriterTest, WritesQueuedBansToTheFileBeforeStopping) {
  guard::BanList bans({path_}, clock_);
  ASSERT_TRUE(bans.Load().ok());
  BanWriter writer({path_, 16}, bans, clock_);
  writer.Start();
  EXPECT_TRUE(
      writer.Queue(Ban("203.0.113.7/32", "203.0.113.7", absl::Hours(1))));
  EXPECT_TRUE(writer.Queue(
      Ban("2001:db8:1:2::/64", "2001:db8:1:2::5", absl::InfiniteDuration())));
  writer.Stop();
  EXPECT_TRUE(bans.Check(*guard::ParseIp("203.0.113.7")).banned);
  EXPECT_TRUE(bans.Check(*guard::ParseIp("2001:db8:1:2::9")).banned);
  // FakeClock's wall time starts at 2026-01-01T00:00:00Z.
  EXPECT_EQ(File(),
            "203.0.113.7 until=2026-01-01T01:00:00Z reason=flood autoban\n"
            "2001:db8:1:2::/64 reason=flood autoban\n");
}

TEST_F(BanWriterTest, ABlockIsQueuedOnceAndTheQueueIsBounded) {
  guard::BanList bans({}, clock_);
  BanWriter writer({"", 2}, bans, clock_);
  EXPECT_TRUE(
      writer.Queue(Ban("203.0.113.7/32", "203.0.113.7", absl::Hours(1))));
  EXPECT_FALSE(
      writer.Queue(Ban("203.0.113.7/32", "203.0.113.7", absl::Hours(1))));
  EXPECT_TRUE(
      writer.Queue(Ban("203.0.113.8/32", "203.0.113.8", absl::Hours(1))));
  EXPECT_FALSE(writer.Queue(Ban("203.0.113.9/32", "203.0.113.9",
                                absl::Hours(1))));  // full
  writer.Start();
  writer.Stop();
  EXPECT_TRUE(bans.Check(*guard::ParseIp("203.0.113.8")).banned);
  EXPECT_FALSE(bans.Check(*guard::ParseIp("203.0.113.9")).banned);
  // Stopped: nothing would write it, so it is not accepted.
  EXPECT_FALSE(
      writer.Queue(Ban("203.0.113.10/32", "203.0.113.10", absl::Hours(1))));
}

TEST_F(BanWriterTest, AWrittenBlockMayBeQueuedAgain) {
  guard::BanList bans({}, clock_);
  BanWriter writer({"", 2}, bans, clock_);
  writer.Start();
  ASSERT_TRUE(
      writer.Queue(Ban("203.0.113.7/32", "203.0.113.7", absl::Hours(1))));
  // The writer drains the queue on its own thread: once it has written the
  // ban, the block is accepted again (bounded wait).
  bool queued_again = false;
  for (int i = 0; i < 2000 && !queued_again; ++i) {
    absl::SleepFor(absl::Milliseconds(1));
    queued_again =
        writer.Queue(Ban("203.0.113.7/32", "203.0.113.7", absl::Hours(1)));
  }
  EXPECT_TRUE(queued_again);
  EXPECT_TRUE(bans.Check(*guard::ParseIp("203.0.113.7")).banned);
  writer.Stop();
}

TEST_F(BanWriterTest, StopWithoutStartIsHarmless) {
  guard::BanList bans({}, clock_);
  BanWriter writer({"", 2}, bans, clock_);
  writer.Stop();
  writer.Stop();
}

}  // namespace
}  // namespace muwarden::runtime
