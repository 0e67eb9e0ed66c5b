// World: what connects the players of one GameServer in play: the object id
// pool (ids 1..0x7FFF, unique among live connections, the freed id reused
// last), one GameMap per map number, and the index of characters in the world
// by name for whispers. Thread-safe: ids and names under one mutex, each map
// under its own; never both at once.
#ifndef MUWARDEN_SERVER_GAME_WORLD_H_
#define MUWARDEN_SERVER_GAME_WORLD_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/base/mutex.h"
#include "common/config/schema.h"
#include "common/runtime/deliverer.h"
#include "common/runtime/outbound_queue.h"
#include "server/game/game_map.h"

namespace muwarden::game {

struct WorldConfig {
  int max_characters = 5;
  int view_range = 12;
  int max_walk_steps = 15;
  int walk_tolerance = 5;

  // [game] max_characters, view_range, max_walk_steps, walk_tolerance.
  void Describe(config::Schema& schema);
};

class World {
 public:
  // Starts the thread that delivers the maps' broadcasts.
  explicit World(const WorldConfig& config);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // A free object id, or nullopt when all 0x7FFF are taken.
  std::optional<uint16_t> AllocateId() ABSL_LOCKS_EXCLUDED(mu_);
  void FreeId(uint16_t id) ABSL_LOCKS_EXCLUDED(mu_);

  GameMap& map(uint8_t number) { return *maps_[number]; }
  ScopeCounters& counters() { return counters_; }

  // Claims `name` (ASCII case-insensitive) for whispers; kAlreadyExists when
  // a character of that name is in the world already.
  absl::Status ClaimName(absl::string_view name,
                         std::shared_ptr<runtime::OutboundQueue> queue)
      ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseName(absl::string_view name) ABSL_LOCKS_EXCLUDED(mu_);
  // Pushes `packet` to the character named `name`; false when no such
  // character is in the world or its queue refused it.
  bool SendToCharacter(absl::string_view name,
                       absl::Span<const uint8_t> packet)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ScopeCounters counters_;
  // Declared before the maps, which hold a pointer to it.
  runtime::Deliverer deliverer_;
  std::array<std::unique_ptr<GameMap>, 256> maps_;
  Mutex mu_;
  std::deque<uint16_t> free_ids_ ABSL_GUARDED_BY(mu_);
  // Bounded by the connections in the world.
  absl::flat_hash_map<std::string, std::shared_ptr<runtime::OutboundQueue>>
      names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_WORLD_H_
