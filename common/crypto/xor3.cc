#include "common/crypto/xor3.h"

#include <cstddef>

namespace muwarden::crypto {

void Xor3(absl::Span<uint8_t> field) {
  for (size_t i = 0; i < field.size(); ++i) {
    field[i] ^= kXor3Key[i % kXor3Key.size()];
  }
}

}  // namespace muwarden::crypto
