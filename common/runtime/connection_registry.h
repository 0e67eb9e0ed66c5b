// ConnectionRegistry: every live connection of a Server (id, fd, peer, block,
// prefix, accept time, pending/active/protected, known) and the eviction of
// SPEC 4a. Each prefix keeps its evictable connections in ordered sets (by id,
// which is accept order), split by state (pending, active) and known; the
// prefixes are ordered by the slots they hold, so a victim is found from the
// top prefix down without scanning connections. A victim, a kicked or a
// stopped connection is closed with shutdown(fd) only: whoever owns the socket
// (a worker, a waiter) notices and cleans up, so the registry never assumes
// where a socket lives. The owner calls Remove before it closes the fd, so a
// shutdown never hits a reused descriptor. Thread-safe.
#ifndef MUWARDEN_COMMON_RUNTIME_CONNECTION_REGISTRY_H_
#define MUWARDEN_COMMON_RUNTIME_CONNECTION_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"
#include "common/guard/conn_guard.h"
#include "common/guard/ip_address.h"

namespace muwarden::runtime {

struct RegisteredConnection {
  uint64_t id = 0;
  int fd = -1;
  guard::IpAddress peer;
  guard::IpKey prefix;
  absl::Time accepted_at;
  bool known = false;
  // Allowlisted peers are protected from the start.
  bool protect = false;
  guard::AdmitTicket ticket;  // pending() until the handshake completes
};

// A connection chosen to make room, already shut down.
struct Eviction {
  uint64_t id = 0;
  guard::IpAddress peer;
};

class ConnectionRegistry {
 public:
  ConnectionRegistry() = default;
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;

  // Registers a new (pending unless its ticket is not) connection. Ids must
  // grow with accept order.
  void Add(RegisteredConnection connection) ABSL_LOCKS_EXCLUDED(mu_);
  // Unregisters id and hands back its ticket, for the caller to release after
  // it closed the socket. An empty ticket for an unknown id.
  guard::AdmitTicket Remove(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

  // The handshake of id completed: its pending slot goes back.
  void MarkActive(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  // id is a logged-in player: never evicted from now on.
  void MarkProtected(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

  // Picks and shuts down the victim for an arrival from `prefix` (SPEC 4a):
  // the oldest evictable connection (pending only when `pending_only`) of the
  // prefix holding the most slots among those that have one, unknown blocks
  // before known ones, known ones only for a known arrival. nullopt (nothing
  // closed) when the arrival's own prefix holds as many slots or more, or
  // nothing is evictable.
  std::optional<Eviction> EvictFor(const guard::IpKey& prefix,
                                   bool arrival_known, bool pending_only)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Shuts down every connection inside block; how many.
  int Kick(const guard::Cidr& block) ABSL_LOCKS_EXCLUDED(mu_);
  // Shuts down every connection (at stop).
  void ShutdownAll() ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t pending() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t evicted() const ABSL_LOCKS_EXCLUDED(mu_);
  // Slots held by prefix's connections (evicted ones not counted).
  int SlotsOf(const guard::IpKey& prefix) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    RegisteredConnection c;
    bool pending = true;
    bool evicted = false;
  };
  // Evictable connections of one prefix by accept order: [pending][known].
  struct PrefixSlots {
    int slots = 0;
    std::set<uint64_t> evictable[2][2];
  };
  using Rank = std::tuple<int, guard::IpFamily, uint64_t>;  // slots, prefix

  static bool Evictable(const Entry& e) { return !e.evicted && !e.c.protect; }
  void Index(const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unindex(const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddSlots(const guard::IpKey& prefix, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<uint64_t> Oldest(const PrefixSlots& p, bool known,
                                 bool pending_only) const;

  mutable Mutex mu_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Entry>> entries_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<guard::IpKey, PrefixSlots> prefixes_ ABSL_GUARDED_BY(mu_);
  std::set<Rank> ranks_ ABSL_GUARDED_BY(mu_);
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_CONNECTION_REGISTRY_H_
