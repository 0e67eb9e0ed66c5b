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
    // Only the unread rest of a frame can be here; move it to the front.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Ask for exactly what the next decision needs, so nothing past a header is
  // taken from the socket before that header is judged: the smallest header
  // first, then the rest of a 3-byte header, then exactly the body the accepted
  // header declared.
  size_t want = 0;
  if (end_ < 2) {
    want = 2;
  } else {
    const size_t header_size = HeaderSizeOf(buffer_[0]);
    if (header_size == 0) return {};  // refused: Next() reports it
    if (end_ < header_size) {
      want = header_size;
    } else {
      FrameHeader header;
      auto state = DecodeHeader(absl::MakeConstSpan(buffer_.data(), end_),
                                max_frame_size_, &header);
      if (!state.ok()) return {};  // refused: Next() reports it
      want = header.length;
    }
  }
  if (want <= end_) return {};  // a whole frame is buffered: Next() first
  return buffer_.subspan(end_, std::min(want, buffer_.size()) - end_);
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
