// Throughput of the game-server receive path: SimpleModulus and Xor32
// decryption of a 60-byte (login-sized, C3) and a 4 KiB (C4) packet.
#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "common/crypto/simple_modulus.h"
#include "common/crypto/xor32.h"

namespace muwarden::crypto {
namespace {

std::vector<uint8_t> PlainPacket(size_t len) {
  std::vector<uint8_t> packet(len);
  const bool c3 = len <= 0xFF;
  packet[0] = c3 ? 0xC3 : 0xC4;
  if (c3) {
    packet[1] = static_cast<uint8_t>(len);
  } else {
    packet[1] = static_cast<uint8_t>(len >> 8);
    packet[2] = static_cast<uint8_t>(len);
  }
  for (size_t i = c3 ? 2 : 3; i < len; ++i) {
    packet[i] = static_cast<uint8_t>(i * 13 + 7);
  }
  return packet;
}

// The decryptor expects counters 0, 1, ..., 255, 0, ...: one packet per value.
std::vector<std::vector<uint8_t>> EncryptedRing(size_t plain_len) {
  SimpleModulusEncryptor enc(kClientToServerKeys);
  const std::vector<uint8_t> plain = PlainPacket(plain_len);
  const size_t header = plain[0] == 0xC3 ? 2 : 3;
  std::vector<std::vector<uint8_t>> ring;
  for (int i = 0; i < 256; ++i) {
    std::vector<uint8_t> wire(SimpleModulusEncryptedSize(plain.size(), header));
    if (!enc.Encrypt(plain, absl::MakeSpan(wire)).ok()) std::abort();
    ring.push_back(std::move(wire));
  }
  return ring;
}

void BM_SimpleModulusDecrypt(benchmark::State& state) {
  const size_t plain_len = static_cast<size_t>(state.range(0));
  const std::vector<std::vector<uint8_t>> ring = EncryptedRing(plain_len);
  SimpleModulusDecryptor dec(kClientToServerKeys);
  std::vector<uint8_t> out(ring[0].size());
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<size_t> n =
        dec.Decrypt(ring[i++ & 0xFF], absl::MakeSpan(out));
    if (!n.ok()) {
      state.SkipWithError("decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(*n);
    benchmark::ClobberMemory();
  }
  // Bytes are the encrypted bytes read off the wire.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(ring[0].size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SimpleModulusDecrypt)->Arg(60)->Arg(4096);

void BM_Xor32Decrypt(benchmark::State& state) {
  std::vector<uint8_t> packet =
      PlainPacket(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Xor32Decrypt(absl::MakeSpan(packet));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(packet.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Xor32Decrypt)->Arg(60)->Arg(4096);

}  // namespace
}  // namespace muwarden::crypto

BENCHMARK_MAIN();
