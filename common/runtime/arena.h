// Arena: a fixed block of memory owned by one worker thread that holds one
// connection's buffers; bump allocation, Reset() when the connection ends. The
// block is mapped once and its pages are touched only when used, so idle
// connections cost little RSS. Never grows: an allocation that does not fit
// fails and the session returns ArenaExhaustedError(), which the runtime
// counts as such and closes the connection. Not thread-safe: used only by its
// worker.
#ifndef MUWARDEN_COMMON_RUNTIME_ARENA_H_
#define MUWARDEN_COMMON_RUNTIME_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace muwarden::runtime {

class Arena {
 public:
  explicit Arena(size_t capacity);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `size` bytes aligned to 16, or an empty span when the arena cannot hold
  // them.
  absl::Span<uint8_t> Allocate(size_t size);
  // Typed allocation; nullptr when it does not fit. T must be trivially
  // destructible.
  template <typename T>
  T* AllocateArray(size_t count) {
    auto bytes = Allocate(sizeof(T) * count);
    return bytes.empty() ? nullptr : reinterpret_cast<T*>(bytes.data());
  }

  // Forgets every allocation. Pages beyond `keep_bytes` are
  // given back to the kernel so a connection that used the whole arena does not
  // leave the idle worker holding it.
  void Reset();

  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }
  size_t high_water() const { return high_water_; }

 private:
  uint8_t* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t high_water_ = 0;
};

// What a session returns when its arena cannot hold what it needs:
// kResourceExhausted marked with a payload, so the runtime tells it from the
// other per-connection caps by code and mark, never by the message text.
absl::Status ArenaExhaustedError(absl::string_view what);
bool IsArenaExhausted(const absl::Status& status);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_ARENA_H_
