// The real game-server binary holding many silent pending sockets from many
// loopback addresses: they wait for their first byte in the PendingWaiter, so
// the process has far fewer threads than sockets, and a witness still logs in
// and gets its character list while they wait.
#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/game/game_client.h"
#include "tests/integration/harness.h"

namespace muwarden::testing {
namespace {

constexpr absl::Duration kIo = absl::Seconds(5);
constexpr int kSilent = 1200;

// Threads of a live process, from /proc/<pid>/status; -1 when unreadable.
int ThreadsOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// Whether the binary knows `key` (a branch with the total pending cap has
// server.max_pending; this test must not be stopped by it).
bool KnowsKey(const std::string& binary, const std::string& key) {
  std::string out;
  RunCommand(binary + " --print-config", &out);
  return out.find(key) != std::string::npos;
}

TEST(GamePendingTest, SilentSocketsUseFarFewerThreadsAndAWitnessLogsIn) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ASSERT_GE(rl.rlim_cur, static_cast<rlim_t>(kSilent + 200))
      << "the descriptor limit is too low for this test";

  const std::string dir = MakeTempDir();
  const std::string bin = BinaryPath("game-server");
  const std::string db = dir + "/accounts.db";
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat("printf 'pass\\n' | ", bin,
                                    " --set game.database=", db,
                                    " account add witness"),
                       &out),
            0)
      << out;
  std::vector<std::string> args = {
      "--bind", "127.0.0.1",
      "--set",  "game.database=" + db,
      "--set",  absl::StrCat("security.ban_file=", dir, "/bans.txt"),
      "--set",  absl::StrCat("server.max_clients=", kSilent + 100)};
  if (KnowsKey(bin, "max_pending")) {
    args.push_back("--set");
    args.push_back(absl::StrCat("server.max_pending=", kSilent + 100));
  }
  ServerProcess server;
  server.set_max_open_files(static_cast<int>(
      std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(kSilent + 500))));
  ASSERT_TRUE(server.Start(bin, args));
  const int threads_at_start = ThreadsOf(server.pid());

  // 1200 addresses in 24 /24s, 50 each, each holding one socket that has its
  // join packet and says nothing.
  std::vector<GameClient> silent(kSilent);
  for (int i = 0; i < kSilent; ++i) {
    ASSERT_TRUE(
        silent[i].Connect("127.0.0.1", server.port(),
                          absl::StrCat("127.23.", i / 50, ".", i % 50 + 1)))
        << i;
    ASSERT_EQ(silent[i].join().size(), 12u) << i;
  }
  const int threads_held = ThreadsOf(server.pid());
  std::printf(
      "[measure] game-server threads: %d at start, %d with %d silent "
      "sockets\n",
      threads_at_start, threads_held, kSilent);
  EXPECT_GT(threads_held, 0);
  EXPECT_LT(threads_held, threads_at_start + 10);

  GameClient witness;
  ASSERT_TRUE(witness.Connect("127.0.0.1", server.port(), "127.0.0.77"));
  EXPECT_EQ(witness.Login("witness", "pass"), 1);
  ASSERT_TRUE(witness.Send(HexBytes("C1 05 F3 00 00")));
  std::optional<Bytes> list = witness.ReadPacket(kIo);
  ASSERT_TRUE(list.has_value());
  ASSERT_GE(list->size(), 4u);
  EXPECT_EQ((*list)[2], 0xF3);
  EXPECT_EQ((*list)[3], 0x00);
  // The silent ones are still held, and the first of them is served as soon
  // as it speaks.
  EXPECT_EQ(silent[0].Login("witness", "wrong"), 0);
  EXPECT_EQ(silent[kSilent - 1].raw().WaitClosed(absl::Milliseconds(100)),
            ReadEnd::kTimeout);
  EXPECT_EQ(server.Stop(), 0) << server.Log();
}

}  // namespace
}  // namespace muwarden::testing
