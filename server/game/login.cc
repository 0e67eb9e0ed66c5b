#include "server/game/login.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/crypto/xor3.h"

namespace muwarden::game {
namespace {

struct Layout {
  LoginVariant variant;
  size_t length;
  size_t password_size;
  size_t version_size;
};

// Offsets follow from the sizes: username at 4 (10 bytes), then password,
// tick count (4), version, serial (16), and one last byte.
constexpr Layout kLayouts[] = {
    {LoginVariant::kLongPassword, kLoginLongPasswordLength, 20, 5},
    {LoginVariant::kShortPassword, kLoginShortPasswordLength, 10, 5},
    {LoginVariant::kV075, kLoginV075Length, 10, 3},
};

constexpr size_t kUsernameOffset = 4;
constexpr size_t kUsernameSize = 10;
constexpr size_t kSerialSize = 16;

// Undoes Xor3 over the whole field (padding included, as the client applied
// it) and ends the text at the first 0; `T` is std::string or LoginSecret.
// The decoded copy is wiped: for the password it is a secret.
template <typename T>
T DecodeField(absl::Span<const uint8_t> field) {
  std::array<uint8_t, LoginSecret::kCapacity> copy{};
  const size_t n = std::min(field.size(), copy.size());
  std::copy_n(field.begin(), n, copy.begin());
  crypto::Xor3(absl::MakeSpan(copy.data(), n));
  const auto end = std::find(copy.begin(), copy.begin() + n, 0);
  T text(absl::string_view(reinterpret_cast<const char*>(copy.data()),
                           static_cast<size_t>(end - copy.begin())));
  sodium_memzero(copy.data(), copy.size());
  return text;
}

std::string Raw(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Copies `text` into the field (zero-padded, cut to it) and, for the
// credentials, Xor3s the whole field as the client does.
void EncodeField(absl::string_view text, bool xor3, absl::Span<uint8_t> field) {
  const size_t n = std::min(text.size(), field.size());
  std::copy_n(text.begin(), n, field.begin());
  std::fill(field.begin() + n, field.end(), 0);
  if (xor3) crypto::Xor3(field);
}

const Layout& LayoutOf(LoginVariant variant) {
  return *std::find_if(std::begin(kLayouts), std::end(kLayouts),
                       [&](const Layout& l) { return l.variant == variant; });
}

}  // namespace

LoginSecret& LoginSecret::operator=(const LoginSecret& other) {
  if (this != &other) Assign(other.view());
  return *this;
}

LoginSecret& LoginSecret::operator=(absl::string_view text) {
  Assign(text);
  return *this;
}

void LoginSecret::Assign(absl::string_view text) {
  Wipe();
  size_ = std::min(text.size(), kCapacity);
  std::copy_n(text.begin(), size_, bytes_.begin());
}

void LoginSecret::Wipe() {
  sodium_memzero(bytes_.data(), bytes_.size());
  size_ = 0;
}

absl::StatusOr<LoginRequest> ParseLogin(absl::Span<const uint8_t> packet) {
  if (packet.size() < 4 || (packet[0] != 0xC1 && packet[0] != 0xC3)) {
    return absl::InvalidArgumentError("login: not a C1/C3 packet");
  }
  if (packet[1] != packet.size()) {
    return absl::InvalidArgumentError("login: length field mismatch");
  }
  if (packet[2] != 0xF1 || packet[3] != 0x01) {
    return absl::InvalidArgumentError("login: not F1 01");
  }
  const auto layout =
      std::find_if(std::begin(kLayouts), std::end(kLayouts),
                   [&](const Layout& l) { return l.length == packet.size(); });
  if (layout == std::end(kLayouts)) {
    return absl::InvalidArgumentError(
        absl::StrCat("login: length ", packet.size(),
                     " is none of 60, 50, 48 (truncated or over-long)"));
  }
  LoginRequest request;
  request.variant = layout->variant;
  size_t at = kUsernameOffset;
  request.username =
      DecodeField<std::string>(packet.subspan(at, kUsernameSize));
  at += kUsernameSize;
  request.password =
      DecodeField<LoginSecret>(packet.subspan(at, layout->password_size));
  at += layout->password_size;
  request.tick_count = uint32_t{packet[at]} | uint32_t{packet[at + 1]} << 8 |
                       uint32_t{packet[at + 2]} << 16 |
                       uint32_t{packet[at + 3]} << 24;
  at += 4;
  request.version = Raw(packet.subspan(at, layout->version_size));
  at += layout->version_size;
  request.serial = Raw(packet.subspan(at, kSerialSize));
  return request;
}

std::vector<uint8_t> BuildLogin(const LoginRequest& request) {
  const Layout& layout = LayoutOf(request.variant);
  std::vector<uint8_t> p(layout.length, 0);
  p[0] = 0xC3;
  p[1] = static_cast<uint8_t>(layout.length);
  p[2] = 0xF1;
  p[3] = 0x01;
  const absl::Span<uint8_t> packet = absl::MakeSpan(p);
  size_t at = kUsernameOffset;
  EncodeField(request.username, true, packet.subspan(at, kUsernameSize));
  at += kUsernameSize;
  EncodeField(request.password.view(), true,
              packet.subspan(at, layout.password_size));
  at += layout.password_size;
  for (size_t i = 0; i < 4; ++i) {
    p[at + i] = static_cast<uint8_t>(request.tick_count >> (8 * i));
  }
  at += 4;
  EncodeField(request.version, false, packet.subspan(at, layout.version_size));
  at += layout.version_size;
  EncodeField(request.serial, false, packet.subspan(at, kSerialSize));
  return p;
}

std::array<uint8_t, 5> BuildLoginAnswer(LoginAnswer answer) {
  return {0xC1, 0x05, 0xF1, 0x01, static_cast<uint8_t>(answer)};
}

}  // namespace muwarden::game
