#include "server/game/world.h"

#include <utility>

#include "absl/strings/ascii.h"

namespace muwarden::game {

void WorldConfig::Describe(config::Schema& s) {
  s.Integer("game", "max_characters", &max_characters, 1, kMaxCharacterSlots,
            "characters per account");
  s.Integer("game", "view_range", &view_range, 1, 255,
            "tiles (in x and in y) within which players see each other");
  s.Integer("game", "max_walk_steps", &max_walk_steps, 1, 15,
            "steps one walk packet may hold; more puts the client back");
  s.Integer("game", "walk_tolerance", &walk_tolerance, 0, 255,
            "tiles a walk may start from the server's position of the player; "
            "farther puts the client back");
}

World::World(const WorldConfig& config) {
  for (size_t i = 0; i < maps_.size(); ++i) {
    maps_[i] = std::make_unique<GameMap>(
        static_cast<uint8_t>(i), config.view_range, counters_, &deliverer_);
  }
  deliverer_.Start();
  for (uint16_t id = 1; id <= kMaxObjectId; ++id) free_ids_.push_back(id);
}

World::~World() { deliverer_.Stop(); }

std::optional<uint16_t> World::AllocateId() {
  MutexLock lock(&mu_);
  if (free_ids_.empty()) return std::nullopt;
  const uint16_t id = free_ids_.front();
  free_ids_.pop_front();
  return id;
}

void World::FreeId(uint16_t id) {
  MutexLock lock(&mu_);
  free_ids_.push_back(id);
}

absl::Status World::ClaimName(absl::string_view name,
                              std::shared_ptr<runtime::OutboundQueue> queue) {
  std::string key = absl::AsciiStrToLower(name);
  MutexLock lock(&mu_);
  if (!names_.emplace(std::move(key), std::move(queue)).second) {
    return absl::AlreadyExistsError("character already in the world");
  }
  return absl::OkStatus();
}

void World::ReleaseName(absl::string_view name) {
  const std::string key = absl::AsciiStrToLower(name);
  MutexLock lock(&mu_);
  names_.erase(key);
}

bool World::SendToCharacter(absl::string_view name,
                            absl::Span<const uint8_t> packet) {
  const std::string key = absl::AsciiStrToLower(name);
  MutexLock lock(&mu_);
  auto it = names_.find(key);
  return it != names_.end() && it->second != nullptr &&
         it->second->Push(packet);
}

}  // namespace muwarden::game
