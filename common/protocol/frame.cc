#include "common/protocol/frame.h"

#include "absl/strings/str_cat.h"

namespace muwarden::protocol {

size_t HeaderSizeOf(uint8_t type) {
  switch (type) {
    case kC1:
    case kC3:
      return 2;
    case kC2:
    case kC4:
      return 3;
    default:
      return 0;
  }
}

absl::StatusOr<HeaderState> DecodeHeader(absl::Span<const uint8_t> bytes,
                                         size_t max_frame_size,
                                         FrameHeader* header) {
  if (bytes.empty()) return HeaderState::kNeedMore;
  const uint8_t type = bytes[0];
  const size_t header_size = HeaderSizeOf(type);
  if (header_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown frame type 0x", absl::Hex(type)));
  }
  if (bytes.size() < header_size) return HeaderState::kNeedMore;
  size_t length = bytes[1];
  if (header_size == 3) {
    length = (static_cast<size_t>(bytes[1]) << 8) | bytes[2];
  }
  if (length < header_size + 1) {
    return absl::DataLossError(
        absl::StrCat("declared length ", length, " below header + code"));
  }
  if (length > max_frame_size) {
    return absl::OutOfRangeError(
        absl::StrCat("declared length ", length, " over cap ", max_frame_size));
  }
  header->type = type;
  header->header_size = header_size;
  header->length = length;
  return HeaderState::kComplete;
}

absl::StatusOr<size_t> EncodeHeader(uint8_t type, size_t length,
                                    absl::Span<uint8_t> out) {
  const size_t header_size = HeaderSizeOf(type);
  if (header_size == 0) {
    return absl::InvalidArgumentError("unknown frame type");
  }
  const size_t max_length = header_size == 2 ? 255 : kMaxFrameSize;
  if (length < header_size + 1 || length > max_length) {
    return absl::OutOfRangeError(absl::StrCat(
        "frame length ", length, " does not fit type 0x", absl::Hex(type)));
  }
  if (out.size() < header_size) {
    return absl::OutOfRangeError("output too small for the header");
  }
  out[0] = type;
  if (header_size == 2) {
    out[1] = static_cast<uint8_t>(length);
  } else {
    out[1] = static_cast<uint8_t>(length >> 8);
    out[2] = static_cast<uint8_t>(length & 0xFF);
  }
  return header_size;
}

}  // namespace muwarden::protocol
