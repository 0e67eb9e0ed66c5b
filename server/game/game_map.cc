#include "server/game/game_map.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace muwarden::game {

GameMap::GameMap(uint8_t number, int view_range, ScopeCounters& counters,
                 runtime::Deliverer* deliverer)
    : number_(number),
      view_range_(view_range),
      counters_(counters),
      deliverer_(deliverer) {}

bool GameMap::Visible(const ScopeEntry& a, const ScopeEntry& b) const {
  return std::max(std::abs(int{a.x} - int{b.x}),
                  std::abs(int{a.y} - int{b.y})) <= view_range_;
}

GameMap::Flushes::~Flushes() {
  if (queues_.empty()) return;
  if (deliverer_ != nullptr) {
    deliverer_->Add(queues_);
  } else {
    for (const auto& queue : queues_) queue->Flush();
  }
}

void GameMap::Flushes::Add(
    const std::shared_ptr<runtime::OutboundQueue>& queue) {
  // One event often stages several packets for one player in a row (his own
  // removes, adds and move): flush him once.
  if (queues_.empty() || queues_.back() != queue) queues_.push_back(queue);
}

bool GameMap::Push(Player& to, absl::Span<const uint8_t> packet,
                   Flushes& flushes) {
  if (to.queue != nullptr && to.queue->Stage(packet)) {
    counters_.pushed.fetch_add(1, std::memory_order_relaxed);
    flushes.Add(to.queue);
    return true;
  }
  counters_.dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void GameMap::PushAdds(Player& to, const std::vector<ScopeEntry>& entries,
                       Flushes& flushes) {
  for (size_t i = 0; i < entries.size(); i += kMaxScopeAddEntries) {
    const size_t n = std::min(kMaxScopeAddEntries, entries.size() - i);
    Push(to, BuildScopeAdd(absl::MakeConstSpan(entries).subspan(i, n)),
         flushes);
  }
}

void GameMap::PushRemoves(Player& to, const std::vector<uint16_t>& ids,
                          Flushes& flushes) {
  for (size_t i = 0; i < ids.size(); i += kMaxScopeRemoveIds) {
    const size_t n = std::min(kMaxScopeRemoveIds, ids.size() - i);
    Push(to, BuildScopeRemove(absl::MakeConstSpan(ids).subspan(i, n)), flushes);
  }
}

bool GameMap::Enter(const ScopeEntry& self,
                    std::shared_ptr<runtime::OutboundQueue> queue) {
  ScopeEntry appeared = self;
  appeared.id = static_cast<uint16_t>(self.id | kJustAppeared);
  // Built once, pushed to every observer.
  const std::vector<uint8_t> appeared_packet = BuildScopeAdd({appeared});
  std::vector<ScopeEntry> seen = {appeared};
  Flushes flushes(deliverer_);  // declared before the lock: flushed after it is let go
  MutexLock lock(&mu_);
  if (players_.contains(self.id)) return false;
  Player me{self, std::move(queue), {}};
  grid_.ForEachInRange(self.x, self.y, view_range_, [&](uint16_t id) {
    Player& other = players_.find(id)->second;  // the grid's are in players_
    other.in_view.insert(self.id);
    me.in_view.insert(id);
    Push(other, appeared_packet, flushes);
    seen.push_back(other.view);
  });
  Player& placed = players_.emplace(self.id, std::move(me)).first->second;
  grid_.Insert(self.id, self.x, self.y);
  PushAdds(placed, seen, flushes);
  return true;
}

void GameMap::Leave(uint16_t id) {
  const std::vector<uint8_t> gone = BuildScopeRemove({id});
  Flushes flushes(deliverer_);
  MutexLock lock(&mu_);
  auto it = players_.find(id);
  if (it == players_.end()) return;
  for (uint16_t other_id : it->second.in_view) {
    auto other = players_.find(other_id);
    if (other == players_.end()) continue;
    other->second.in_view.erase(id);
    Push(other->second, gone, flushes);
  }
  grid_.Remove(id, it->second.view.x, it->second.view.y);
  players_.erase(it);
}

bool GameMap::Move(uint16_t id, uint8_t x, uint8_t y, uint8_t rotation,
                   absl::Span<const uint8_t> packet) {
  Flushes flushes(deliverer_);
  MutexLock lock(&mu_);
  auto it = players_.find(id);
  if (it == players_.end()) return false;
  Player& me = it->second;
  grid_.Move(id, me.view.x, me.view.y, x, y);
  me.view.x = me.view.target_x = x;
  me.view.y = me.view.target_y = y;
  me.view.rotation = rotation;
  // Those who saw him before: they see the move, or see him go.
  std::vector<uint16_t> now_gone;
  for (uint16_t other_id : me.in_view) {
    auto other = players_.find(other_id);
    if (other == players_.end()) continue;
    if (Visible(me.view, other->second.view)) {
      Push(other->second, packet, flushes);
    } else {
      now_gone.push_back(other_id);
    }
  }
  if (!now_gone.empty()) {
    const std::vector<uint8_t> gone_packet = BuildScopeRemove({id});
    for (uint16_t other_id : now_gone) {
      Player& other = players_.find(other_id)->second;  // found just above
      me.in_view.erase(other_id);
      other.in_view.erase(id);
      Push(other, gone_packet, flushes);
    }
  }
  // Those near his new tile who did not see him: he comes into their view.
  std::vector<uint16_t> now_seen_ids;
  grid_.ForEachInRange(x, y, view_range_, [&](uint16_t other_id) {
    if (other_id != id && !me.in_view.contains(other_id)) {
      now_seen_ids.push_back(other_id);
    }
  });
  std::vector<ScopeEntry> now_seen;
  if (!now_seen_ids.empty()) {
    // Built once, shared by everyone he comes into view of.
    const std::vector<uint8_t> added_packet = BuildScopeAdd({me.view});
    now_seen.reserve(now_seen_ids.size());
    for (uint16_t other_id : now_seen_ids) {
      Player& other = players_.find(other_id)->second;  // the grid's are
      me.in_view.insert(other_id);
      other.in_view.insert(id);
      Push(other, added_packet, flushes);
      now_seen.push_back(other.view);
    }
  }
  PushRemoves(me, now_gone, flushes);
  PushAdds(me, now_seen, flushes);
  Push(me, packet, flushes);
  return true;
}

bool GameMap::Turn(uint16_t id, uint8_t rotation,
                   absl::Span<const uint8_t> packet) {
  Flushes flushes(deliverer_);
  MutexLock lock(&mu_);
  auto it = players_.find(id);
  if (it == players_.end()) return false;
  it->second.view.rotation = rotation;
  for (uint16_t other_id : it->second.in_view) {
    auto other = players_.find(other_id);
    if (other != players_.end()) Push(other->second, packet, flushes);
  }
  return true;
}

size_t GameMap::SendToView(uint16_t id, absl::Span<const uint8_t> packet,
                           bool include_self) {
  Flushes flushes(deliverer_);
  MutexLock lock(&mu_);
  auto it = players_.find(id);
  if (it == players_.end()) return 0;
  size_t delivered = 0;
  auto push = [&](Player& to) {
    if (Push(to, packet, flushes)) ++delivered;
  };
  for (uint16_t other_id : it->second.in_view) {
    auto other = players_.find(other_id);
    if (other != players_.end()) push(other->second);
  }
  if (include_self) push(it->second);
  return delivered;
}

size_t GameMap::players() const {
  MutexLock lock(&mu_);
  return players_.size();
}

std::vector<uint16_t> GameMap::InView(uint16_t id) const {
  MutexLock lock(&mu_);
  std::vector<uint16_t> out;
  auto it = players_.find(id);
  if (it == players_.end()) return out;
  out.assign(it->second.in_view.begin(), it->second.in_view.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace muwarden::game
