// The crypto tests' name for the shared hex helper (tests/support/hex.h).
#ifndef MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_
#define MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_

#include "tests/support/hex.h"

namespace muwarden::crypto::testing {

using ::muwarden::testing::HexBytes;

}  // namespace muwarden::crypto::testing

#endif  // MUWARDEN_TESTS_UNIT_CRYPTO_HEX_BYTES_H_
