#include "common/runtime/arena.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace muwarden::runtime {
namespace {

// Marks the status; its presence is all that counts.
constexpr char kArenaExhaustedPayload[] = "muwarden.arena_exhausted";
constexpr size_t kAlign = 16;
constexpr size_t kPage = 4096;
// Pages kept mapped across connections: enough for a typical connection's
// buffers.
constexpr size_t kKeepBytes = 16 * 1024;
}  // namespace

Arena::Arena(size_t capacity) : capacity_(capacity) {
  void* p = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    // Address space exhaustion at worker start is an environment failure we
    // cannot serve through; the arena then holds nothing and every connection
    // on it is closed.
    base_ = nullptr;
    capacity_ = 0;
    return;
  }
  base_ = static_cast<uint8_t*>(p);
}

Arena::~Arena() {
  if (base_ != nullptr) ::munmap(base_, capacity_);
}

absl::Span<uint8_t> Arena::Allocate(size_t size) {
  const size_t start = (used_ + kAlign - 1) & ~(kAlign - 1);
  if (base_ == nullptr || start > capacity_ || size > capacity_ - start) {
    return {};
  }
  used_ = start + size;
  if (used_ > high_water_) high_water_ = used_;
  return absl::MakeSpan(base_ + start, size);
}

void Arena::Reset() {
  if (high_water_ > kKeepBytes && base_ != nullptr) {
    const size_t from = kKeepBytes & ~(kPage - 1);
    ::madvise(base_ + from, capacity_ - from, MADV_DONTNEED);
  }
  used_ = 0;
  high_water_ = 0;
}

absl::Status ArenaExhaustedError(absl::string_view what) {
  absl::Status status =
      absl::ResourceExhaustedError(absl::StrCat("arena exhausted: ", what));
  status.SetPayload(kArenaExhaustedPayload, absl::Cord());
  return status;
}

bool IsArenaExhausted(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kArenaExhaustedPayload).has_value();
}

}  // namespace muwarden::runtime
