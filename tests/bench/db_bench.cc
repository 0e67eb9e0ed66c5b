// db-bench: the database's share of a login through PostgreSQL and through
// SQLite, and the lease renewal load of 1,000 online players (SPEC section
// 11). Starts its own PostgreSQL (tests/support/postgres_instance.h; as root
// it runs the server as `postgres`). Password hashing is reported apart: the
// "db" figures are the store calls a login makes besides Argon2id (read the
// account, record the login, the known-block lookup and record), the "login"
// figures are whole Verify calls at libsodium's minimum Argon2id cost.
//   db-bench [--logins N] [--threads T] [--players P] [--rounds R]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/clock.h"
#include "common/db/pg.h"
#include "server/game/account/account_store.h"
#include "server/game/cluster_presence.h"
#include "tests/support/postgres_instance.h"

namespace muwarden {
namespace {

struct Options {
  int logins = 2000;
  int threads = 4;
  int players = 1000;
  int rounds = 20;
};

game::AccountStoreConfig Config(const std::string& path, const std::string& url) {
  game::AccountStoreConfig c;
  c.path = path;
  c.url = url;
  c.hasher.opslimit = game::kMinOpsLimit;
  c.hasher.memlimit = game::kMinMemLimit;
  return c;
}

// Runs `per_thread` calls of `fn(i)` on each of `threads` threads; calls/s.
template <typename Fn>
double Rate(int threads, int per_thread, Fn fn) {
  const absl::Time start = absl::Now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) fn(t * per_thread + i);
    });
  }
  for (std::thread& th : pool) th.join();
  return threads * per_thread / absl::ToDoubleSeconds(absl::Now() - start);
}

void BenchStore(const char* engine, game::AccountStore& store,
                const Options& o) {
  constexpr int kAccounts = 50;
  for (int i = 0; i < kAccounts; ++i) {
    store.AddAccount(absl::StrCat("bench", i), "pw").IgnoreError();
  }
  const absl::Time horizon = absl::Now() - absl::Hours(24 * 30);
  std::atomic<int> errors{0};
  auto db_part = [&](int i) {
    const std::string name = absl::StrCat("bench", i % kAccounts);
    const std::string block = absl::StrCat("10.0.", i % 200, ".1");
    if (!store.Get(name).ok()) ++errors;
    store.IsKnownBlock(name, block, horizon);
    store.RecordKnownBlock(name, block, horizon);
  };
  for (int threads : {1, o.threads}) {
    const double rate = Rate(threads, o.logins / threads, db_part);
    std::printf("%-8s db part of a login   %2d thread(s): %8.0f logins/s\n",
                engine, threads, rate);
  }
  auto verify = [&](int i) {
    if (store.Verify(absl::StrCat("bench", i % kAccounts), "pw").result !=
        game::LoginResult::kOk) {
      ++errors;
    }
  };
  const double rate = Rate(o.threads, o.logins / o.threads / 4, verify);
  std::printf("%-8s whole Verify (min Argon2id) %2d threads: %6.0f logins/s\n",
              engine, o.threads, rate);
  if (errors.load() != 0) std::printf("%s: %d errors\n", engine, errors.load());
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int* field = flag == "--logins"    ? &o.logins
                 : flag == "--threads" ? &o.threads
                 : flag == "--players" ? &o.players
                 : flag == "--rounds"  ? &o.rounds
                                       : nullptr;
    if (field == nullptr || !absl::SimpleAtoi(argv[i + 1], field) ||
        *field <= 0) {
      std::fprintf(stderr, "usage: db-bench [--logins N] [--threads T] "
                           "[--players P] [--rounds R]\n");
      return 2;
    }
  }
  if (!testing::PostgresInstance::Available()) {
    std::fprintf(stderr, "db-bench: PostgreSQL 15 is not installed\n");
    return 1;
  }
  testing::PostgresInstance pg;
  if (std::string e = pg.Init(); !e.empty()) {
    std::fprintf(stderr, "db-bench: %s\n", e.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/mw_db_bench_XXXXXX";
  const std::string dir = mkdtemp(tmpl);

  auto sqlite = game::AccountStore::Open(Config(dir + "/accounts.db", ""),
                                         Clock::Real());
  auto postgres = game::AccountStore::Open(Config("", pg.url()), Clock::Real());
  if (!sqlite.ok() || !postgres.ok()) {
    std::fprintf(stderr, "db-bench: open failed\n");
    return 1;
  }
  BenchStore("sqlite", **sqlite, o);
  BenchStore("postgres", **postgres, o);

  // Leases: claim P accounts, then renewal rounds of all of them.
  std::vector<std::string> keys;
  for (int i = 0; i < o.players; ++i) keys.push_back(absl::StrCat("p", i));
  game::PresenceConfig pc;
  pc.cluster.url = pg.url();
  pc.host = "127.0.0.1";
  pc.port = 55901;
  pc.max_players = o.players;
  auto presence = game::ClusterPresence::Start(pc, [&] { return keys; });
  if (!presence.ok()) {
    std::fprintf(stderr, "db-bench: %s\n",
                 std::string(presence.status().message()).c_str());
    return 1;
  }
  std::atomic<int> claim_errors{0};
  const double claims = Rate(o.threads, o.players / o.threads, [&](int i) {
    if (!(*presence)->Claim(keys[static_cast<size_t>(i)]).ok()) ++claim_errors;
  });
  std::printf("postgres lease claims %2d threads: %8.0f claims/s (%d errors)\n",
              o.threads, claims, claim_errors.load());
  const uint64_t renewed_before = (*presence)->leases_renewed();
  const absl::Time start = absl::Now();
  for (int r = 0; r < o.rounds; ++r) (*presence)->RenewOnce().IgnoreError();
  const absl::Duration per_round = (absl::Now() - start) / o.rounds;
  std::printf(
      "postgres lease renewal of %d players: %.2f ms per round (one UPDATE + "
      "heartbeat row), %llu leases renewed in %d rounds\n",
      o.players, absl::ToDoubleMilliseconds(per_round),
      static_cast<unsigned long long>((*presence)->leases_renewed() -
                                      renewed_before),
      o.rounds);
  presence->reset();
  std::system(("rm -rf " + dir).c_str());
  return 0;
}

}  // namespace
}  // namespace muwarden

int main(int argc, char** argv) { return muwarden::Main(argc, argv); }
