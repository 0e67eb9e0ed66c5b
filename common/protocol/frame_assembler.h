// FrameAssembler: reassembles C1-C4 frames from a byte stream into one fixed
// buffer that the caller owns (from the connection's arena). The buffer never
// grows: it holds at most one maximum-size frame, and a header is judged
// (DecodeHeader) before its body is accepted. Not thread-safe: one per
// connection.
#ifndef MUWARDEN_COMMON_PROTOCOL_FRAME_ASSEMBLER_H_
#define MUWARDEN_COMMON_PROTOCOL_FRAME_ASSEMBLER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "common/protocol/frame.h"

namespace muwarden::protocol {

struct Frame {
  FrameHeader header;
  absl::Span<const uint8_t>
      bytes;  // the whole frame, valid until the next Next()/Commit()
};

class FrameAssembler {
 public:
  // `buffer` must hold at least max_frame_size bytes; max_frame_size may later
  // be lowered or raised up to buffer.size() with SetMaxFrameSize.
  FrameAssembler(absl::Span<uint8_t> buffer, size_t max_frame_size);

  // The cap applied to headers decoded from now on (e.g. the stricter
  // pre-handshake cap).
  void SetMaxFrameSize(size_t max_frame_size);
  size_t max_frame_size() const { return max_frame_size_; }

  // Where the next bytes from the stream go. Empty only when the buffer is full
  // of frames not yet taken with Next(); call Next() until it returns nullopt
  // before reading again.
  absl::Span<uint8_t> WritableSpace();
  // Records that `n` bytes were written into WritableSpace().
  void Commit(size_t n);

  // The next complete frame, nullopt when more bytes are needed, or the
  // DecodeHeader error. After an error the assembler must not be used again.
  absl::StatusOr<absl::optional<Frame>> Next();

  // True when some bytes of a frame not yet complete are buffered.
  bool HasPartial() const { return end_ > begin_; }
  size_t buffered() const { return end_ - begin_; }

 private:
  absl::Span<uint8_t> buffer_;
  size_t max_frame_size_;
  size_t begin_ = 0;  // first byte not yet handed out
  size_t end_ = 0;    // one past the last byte received
};

}  // namespace muwarden::protocol

#endif  // MUWARDEN_COMMON_PROTOCOL_FRAME_ASSEMBLER_H_
