#include "common/protocol/frame_assembler.h"

#include <algorithm>
#include <cstring>

namespace muwarden::protocol {

FrameAssembler::FrameAssembler(absl::Span<uint8_t> buffer,
                               size_t max_frame_size)
    : buffer_(buffer),
      max_frame_size_(std::min(max_frame_size, buffer.size())) {}

void FrameAssembler::SetMaxFrameSize(size_t max_frame_size) {
  max_frame_size_ = std::min(max_frame_size, buffer_.size());
}

absl::Span<uint8_t> FrameAssembler::WritableSpace() {
  if (begin_ > 0) {
    // Compact so a frame always starts at offset 0 and fits the buffer.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // A single recv may bring several pipelined frames, or the header and some
  // body bytes of a frame that Next() will then refuse; either way the buffer
  // never grows past one frame.
  return buffer_.subspan(end_);
}

void FrameAssembler::Commit(size_t n) { end_ += n; }

absl::StatusOr<absl::optional<Frame>> FrameAssembler::Next() {
  FrameHeader header;
  auto state =
      DecodeHeader(absl::MakeConstSpan(buffer_.data() + begin_, end_ - begin_),
                   max_frame_size_, &header);
  if (!state.ok()) return state.status();
  if (*state == HeaderState::kNeedMore || end_ - begin_ < header.length) {
    return absl::optional<Frame>();
  }
  Frame frame{header,
              absl::MakeConstSpan(buffer_.data() + begin_, header.length)};
  begin_ += header.length;
  return absl::optional<Frame>(frame);
}

}  // namespace muwarden::protocol
