#include "common/runtime/connection_registry.h"

#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <utility>

namespace muwarden::runtime {
namespace {

[[noreturn]] void Die(const char* message) {
  std::fprintf(stderr, "ConnectionRegistry: %s\n", message);
  std::abort();
}

}  // namespace

void ConnectionRegistry::AddSlots(const guard::IpKey& prefix, int delta) {
  PrefixSlots& p = prefixes_[prefix];
  if (p.slots > 0) ranks_.erase(Rank{p.slots, prefix.family, prefix.bits});
  p.slots += delta;
  if (p.slots < 0) Die("prefix slots below zero");
  if (p.slots > 0) {
    ranks_.insert(Rank{p.slots, prefix.family, prefix.bits});
    return;
  }
  for (const auto& row : p.evictable) {
    for (const auto& set : row) {
      if (!set.empty()) return;  // evicted entries still to be removed
    }
  }
  prefixes_.erase(prefix);
}

void ConnectionRegistry::Index(const Entry& e) {
  if (!Evictable(e)) return;
  prefixes_[e.c.prefix].evictable[e.pending ? 1 : 0][e.c.known ? 1 : 0].insert(
      e.c.id);
}

void ConnectionRegistry::Unindex(const Entry& e) {
  auto it = prefixes_.find(e.c.prefix);
  if (it == prefixes_.end()) return;
  it->second.evictable[e.pending ? 1 : 0][e.c.known ? 1 : 0].erase(e.c.id);
}

void ConnectionRegistry::Add(RegisteredConnection connection) {
  auto entry = std::make_unique<Entry>();
  entry->pending = connection.ticket.pending();
  entry->c = std::move(connection);
  MutexLock lock(&mu_);
  Entry& e = *entry;
  if (!entries_.emplace(e.c.id, std::move(entry)).second) {
    Die("connection id registered twice");
  }
  if (e.pending) ++pending_;
  AddSlots(e.c.prefix, 1);
  Index(e);
}

guard::AdmitTicket ConnectionRegistry::Remove(uint64_t id) {
  MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return {};
  Entry& e = *it->second;
  Unindex(e);
  if (e.pending) --pending_;
  if (!e.evicted) {
    AddSlots(e.c.prefix, -1);
  } else if (auto p = prefixes_.find(e.c.prefix);
             p != prefixes_.end() && p->second.slots == 0) {
    AddSlots(e.c.prefix, 0);  // drops the prefix once nothing is left
  }
  guard::AdmitTicket ticket = std::move(e.c.ticket);
  entries_.erase(it);
  return ticket;
}

void ConnectionRegistry::MarkActive(uint64_t id) {
  MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  // Gives the pending slot back in the guard too (it locks its own mutex,
  // which never waits for this one).
  e.c.ticket.MarkHandshakeComplete();
  if (!e.pending) return;
  Unindex(e);
  e.pending = false;
  --pending_;
  Index(e);
}

void ConnectionRegistry::MarkProtected(uint64_t id) {
  MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Unindex(*it->second);
  it->second->c.protect = true;
}

std::optional<uint64_t> ConnectionRegistry::Oldest(const PrefixSlots& p,
                                                   bool known,
                                                   bool pending_only) const {
  const int k = known ? 1 : 0;
  const std::set<uint64_t>& pending = p.evictable[1][k];
  const std::set<uint64_t>& active = p.evictable[0][k];
  std::optional<uint64_t> best;
  if (!pending.empty()) best = *pending.begin();
  if (!pending_only && !active.empty() &&
      (!best.has_value() || *active.begin() < *best)) {
    best = *active.begin();
  }
  return best;
}

std::optional<Eviction> ConnectionRegistry::EvictFor(const guard::IpKey& prefix,
                                                     bool arrival_known,
                                                     bool pending_only) {
  MutexLock lock(&mu_);
  int own = 0;
  if (auto it = prefixes_.find(prefix); it != prefixes_.end()) {
    own = it->second.slots;
  }
  // From the prefix holding the most slots down; prefixes whose connections
  // are all protected are passed over. Among prefixes holding as many slots,
  // the oldest candidate goes, looking at no more than kTieScan of them.
  constexpr int kTieScan = 64;
  auto rank = ranks_.rbegin();
  while (rank != ranks_.rend()) {
    const int slots = std::get<0>(*rank);
    if (slots <= own) break;
    std::optional<uint64_t> victim;
    for (int scanned = 0; rank != ranks_.rend() &&
                          std::get<0>(*rank) == slots;
         ++rank, ++scanned) {
      if (scanned >= kTieScan && victim.has_value()) break;
      const PrefixSlots& p =
          prefixes_.at(guard::IpKey{std::get<1>(*rank), std::get<2>(*rank)});
      std::optional<uint64_t> candidate =
          Oldest(p, /*known=*/false, pending_only);
      if (!candidate.has_value() && arrival_known) {
        candidate = Oldest(p, /*known=*/true, pending_only);
      }
      if (candidate.has_value() && (!victim.has_value() || *candidate < *victim)) {
        victim = candidate;
      }
    }
    if (!victim.has_value()) continue;
    Entry& e = *entries_.at(*victim);
    Unindex(e);
    e.evicted = true;
    ++evicted_;
    // The victim's slot is on its way back: it stops counting for its prefix
    // now, so the next arrival looks at the prefix as it will be.
    AddSlots(e.c.prefix, -1);
    ::shutdown(e.c.fd, SHUT_RDWR);
    return Eviction{e.c.id, e.c.peer};
  }
  return std::nullopt;
}

int ConnectionRegistry::Kick(const guard::Cidr& block) {
  MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, e] : entries_) {
    if (guard::Contains(block, e->c.peer)) {
      ::shutdown(e->c.fd, SHUT_RDWR);
      ++n;
    }
  }
  return n;
}

void ConnectionRegistry::ShutdownAll() {
  MutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) ::shutdown(e->c.fd, SHUT_RDWR);
}

size_t ConnectionRegistry::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

size_t ConnectionRegistry::pending() const {
  MutexLock lock(&mu_);
  return pending_;
}

uint64_t ConnectionRegistry::evicted() const {
  MutexLock lock(&mu_);
  return evicted_;
}

int ConnectionRegistry::SlotsOf(const guard::IpKey& prefix) const {
  MutexLock lock(&mu_);
  auto it = prefixes_.find(prefix);
  return it == prefixes_.end() ? 0 : it->second.slots;
}

}  // namespace muwarden::runtime
