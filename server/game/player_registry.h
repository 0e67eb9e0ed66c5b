// PlayerRegistry: the GameServer's logged-in players (account key -> name and
// outbound queue), capped at max_players, beside what every login consults:
// the login throttle, the account store and the Server's ban list. Broadcasts
// push to each player's bounded queue, which never blocks, so a stalled client
// cannot stall the sender. Thread-safe: the players are under one mutex (queue
// pushes nest inside it, never the reverse); the throttle, the store and the
// ban list lock themselves.
#ifndef MUWARDEN_SERVER_GAME_PLAYER_REGISTRY_H_
#define MUWARDEN_SERVER_GAME_PLAYER_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/guard/ban_list.h"
#include "common/guard/ip_address.h"
#include "common/guard/known_blocks.h"
#include "common/runtime/outbound_queue.h"
#include "server/game/account/account_store.h"
#include "server/game/cluster_presence.h"
#include "server/game/game_config.h"
#include "server/game/login_throttle.h"
#include "server/game/world.h"

namespace muwarden::game {

// One counter per outcome, named for what it counts. Bumped by workers.
struct GameCounters {
  std::atomic<uint64_t> logins_ok{0};
  std::atomic<uint64_t> logins_failed{0};             // answered 0, 2 or 8
  std::atomic<uint64_t> logins_locked{0};             // 14 from the throttle
  std::atomic<uint64_t> logins_blocked{0};            // 5, or 14 from the store
  std::atomic<uint64_t> logins_wrong_client{0};       // 6
  std::atomic<uint64_t> logins_server_full{0};        // 4
  std::atomic<uint64_t> logins_already_connected{0};  // 3
  std::atomic<uint64_t> logins_unavailable{0};        // 7
  std::atomic<uint64_t> logins_check_timeout{0};  // 7: no check in time
  std::atomic<uint64_t> logins_prefix_locked{0};  // 14 from a prefix lock
  std::atomic<uint64_t> logins_known_block{0};    // a lock spared a known block
  std::atomic<uint64_t> prefixes_locked{0};
  std::atomic<uint64_t> logins_while_banned{0};  // closed without an answer
  std::atomic<uint64_t> ip_bans{0};
  std::atomic<uint64_t> accounts_locked{0};
  std::atomic<uint64_t> chat_delivered{0};  // pushes into other queues
  std::atomic<uint64_t> chat_rate_dropped{0};
  std::atomic<uint64_t> whisper_delivered{0};
  std::atomic<uint64_t> whisper_rate_dropped{0};
  std::atomic<uint64_t> whisper_no_receiver{0};
  std::atomic<uint64_t> chat_truncated{0};
  std::atomic<uint64_t> queue_full_drops{0};  // a push refused by a full queue
  std::atomic<uint64_t> frames_ignored{0};    // known framing, unknown code
  std::atomic<uint64_t> characters_created{0};
  std::atomic<uint64_t> characters_create_refused{0};
  std::atomic<uint64_t> characters_deleted{0};
  std::atomic<uint64_t> characters_delete_refused{0};
  std::atomic<uint64_t> world_entered{0};
  std::atomic<uint64_t> walks{0};
  std::atomic<uint64_t> walks_put_back{0};  // answered 15: too far, long, off
  std::atomic<uint64_t> world_requests_ignored{0};  // valid, not allowed now
  std::atomic<uint64_t> position_save_errors{0};
};

// What the login checks share with the connection guard's settings (SPEC
// section 4a): how blocks group into prefixes ([ratelimit] prefix_v4 /
// prefix_v6) and how long a block stays known ([security] known_days).
struct LoginGrouping {
  PrefixLengths prefixes;
  absl::Duration known_for = absl::Hours(24 * 30);
};

class PlayerRegistry {
 public:
  // `accounts` and `clock` must outlive the registry.
  PlayerRegistry(GameConfig config, AccountStore& accounts, Clock& clock,
                 LoginGrouping grouping = {});
  PlayerRegistry(const PlayerRegistry&) = delete;
  PlayerRegistry& operator=(const PlayerRegistry&) = delete;

  // The Server's ban list, set by main after the Server is constructed and
  // before it starts (the Server takes the session factory in its
  // constructor). Until then, and in tests that pass nullptr, no IP is banned
  // here.
  void SetBanList(guard::BanList* bans);
  // The Server's known blocks, set with the ban list: a prefix ban spares
  // them at login as Layer 1 does (SPEC 4a). nullptr = none known.
  void SetKnownBlocks(const guard::KnownBlocks* known);
  // With a shared database (SPEC section 11) every login also claims the
  // account's lease there (answer 3 when another server holds it, 7 when the
  // database does not answer). RequirePresence is called before the Server
  // exists, SetPresence once it listens; logins in between answer 7.
  void RequirePresence() { presence_required_.store(true); }
  void SetPresence(ClusterPresence* presence) { presence_.store(presence); }
  // The account keys logged in now (the leases to renew).
  std::vector<std::string> HeldKeys() const ABSL_LOCKS_EXCLUDED(mu_);

  const GameConfig& config() const { return config_; }
  AccountStore& accounts() { return accounts_; }
  LoginThrottle& throttle() { return throttle_; }
  // The password checks of logins, one queue per prefix.
  HashGate& login_gate() { return login_gate_; }
  const LoginGrouping& grouping() const { return grouping_; }
  Clock& clock() { return clock_; }
  GameCounters& counters() { return counters_; }
  World& world() { return world_; }
  const GameCounters& counters() const { return counters_; }

  // Whether the login packet's version and serial are in the accepted lists.
  bool AcceptsClient(absl::string_view version, absl::string_view serial) const;

  // Whether `ip` is inside a ban in force (a connection accepted before its
  // IP was banned must not keep guessing); a prefix ban does not count for a
  // known block.
  bool IsBanned(const guard::IpAddress& ip) const;
  // Bans `ip` (IPv6: its /64, the unit the throttle counts) for
  // config().ip_ban_duration through the ban list, durably (fsync) before it
  // returns, so the caller logs afterwards. Returns how the ban reads in a
  // log line ("until 2026-...Z", "permanent"), or the error text when the
  // ban is in memory only. Must not be called from the accept thread.
  std::string BanIp(const guard::IpAddress& ip, absl::string_view reason);

  // A logged-in player's place in the registry. Move-only; leaving the
  // registry (and freeing the max_players slot) happens exactly once, on
  // destruction.
  class PlayerSlot {
   public:
    PlayerSlot() = default;
    PlayerSlot(PlayerSlot&& other) noexcept;
    PlayerSlot& operator=(PlayerSlot&& other) noexcept;
    PlayerSlot(const PlayerSlot&) = delete;
    PlayerSlot& operator=(const PlayerSlot&) = delete;
    ~PlayerSlot();

    bool held() const { return registry_ != nullptr; }
    // The name other players see (the account's spelling).
    const std::string& name() const { return name_; }
    const std::string& key() const { return key_; }
    void Release();

   private:
    friend class PlayerRegistry;
    PlayerSlot(PlayerRegistry* registry, std::string key, std::string name)
        : registry_(registry), key_(std::move(key)), name_(std::move(name)) {}
    PlayerRegistry* registry_ = nullptr;
    std::string key_;
    std::string name_;
  };

  // Registers a player whose login succeeded. kAlreadyExists: the account is
  // logged in on another connection or, with a shared database, another
  // server (answer 3); kResourceExhausted: max_players are logged in (answer
  // 4); kUnavailable: the shared database did not answer (answer 7).
  absl::StatusOr<PlayerSlot> Enter(
      absl::string_view name, std::shared_ptr<runtime::OutboundQueue> queue)
      ABSL_LOCKS_EXCLUDED(mu_);

  bool Full() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t players() const ABSL_LOCKS_EXCLUDED(mu_);

  // Pushes `packet` to every logged-in player except `from`; returns how many
  // queues took it (a full queue drops it, and its owner is disconnected once
  // it stays full for write_timeout).
  size_t Broadcast(const PlayerSlot& from, absl::Span<const uint8_t> packet)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Pushes `packet` to the player named `name` (ASCII case-insensitive).
  // False when nobody of that name is logged in or the queue refused it.
  bool SendTo(absl::string_view name, absl::Span<const uint8_t> packet)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Player {
    std::string name;
    std::shared_ptr<runtime::OutboundQueue> queue;
  };

  void Leave(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  const GameConfig config_;
  AccountStore& accounts_;
  Clock& clock_;
  const LoginGrouping grouping_;
  LoginThrottle throttle_;
  HashGate login_gate_;
  GameCounters counters_;
  World world_;
  std::atomic<guard::BanList*> bans_{nullptr};
  std::atomic<const guard::KnownBlocks*> known_{nullptr};
  std::atomic<ClusterPresence*> presence_{nullptr};
  std::atomic<bool> presence_required_{false};

  mutable Mutex mu_;
  // Bounded by max_players: Enter refuses beyond it.
  absl::flat_hash_map<std::string, Player> players_ ABSL_GUARDED_BY(mu_);
};

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_PLAYER_REGISTRY_H_
