// libFuzzer target for the frame decoder: arbitrary bytes, delivered in
// arbitrary chunk sizes, under an arbitrary cap. The decoder must never read
// out of bounds, never accept a frame over the cap or shorter than header +
// code, and never hand out bytes it was not given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/protocol/frame.h"
#include "common/protocol/frame_assembler.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace muwarden::protocol;
  if (size < 3) return 0;
  // The first bytes choose the cap (4..8192) and the chunk size (1..64).
  const size_t cap = 4 + ((static_cast<size_t>(data[0]) << 8 | data[1]) % 8189);
  const size_t chunk = 1 + data[2] % 64;
  data += 3;
  size -= 3;

  FrameHeader header;
  auto state = DecodeHeader(absl::MakeConstSpan(data, size), cap, &header);
  if (state.ok() && *state == HeaderState::kComplete) {
    Check(header.length >= header.header_size + 1);
    Check(header.length <= cap);
  }

  std::vector<uint8_t> buffer(cap);
  FrameAssembler assembler(absl::MakeSpan(buffer), cap);
  size_t pos = 0;
  size_t handed_out = 0;
  while (pos < size) {
    auto space = assembler.WritableSpace();
    Check(!space.empty());
    const size_t n = std::min({chunk, space.size(), size - pos});
    std::memcpy(space.data(), data + pos, n);
    assembler.Commit(n);
    pos += n;
    while (true) {
      auto next = assembler.Next();
      if (!next.ok()) return 0;
      if (!next->has_value()) break;
      const Frame& frame = **next;
      Check(frame.bytes.size() == frame.header.length);
      Check(frame.bytes.size() <= cap);
      Check(frame.bytes.size() >= frame.header.header_size + 1);
      // The frame is exactly the next bytes of the input.
      Check(std::memcmp(frame.bytes.data(), data + handed_out,
                        frame.bytes.size()) == 0);
      handed_out += frame.bytes.size();
    }
    Check(assembler.buffered() <= cap);
    Check(handed_out + assembler.buffered() == pos);
  }
  return 0;
}
