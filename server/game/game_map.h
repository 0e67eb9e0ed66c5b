// GameMap: the players on one map, their positions and who sees whom.
// Visibility is the Chebyshev distance (max of |dx|, |dy|) <= view_range
// tiles, exact per tile rather than the reference's 8x8 blocks, so the view is
// the same square around every player and symmetric: a sees b iff b sees a,
// and one "in view" set per player serves both directions. Who comes into
// view is asked of a ScopeGrid, so an event costs the players near it, not
// every player on the map.
//
// Broadcast: every packet goes into the receivers' bounded OutboundQueues,
// whose Push never blocks and never touches a socket (each connection's own
// worker writes it, under the write deadline), so a stalled observer delays
// nobody. Pushes happen under the map mutex so that the scope packets a
// client receives are in the order the map changed (a 14 can never overtake
// the 12 it undoes); lock order is map mutex -> queue mutex only. The pushes
// are staged; once the map mutex is released, the receiving queues are named
// to the Deliverer, whose thread sends each once per round with everything
// staged for it by then (without a Deliverer, the mover's thread flushes each:
// OutboundQueue::Flush, one non-blocking send, no wake-up of the receiver's
// worker), so no socket is written under the map mutex. A packet
// meant for many observers (a walk, an "appeared" entry, a removal) is built
// once per event, before the loop over the observers.
// Thread-safe.
#ifndef MUWARDEN_SERVER_GAME_GAME_MAP_H_
#define MUWARDEN_SERVER_GAME_GAME_MAP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "common/base/mutex.h"
#include "common/runtime/deliverer.h"
#include "common/runtime/outbound_queue.h"
#include "server/game/scope_grid.h"
#include "server/game/world_packets.h"

namespace muwarden::game {

struct ScopeCounters {
  std::atomic<uint64_t> pushed{0};   // packets taken by a queue
  std::atomic<uint64_t> dropped{0};  // refused by a full or closed queue
};

class GameMap {
 public:
  // `deliverer` (may be null: the mover's thread flushes) outlives the map.
  GameMap(uint8_t number, int view_range, ScopeCounters& counters,
          runtime::Deliverer* deliverer = nullptr);
  GameMap(const GameMap&) = delete;
  GameMap& operator=(const GameMap&) = delete;

  uint8_t number() const { return number_; }

  // Adds the player `self` (its id without bit 15). Everyone in view gets
  // `12` for him with bit 15 (just appeared); he gets one `12` with himself
  // (bit 15) first and everyone in view after. False when the id is on the
  // map already.
  bool Enter(const ScopeEntry& self,
             std::shared_ptr<runtime::OutboundQueue> queue)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes him; whoever saw him gets `14`. No-op for an unknown id.
  void Leave(uint16_t id) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets his position and rotation; `packet` (the walk or instant move, built
  // once) goes to everyone who sees him before and after, and to himself;
  // players coming into view get `12` both ways, players leaving it `14`
  // both ways. False for an unknown id.
  bool Move(uint16_t id, uint8_t x, uint8_t y, uint8_t rotation,
            absl::Span<const uint8_t> packet) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets only the rotation (no scope change); `packet` to those in view.
  bool Turn(uint16_t id, uint8_t rotation, absl::Span<const uint8_t> packet)
      ABSL_LOCKS_EXCLUDED(mu_);
  // `packet` to everyone who sees `id`, and to him when `include_self`.
  // Returns how many queues took it.
  size_t SendToView(uint16_t id, absl::Span<const uint8_t> packet,
                    bool include_self) ABSL_LOCKS_EXCLUDED(mu_);

  size_t players() const ABSL_LOCKS_EXCLUDED(mu_);
  // The ids `id` sees (sorted; tests and diagnostics).
  std::vector<uint16_t> InView(uint16_t id) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Player {
    ScopeEntry view;
    std::shared_ptr<runtime::OutboundQueue> queue;
    absl::flat_hash_set<uint16_t> in_view;
  };

  // The queues one event staged packets in, named to the deliverer (or
  // flushed) by the destructor, which runs after the MutexLock declared after
  // it has let the map mutex go.
  class Flushes {
   public:
    explicit Flushes(runtime::Deliverer* deliverer) : deliverer_(deliverer) {}
    Flushes(const Flushes&) = delete;
    Flushes& operator=(const Flushes&) = delete;
    ~Flushes();
    void Add(const std::shared_ptr<runtime::OutboundQueue>& queue);

   private:
    runtime::Deliverer* const deliverer_;
    std::vector<std::shared_ptr<runtime::OutboundQueue>> queues_;
  };

  bool Visible(const ScopeEntry& a, const ScopeEntry& b) const;
  // True when the queue took it.
  bool Push(Player& to, absl::Span<const uint8_t> packet, Flushes& flushes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `12` of these entries to `to`, split into packets that fit.
  void PushAdds(Player& to, const std::vector<ScopeEntry>& entries,
                Flushes& flushes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushRemoves(Player& to, const std::vector<uint16_t>& ids,
                   Flushes& flushes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint8_t number_;
  const int view_range_;
  ScopeCounters& counters_;
  runtime::Deliverer* const deliverer_;
  mutable Mutex mu_;
  // Bounded by the server's connections (each holds at most one id here).
  absl::flat_hash_map<uint16_t, Player> players_ ABSL_GUARDED_BY(mu_);
  // Every player of players_ at his view.x, view.y.
  ScopeGrid grid_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_MAP_H_
