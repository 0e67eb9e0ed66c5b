// IpTable<V>: a per-IP state table bounded by max_tracked_ips.
// A hash map from IpKey to nodes on an intrusive least-recently-touched list;
// when full, the stalest evictable entry is reused, and entries found not
// evictable are parked on a side list until touched again, so eviction is O(1)
// amortized and a table full of pinned entries refuses in O(1). Not
// thread-safe; the owner locks.
#ifndef MUWARDEN_COMMON_GUARD_IP_TABLE_H_
#define MUWARDEN_COMMON_GUARD_IP_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/guard/ip_address.h"

namespace muwarden::guard {

struct IpTableConfig {
  size_t max_tracked_ips = 65536;
};

namespace internal {

// Circular doubly linked list through a sentinel; O(1) everything.
struct LruLink {
  LruLink* prev = this;
  LruLink* next = this;
};

class LruList {
 public:
  LruList() = default;
  LruList(const LruList&) = delete;
  LruList& operator=(const LruList&) = delete;

  bool empty() const { return head_.next == &head_; }
  LruLink* back() { return empty() ? nullptr : head_.prev; }
  void PushFront(LruLink* link);
  static void Unlink(LruLink* link);

 private:
  LruLink head_;
};

}  // namespace internal

// V must provide `bool Evictable() const` (e.g. false while it has live
// connections). The table consults it only when it needs room. Contract: after
// a change that can make an entry evictable again (its last connection closed),
// the owner calls Touch(key) or FindOrInsert(key), otherwise the entry stays
// parked and keeps its place until touched. Values have stable addresses until
// they are evicted or erased.
template <typename V>
class IpTable {
 public:
  explicit IpTable(const IpTableConfig& config) : config_(config) {}
  IpTable(const IpTable&) = delete;
  IpTable& operator=(const IpTable&) = delete;

  // The entry for key, touched. A new entry is built as V(args...); when the
  // table is full the least recently touched evictable entry makes room.
  // nullptr when the table is full and no entry is evictable (refuse rather
  // than grow).
  template <typename... Args>
  V* FindOrInsert(const IpKey& key, absl::Time now, Args&&... args) {
    if (auto it = map_.find(key); it != map_.end()) {
      Node* node = it->second.get();
      MoveToFront(node, now);
      return &*node->value;
    }
    std::unique_ptr<Node> node;
    if (map_.size() >= config_.max_tracked_ips) {
      node = EvictOne();
      if (node == nullptr) return nullptr;
    } else {
      node = std::make_unique<Node>();
    }
    node->key = key;
    node->value.emplace(std::forward<Args>(args)...);
    Node* raw = node.get();
    map_.emplace(key, std::move(node));
    raw->last_touch = now;
    lru_.PushFront(raw);
    return &*raw->value;
  }

  // Lookup without touching.
  V* Find(const IpKey& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &*it->second->value;
  }

  // Marks the entry as just used and un-parks it. False if absent.
  bool Touch(const IpKey& key, absl::Time now) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    MoveToFront(it->second.get(), now);
    return true;
  }

  // The time of the last FindOrInsert/Touch of key, if present.
  std::optional<absl::Time> LastTouched(const IpKey& key) const {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second->last_touch;
  }

  bool Erase(const IpKey& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    internal::LruList::Unlink(it->second.get());
    map_.erase(it);
    return true;
  }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return config_.max_tracked_ips; }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Node : internal::LruLink {
    IpKey key;
    absl::Time last_touch;
    std::optional<V> value;
  };

  void MoveToFront(Node* node, absl::Time now) {
    internal::LruList::Unlink(node);
    node->last_touch = now;
    lru_.PushFront(node);
  }

  // Takes the stalest evictable node out of the table, or nullptr. Each
  // non-evictable node met on the way is parked, so it is looked at again only
  // after it is touched: O(1) amortized per touch.
  std::unique_ptr<Node> EvictOne() {
    while (internal::LruLink* link = lru_.back()) {
      Node* node = static_cast<Node*>(link);
      internal::LruList::Unlink(node);
      if (!node->value->Evictable()) {
        parked_.PushFront(node);
        continue;
      }
      auto it = map_.find(node->key);
      std::unique_ptr<Node> owned = std::move(it->second);
      map_.erase(it);
      owned->value.reset();
      ++evictions_;
      return owned;
    }
    return nullptr;
  }

  IpTableConfig config_;
  absl::flat_hash_map<IpKey, std::unique_ptr<Node>> map_;
  internal::LruList lru_;     // front = most recently touched
  internal::LruList parked_;  // found not evictable; waits for a touch
  uint64_t evictions_ = 0;
};

}  // namespace muwarden::guard

#endif  // MUWARDEN_COMMON_GUARD_IP_TABLE_H_
