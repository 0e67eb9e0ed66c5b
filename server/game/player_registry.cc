#include "server/game/player_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/runtime/ban_writer.h"

namespace muwarden::game {
namespace {

// The IPv6 unit the throttle counts failures against; banning only the one
// address would let the same host come back from its next address.
constexpr int kIpv6BanPrefix = 64;

bool Contains(const std::vector<std::string>& list, absl::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

PlayerRegistry::PlayerRegistry(GameConfig config, AccountStore& accounts,
                               Clock& clock, LoginGrouping grouping)
    : config_(std::move(config)),
      accounts_(accounts),
      clock_(clock),
      grouping_(grouping),
      throttle_(config_.throttle, grouping_.prefixes),
      login_gate_(config_.login_gate, clock),
      world_(config_.world) {}

void PlayerRegistry::SetBanList(guard::BanList* bans) { bans_.store(bans); }

bool PlayerRegistry::AcceptsClient(absl::string_view version,
                                   absl::string_view serial) const {
  return Contains(config_.accepted_versions, version) &&
         Contains(config_.accepted_serials, serial);
}

void PlayerRegistry::SetKnownBlocks(const guard::KnownBlocks* known) {
  known_.store(known);
}

bool PlayerRegistry::IsBanned(const guard::IpAddress& ip) const {
  guard::BanList* bans = bans_.load();
  if (bans == nullptr) return false;
  const guard::BanCheck check = bans->Check(ip);
  if (!check.banned) return false;
  const guard::KnownBlocks* known = known_.load();
  return check.reason != runtime::kPrefixAutobanReason || known == nullptr ||
         !known->IsKnown(ip);
}

std::string PlayerRegistry::BanIp(const guard::IpAddress& ip,
                                  absl::string_view reason) {
  guard::BanList* bans = bans_.load();
  if (bans == nullptr) return "not banned: no ban list";
  counters_.ip_bans.fetch_add(1, std::memory_order_relaxed);
  guard::Cidr cidr = guard::HostCidr(ip);
  if (ip.family == guard::IpFamily::kV6) {
    cidr = guard::Cidr{guard::Masked(ip, kIpv6BanPrefix), kIpv6BanPrefix};
  }
  std::optional<absl::Time> until;
  if (config_.ip_ban_duration > absl::ZeroDuration()) {
    until = clock_.WallNow() + config_.ip_ban_duration;
  }
  absl::Status status = bans->Add(cidr, until, reason);
  std::string text =
      until.has_value()
          ? absl::StrCat("banned ", cidr.ToString(), " until ",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until,
                                          absl::UTCTimeZone()))
          : absl::StrCat("banned ", cidr.ToString(), " permanently");
  if (!status.ok()) {
    absl::StrAppend(&text, ", in memory only: ", status.message());
  }
  return text;
}

PlayerRegistry::PlayerSlot::PlayerSlot(PlayerSlot&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)),
      key_(std::move(other.key_)),
      name_(std::move(other.name_)) {}

PlayerRegistry::PlayerSlot& PlayerRegistry::PlayerSlot::operator=(
    PlayerSlot&& other) noexcept {
  if (this != &other) {
    Release();
    registry_ = std::exchange(other.registry_, nullptr);
    key_ = std::move(other.key_);
    name_ = std::move(other.name_);
  }
  return *this;
}

PlayerRegistry::PlayerSlot::~PlayerSlot() { Release(); }

void PlayerRegistry::PlayerSlot::Release() {
  if (registry_ == nullptr) return;
  std::exchange(registry_, nullptr)->Leave(key_);
}

absl::StatusOr<PlayerRegistry::PlayerSlot> PlayerRegistry::Enter(
    absl::string_view name, std::shared_ptr<runtime::OutboundQueue> queue) {
  std::string key = AccountKey(name);
  {
    MutexLock lock(&mu_);
    if (players_.contains(key)) {
      return absl::AlreadyExistsError("account already logged in");
    }
    if (players_.size() >=
        static_cast<size_t>(std::max(config_.max_players, 0))) {
      return absl::ResourceExhaustedError("max_players reached");
    }
    // Reserved before the lease is claimed (outside mu_: a database round
    // trip), so a second login here meets it.
    players_.emplace(key, Player{std::string(name), std::move(queue)});
  }
  absl::Status claimed = absl::OkStatus();
  if (ClusterPresence* presence = presence_.load(); presence != nullptr) {
    claimed = presence->Claim(key);
  } else if (presence_required_.load()) {
    claimed = absl::UnavailableError("cluster presence not started yet");
  }
  if (!claimed.ok()) {
    MutexLock lock(&mu_);
    players_.erase(key);
    return claimed;
  }
  return PlayerSlot(this, std::move(key), std::string(name));
}

void PlayerRegistry::Leave(const std::string& key) {
  // The lease first: until it is gone this server still counts the player,
  // so a quick login again here meets the reservation, not a half-freed
  // lease.
  if (ClusterPresence* presence = presence_.load(); presence != nullptr) {
    presence->Release(key);
  }
  MutexLock lock(&mu_);
  players_.erase(key);
}

std::vector<std::string> PlayerRegistry::HeldKeys() const {
  MutexLock lock(&mu_);
  std::vector<std::string> keys;
  keys.reserve(players_.size());
  for (const auto& [key, player] : players_) keys.push_back(key);
  return keys;
}

bool PlayerRegistry::Full() const {
  MutexLock lock(&mu_);
  return players_.size() >=
         static_cast<size_t>(std::max(config_.max_players, 0));
}

size_t PlayerRegistry::players() const {
  MutexLock lock(&mu_);
  return players_.size();
}

size_t PlayerRegistry::Broadcast(const PlayerSlot& from,
                                 absl::Span<const uint8_t> packet) {
  size_t delivered = 0;
  size_t dropped = 0;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, player] : players_) {
      if (key == from.key()) continue;
      if (player.queue != nullptr && player.queue->Push(packet)) {
        ++delivered;
      } else {
        ++dropped;
      }
    }
  }
  counters_.chat_delivered.fetch_add(delivered, std::memory_order_relaxed);
  counters_.queue_full_drops.fetch_add(dropped, std::memory_order_relaxed);
  return delivered;
}

bool PlayerRegistry::SendTo(absl::string_view name,
                            absl::Span<const uint8_t> packet) {
  const std::string key = AccountKey(name);
  bool found = false;
  bool pushed = false;
  {
    MutexLock lock(&mu_);
    auto it = players_.find(key);
    if (it != players_.end()) {
      found = true;
      pushed = it->second.queue != nullptr && it->second.queue->Push(packet);
    }
  }
  if (!found) {
    counters_.whisper_no_receiver.fetch_add(1, std::memory_order_relaxed);
  } else if (pushed) {
    counters_.whisper_delivered.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.queue_full_drops.fetch_add(1, std::memory_order_relaxed);
  }
  return pushed;
}

}  // namespace muwarden::game
