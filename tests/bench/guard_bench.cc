// Layer 1 micro-benchmarks: the per-connection cost of the accept thread's
// checks (sliding window, ban lookup, per-IP table, admission), and the ban
// list at a million entries (load, lookup, autoban into a full list, rewrite).
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "common/base/clock.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/guard/ip_address.h"
#include "common/guard/ip_table.h"
#include "common/guard/sliding_window.h"
#include "tests/support/ban_file_gen.h"

namespace muwarden::guard {
namespace {

void BM_SlidingWindowTryAcquire(benchmark::State& state) {
  SlidingWindow window(SlidingWindowConfig{20, absl::Seconds(2)});
  absl::Time now = absl::FromUnixSeconds(1000);
  int64_t allowed = 0;
  for (auto _ : state) {
    // 50 ms apart against 20 per 2 s: about half are refused.
    now += absl::Milliseconds(50);
    allowed += window.TryAcquire(now) ? 1 : 0;
  }
  benchmark::DoNotOptimize(allowed);
  state.counters["allowed_frac"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SlidingWindowTryAcquire);

void BM_SlidingWindowRecordAndCheck(benchmark::State& state) {
  SlidingWindow window(SlidingWindowConfig{10, absl::Seconds(10)});
  absl::Time now = absl::FromUnixSeconds(1000);
  int64_t allowed = 0;
  for (auto _ : state) {
    now += absl::Milliseconds(900);
    allowed += window.RecordAndCheck(now) ? 1 : 0;
  }
  benchmark::DoNotOptimize(allowed);
}
BENCHMARK(BM_SlidingWindowRecordAndCheck);

// 10,000 entries: 6,000 IPv4 addresses, 2,000 IPv4 blocks of every length
// /8../32, 1,500 IPv6 /48 and /64, 500 IPv6 addresses. Mixed lengths are the
// worst case for the per-length probes.
struct BanFixture {
  BanFixture() : bans(BanListConfig{}, clock) {
    std::mt19937 rng(7);
    auto add = [&](const std::string& text) {
      Cidr cidr = *ParseCidr(text);
      (void)bans.Add(cidr, std::nullopt, "bench");
      hits.push_back(cidr.address);
    };
    for (int i = 0; i < 6000; ++i) {
      add(absl::StrFormat("100.%d.%d.%d", 64 + rng() % 64, rng() % 256,
                          rng() % 256));
    }
    for (int i = 0; i < 2000; ++i) {
      add(absl::StrFormat("%d.%d.%d.%d/%d", 1 + rng() % 90, rng() % 256,
                          rng() % 256, rng() % 256, 8 + i % 25));
    }
    for (int i = 0; i < 1500; ++i) {
      add(absl::StrFormat("2001:db8:%x:%x::/%d", rng() % 65536, rng() % 65536,
                          i % 2 ? 64 : 48));
    }
    for (int i = 0; i < 500; ++i) {
      add(absl::StrFormat("2001:db8:%x:%x::%x", rng() % 65536, rng() % 65536,
                          1 + rng() % 65535));
    }
    // Misses: 198.18.0.0/15 and 2001:db9::/32 hold no entry.
    for (int i = 0; i < 4096; ++i) {
      misses.push_back(
          i % 2 ? IpAddress::V4(198, static_cast<uint8_t>(18 + (rng() & 1)),
                                static_cast<uint8_t>(rng()),
                                static_cast<uint8_t>(rng()))
                : *ParseIp(absl::StrFormat("2001:db9:%x::%x", rng() % 65536,
                                           1 + rng() % 65535)));
    }
  }
  FakeClock clock;
  BanList bans;
  std::vector<IpAddress> hits;
  std::vector<IpAddress> misses;
};

BanFixture& Bans() {
  static BanFixture* fixture = new BanFixture();
  return *fixture;
}

void BM_BanCheckHit(benchmark::State& state) {
  BanFixture& f = Bans();
  const absl::Time now = f.clock.WallNow();
  size_t i = 0;
  int64_t banned = 0;
  for (auto _ : state) {
    banned += f.bans.Check(f.hits[i], now).banned ? 1 : 0;
    i = i + 1 == f.hits.size() ? 0 : i + 1;
  }
  if (banned != state.iterations()) state.SkipWithError("a hit was missed");
}
BENCHMARK(BM_BanCheckHit);

void BM_BanCheckMiss(benchmark::State& state) {
  BanFixture& f = Bans();
  const absl::Time now = f.clock.WallNow();
  size_t i = 0;
  int64_t banned = 0;
  for (auto _ : state) {
    banned += f.bans.Check(f.misses[i], now).banned ? 1 : 0;
    i = (i + 1) & 4095;
  }
  if (banned != 0) state.SkipWithError("a miss was banned");
}
BENCHMARK(BM_BanCheckMiss);

struct Slot {
  bool Evictable() const { return true; }
  uint64_t touches = 0;
};

// A full table where every insert evicts the stalest entry.
void BM_IpTableInsertEvict(benchmark::State& state) {
  const size_t cap = static_cast<size_t>(state.range(0));
  IpTable<Slot> table(IpTableConfig{cap});
  const absl::Time now = absl::FromUnixSeconds(1000);
  uint64_t next = 0;
  for (; next < cap; ++next)
    table.FindOrInsert(IpKey{IpFamily::kV4, next}, now);
  for (auto _ : state) {
    Slot* s = table.FindOrInsert(IpKey{IpFamily::kV4, next++}, now);
    benchmark::DoNotOptimize(s);
  }
  state.counters["evictions"] = static_cast<double>(table.evictions());
}
BENCHMARK(BM_IpTableInsertEvict)->Arg(1024)->Arg(65536);

// Admit + ticket release over 4,096 IPv4 peers, time moving 1 ms per attempt:
// each peer comes back every ~4 s, under the default 10 per 10 s.
void BM_ConnGuardAdmitRelease(benchmark::State& state) {
  FakeClock clock;
  ConnGuard guard(ConnGuardConfig{}, clock);
  uint32_t i = 0;
  for (auto _ : state) {
    clock.Advance(absl::Milliseconds(1));
    const uint32_t n = i++ & 4095;
    AdmitResult r = guard.Admit(IpAddress::V4(
        10, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)));
    benchmark::DoNotOptimize(r.reason);
  }
  ConnGuardCounters c = guard.Counters();
  state.counters["admitted_frac"] =
      static_cast<double>(c.admitted) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ConnGuardAdmitRelease);

// One IP hammering: the refusal path (rate, then autoban every 6 refusals).
void BM_ConnGuardAdmitRefused(benchmark::State& state) {
  FakeClock clock;
  ConnGuard guard(ConnGuardConfig{}, clock);
  const IpAddress ip = IpAddress::V4(203, 0, 113, 7);
  for (auto _ : state) {
    clock.Advance(absl::Microseconds(10));
    AdmitResult r = guard.Admit(ip);
    benchmark::DoNotOptimize(r.reason);
  }
}
BENCHMARK(BM_ConnGuardAdmitRefused);

// ---- a million bans ----

constexpr size_t kMillion = 1000000;

// The generated million-line file, written once per run.
const std::string& MillionFile() {
  static const std::string* path = [] {
    std::string tmpl = "/tmp/guard_bench_XXXXXX";
    const char* dir = mkdtemp(tmpl.data());
    static std::string folder = dir;
    auto* p = new std::string(folder + "/bans.txt");
    std::ofstream(*p) << testing::GenerateBanFile(kMillion,
                                                  "2999-01-01T00:00:00Z");
    std::atexit([] {  // 48 MB: not left in /tmp
      std::remove((folder + "/bans.txt").c_str());
      std::remove((folder + "/bans.txt.lock").c_str());
      ::rmdir(folder.c_str());
    });
    return p;
  }();
  return *path;
}

BanListConfig MillionConfig(const std::string& path) {
  BanListConfig config;
  config.path = path;
  config.max_entries = kMillion;
  return config;
}

// Read, parse and swap in a 1,000,000-line file (what a start or SIGHUP does).
void BM_BanLoadMillion(benchmark::State& state) {
  const std::string& path = MillionFile();
  FakeClock clock;
  BanList bans(MillionConfig(path), clock);
  size_t entries = 0;
  for (auto _ : state) {
    auto r = bans.Load();
    if (!r.ok()) state.SkipWithError("load failed");
    entries = r.ok() ? r->entries : 0;
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.counters["entries_per_s"] = benchmark::Counter(
      static_cast<double>(entries) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BanLoadMillion)->Unit(benchmark::kMillisecond)->Iterations(3);

BanList& MillionList(FakeClock& clock) {
  static BanList* bans = [&clock] {
    auto* b = new BanList(MillionConfig(MillionFile()), clock);
    (void)b->Load();
    return b;
  }();
  return *bans;
}

// The accept thread's lookup with a million entries in force.
void BM_BanCheckMillion(benchmark::State& state) {
  static FakeClock clock;
  BanList& bans = MillionList(clock);
  const bool hit = state.range(0) != 0;
  std::mt19937 rng(11);
  std::vector<IpAddress> probes;
  for (int i = 0; i < 4096; ++i) {
    const uint32_t n = static_cast<uint32_t>(rng() % kMillion);
    probes.push_back(hit ? *ParseIp(testing::GeneratedBanAddress(n))
                         : IpAddress::V4(11, static_cast<uint8_t>(n >> 16),
                                         static_cast<uint8_t>(n >> 8),
                                         static_cast<uint8_t>(n)));
  }
  const absl::Time now = clock.WallNow();
  size_t i = 0;
  int64_t banned = 0;
  for (auto _ : state) {
    banned += bans.Check(probes[i], now).banned ? 1 : 0;
    i = (i + 1) & 4095;
  }
  if (banned != (hit ? state.iterations() : 0)) {
    state.SkipWithError("wrong answer");
  }
}
BENCHMARK(BM_BanCheckMillion)->ArgName("hit")->Arg(1)->Arg(0);

// An autoban of a new block into a list already holding max_entries temporary
// bans: each one displaces the ban that ends soonest (no scan of the list).
void BM_BanAddAtFullList(benchmark::State& state) {
  FakeClock clock;
  BanListConfig config;
  config.max_entries = kMillion;
  BanList bans(config, clock);
  const absl::Time start = clock.WallNow();
  for (size_t i = 0; i < kMillion; ++i) {
    (void)bans.Add(HostCidr(*ParseIp(testing::GeneratedBanAddress(i))),
                   start + absl::Seconds(3600 + static_cast<int64_t>(i)),
                   "flood autoban");
  }
  uint32_t next = 0;
  int64_t refused = 0;
  for (auto _ : state) {
    const uint32_t n = next++;
    const absl::Status s =
        bans.Add(HostCidr(IpAddress::V4(11, static_cast<uint8_t>(n >> 16),
                                        static_cast<uint8_t>(n >> 8),
                                        static_cast<uint8_t>(n))),
                 start + absl::Hours(24 * 365), "flood autoban");
    refused += s.ok() ? 0 : 1;
  }
  if (refused != 0 || bans.size() != kMillion) {
    state.SkipWithError("an autoban was refused");
  }
  state.counters["displaced"] = static_cast<double>(bans.displaced());
}
BENCHMARK(BM_BanAddAtFullList)->Unit(benchmark::kMicrosecond);

// Compaction of the million-line file: re-read under the advisory lock,
// parse, format, write atomically with fsync, swap in.
void BM_BanRewriteMillion(benchmark::State& state) {
  FakeClock clock;
  std::string tmpl = "/tmp/guard_bench_rw_XXXXXX";
  const std::string dir = mkdtemp(tmpl.data());
  const std::string path = dir + "/bans.txt";
  std::ofstream(path) << testing::GenerateBanFile(kMillion,
                                                  "2999-01-01T00:00:00Z");
  BanList bans(MillionConfig(path), clock);
  (void)bans.Load();
  for (auto _ : state) {
    if (!bans.Rewrite().ok()) state.SkipWithError("rewrite failed");
  }
  state.counters["entries"] = static_cast<double>(bans.size());
  std::remove(path.c_str());
  std::remove((path + ".lock").c_str());
  ::rmdir(dir.c_str());
}
BENCHMARK(BM_BanRewriteMillion)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace muwarden::guard

BENCHMARK_MAIN();
