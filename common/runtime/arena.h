// Arena: a fixed block of memory owned by one worker thread that holds one
// connection's buffers; bump allocation, Reset() when the connection ends. The
// block is mapped once and its pages are touched only when used, so idle
// connections cost little RSS. Never grows: an allocation that does not fit
// fails, the arena remembers it (exhausted()) and the caller closes the
// connection. Not thread-safe: used only by its worker.
#ifndef MUWARDEN_COMMON_RUNTIME_ARENA_H_
#define MUWARDEN_COMMON_RUNTIME_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace muwarden::runtime {

class Arena {
 public:
  explicit Arena(size_t capacity);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `size` bytes aligned to 16, or an empty span when the arena cannot hold
  // them (and exhausted() turns true).
  absl::Span<uint8_t> Allocate(size_t size);
  // Typed allocation; nullptr when it does not fit. T must be trivially
  // destructible.
  template <typename T>
  T* AllocateArray(size_t count) {
    auto bytes = Allocate(sizeof(T) * count);
    return bytes.empty() ? nullptr : reinterpret_cast<T*>(bytes.data());
  }

  // Forgets every allocation and a failed one. Pages beyond `keep_bytes` are
  // given back to the kernel so a connection that used the whole arena does not
  // leave the idle worker holding it.
  void Reset();

  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }
  size_t high_water() const { return high_water_; }
  // True once an allocation has failed since the last Reset(): how the runtime
  // tells that a session gave up for lack of arena, whatever status it
  // returned.
  bool exhausted() const { return exhausted_; }

 private:
  uint8_t* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t high_water_ = 0;
  bool exhausted_ = false;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_ARENA_H_
