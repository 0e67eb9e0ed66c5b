// Counters of the worker side (Layers 2-5), one per event, named for what they
// count. Atomics: bumped by workers, read by tests and the status output.
// Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_COUNTERS_H_
#define MUWARDEN_COMMON_RUNTIME_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace muwarden::runtime {

// clang-format off
struct WorkerCounters {
  std::atomic<uint64_t> connections_served{0};         // admitted and greeted (or handed to a worker)
  std::atomic<int64_t> connections_active{0};          // in a worker right now (not parked)
  std::atomic<uint64_t> handshakes_completed{0};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> read_timeouts{0};              // drip or silence
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> packet_rate_exceeded{0};
  std::atomic<uint64_t> frames_rejected_oversize{0};
  std::atomic<uint64_t> frames_rejected_malformed{0};  // bad header or opcode
  std::atomic<uint64_t> frames_rejected_opcode{0};     // of those: the opcode
  std::atomic<int64_t> connections_established{0};     // past the handshake now
  std::atomic<uint64_t> frames_handled{0};
  std::atomic<uint64_t> handler_errors{0};
  std::atomic<uint64_t> arena_exhausted{0};
  std::atomic<uint64_t> peer_closed{0};
  std::atomic<uint64_t> kicked{0};
  std::atomic<uint64_t> worker_unavailable{0};         // no thread could be had: refused
};
// clang-format on

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_COUNTERS_H_
