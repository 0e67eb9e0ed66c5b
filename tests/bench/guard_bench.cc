// Layer 1 micro-benchmarks: the per-connection cost of the accept thread's
// checks (sliding window, ban lookup, per-IP table, admission).
#include <cstdint>
#include <random>
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

}  // namespace
}  // namespace muwarden::guard

BENCHMARK_MAIN();
