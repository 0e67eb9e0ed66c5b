// Frame codec for the MU Online C1-C4 framing: decide on a frame from its
// header alone, and write headers. Pure functions over bytes; no sockets, no
// allocation. Thread-safe. The header is judged before any body byte is
// buffered: unknown type, a declared length that cannot hold the code byte, or
// one above the cap each get their own status code.
#ifndef MUWARDEN_COMMON_PROTOCOL_FRAME_H_
#define MUWARDEN_COMMON_PROTOCOL_FRAME_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace muwarden::protocol {

inline constexpr uint8_t kC1 = 0xC1;
inline constexpr uint8_t kC2 = 0xC2;
inline constexpr uint8_t kC3 = 0xC3;
inline constexpr uint8_t kC4 = 0xC4;
// The largest header (C2/C4).
inline constexpr size_t kMaxHeaderSize = 3;
// The largest length any frame can declare (C2/C4 u16).
inline constexpr size_t kMaxFrameSize = 65535;

struct FrameHeader {
  uint8_t type = 0;        // C1..C4
  size_t header_size = 0;  // 2 or 3
  size_t length = 0;       // whole frame, header included
};

// Header size for a type byte, or 0 when the byte is not C1-C4.
size_t HeaderSizeOf(uint8_t type);

// Outcome of looking at the start of a byte stream.
enum class HeaderState {
  kNeedMore,  // not enough bytes to decide yet
  kComplete,  // header decoded and accepted
};

// Decodes the header at the start of `bytes`, refusing it as soon as the bytes
// seen allow:
// clang-format off
//   unknown type byte                -> kInvalidArgument, malformed
//   declared length < header + 1     -> kDataLoss, malformed (no code byte)
//   declared length > max_frame_size -> kOutOfRange, oversize
// clang-format on
// An unknown type byte is refused from one byte. On kNeedMore, `*header` is
// untouched.
absl::StatusOr<HeaderState> DecodeHeader(absl::Span<const uint8_t> bytes,
                                         size_t max_frame_size,
                                         FrameHeader* header);

// True when `status` from DecodeHeader means the frame was over the cap (vs.
// malformed).
inline bool IsOversize(const absl::Status& status) {
  return status.code() == absl::StatusCode::kOutOfRange;
}

// Writes the header for a frame of `length` bytes (header included) into `out`,
// which must hold at least the header size. kInvalidArgument for an unknown
// type, kOutOfRange when the length does not fit the type's length field or
// cannot hold the code byte.
absl::StatusOr<size_t> EncodeHeader(uint8_t type, size_t length,
                                    absl::Span<uint8_t> out);

// The code byte of a complete frame (the byte after the header).
inline uint8_t CodeOf(const FrameHeader& header,
                      absl::Span<const uint8_t> frame) {
  return frame[header.header_size];
}

}  // namespace muwarden::protocol

#endif  // MUWARDEN_COMMON_PROTOCOL_FRAME_H_
