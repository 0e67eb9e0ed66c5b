// Cost of the frame codec on the receive path: DecodeHeader on accepted and
// refused headers, and FrameAssembler reassembling a stream of frames from
// reads of up to 4 KiB (and of one byte, as a dripping client sends them).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "common/protocol/frame.h"
#include "common/protocol/frame_assembler.h"

namespace muwarden::protocol {
namespace {

// The GameServer's default cap; the ConnectServer's is smaller and does not
// change the work per header.
constexpr size_t kCap = 8192;

void DecodeLoop(benchmark::State& state, std::vector<uint8_t> bytes,
                bool expect_ok) {
  FrameHeader header;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    auto result = DecodeHeader(bytes, kCap, &header);
    if (result.ok() != expect_ok) {
      state.SkipWithError("unexpected DecodeHeader result");
      break;
    }
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(header);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
}

// BM_DecodeHeader<name>: one header, accepted or refused. Refusals build a
// status message: what a peer sending garbage costs us.
struct DecodeCase {
  const char* name;
  std::vector<uint8_t> bytes;
  bool expect_ok;
};

const bool kDecodeBenchmarksRegistered = [] {
  static const DecodeCase kCases[] = {
      {"BM_DecodeHeaderC1", {0xC1, 0x04, 0xF4, 0x06}, true},
      {"BM_DecodeHeaderC2", {0xC2, 0x10, 0x00, 0xF3}, true},
      {"BM_DecodeHeaderUnknownType", {0x47, 0x45, 0x54, 0x20}, false},
      {"BM_DecodeHeaderOversize", {0xC2, 0xFF, 0xFF, 0x00}, false},
  };
  for (const DecodeCase& c : kCases) {
    benchmark::RegisterBenchmark(c.name, [&c](benchmark::State& state) {
      DecodeLoop(state, c.bytes, c.expect_ok);
    });
  }
  return true;
}();

// A stream of whole frames of `frame_size` bytes (C1 up to 255, C2 above),
// long enough to be replayed cyclically without breaking frame alignment.
std::vector<uint8_t> FrameStream(size_t frame_size) {
  std::vector<uint8_t> frame(frame_size);
  const uint8_t type = frame_size <= 255 ? kC1 : kC2;
  if (!EncodeHeader(type, frame_size, absl::MakeSpan(frame)).ok()) {
    return {};
  }
  for (size_t i = HeaderSizeOf(type); i < frame_size; ++i) {
    frame[i] = static_cast<uint8_t>(i * 31 + 5);
  }
  const size_t copies = std::max<size_t>(1, 65536 / frame_size);
  std::vector<uint8_t> stream;
  for (size_t i = 0; i < copies; ++i) {
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  return stream;
}

// Args: frame size, bytes a read could bring. An iteration is one read of
// min(that, what WritableSpace() asks for): the assembler asks for a header
// before its body, so a frame takes at least two reads whatever the read size.
void BM_FrameAssembler(benchmark::State& state) {
  const size_t frame_size = static_cast<size_t>(state.range(0));
  const size_t read_size = static_cast<size_t>(state.range(1));
  const std::vector<uint8_t> stream = FrameStream(frame_size);
  if (stream.empty()) {
    state.SkipWithError("cannot encode the frame");
    return;
  }
  std::vector<uint8_t> buffer(kCap);
  FrameAssembler assembler(absl::MakeSpan(buffer), kCap);
  size_t offset = 0;
  int64_t frames = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    absl::Span<uint8_t> space = assembler.WritableSpace();
    const size_t n =
        std::min({space.size(), read_size, stream.size() - offset});
    std::memcpy(space.data(), stream.data() + offset, n);
    offset = (offset + n) % stream.size();
    assembler.Commit(n);
    bytes += static_cast<int64_t>(n);
    while (true) {
      auto next = assembler.Next();
      if (!next.ok()) {
        state.SkipWithError("assembler refused a valid frame");
        return;
      }
      if (!next->has_value()) break;
      benchmark::DoNotOptimize((*next)->bytes.data());
      ++frames;
    }
  }
  // Items are frames; an iteration is one read.
  state.SetItemsProcessed(frames);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_FrameAssembler)
    ->ArgNames({"frame", "read"})
    ->Args({4, 4096})
    ->Args({60, 4096})
    ->Args({4096, 4096})
    ->Args({60, 1});

}  // namespace
}  // namespace muwarden::protocol

BENCHMARK_MAIN();
