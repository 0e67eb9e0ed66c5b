#include "server/game/cluster_presence.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace muwarden::game {
namespace {

// Durations go to SQL as milliseconds: now() + $n * interval '1 ms'.
constexpr pg::Statement kClear{
    "cl_clear", "DELETE FROM sessions WHERE server_id = $1"};
constexpr pg::Statement kClaim{
    "cl_claim",
    "INSERT INTO sessions (account_key, server_id, expires_at) "
    "VALUES ($1, $2, now() + $3 * interval '1 millisecond') "
    "ON CONFLICT (account_key) DO UPDATE SET server_id = excluded.server_id, "
    "expires_at = excluded.expires_at "
    "WHERE sessions.expires_at < now() OR sessions.server_id = "
    "excluded.server_id RETURNING server_id"};
constexpr pg::Statement kRelease{
    "cl_release",
    "DELETE FROM sessions WHERE account_key = $1 AND server_id = $2"};
constexpr pg::Statement kRenew{
    "cl_renew",
    "UPDATE sessions SET expires_at = now() + $3 * interval '1 millisecond' "
    "WHERE server_id = $1 AND account_key = ANY ($2::text[])"};
constexpr pg::Statement kHeartbeat{
    "cl_heartbeat",
    "INSERT INTO servers (server_id, host, port, players, max_players, "
    "seen_at) VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (server_id) DO "
    "UPDATE SET host = excluded.host, port = excluded.port, players = "
    "excluded.players, max_players = excluded.max_players, seen_at = now()"};
constexpr pg::Statement kLeave{
    "cl_leave", "DELETE FROM servers WHERE server_id = $1"};

// Claims and releases come from login workers; two connections let one wait
// on the other's round trip without queueing behind a renew.
constexpr int kPoolSize = 2;

}  // namespace

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

ClusterPresence::ClusterPresence(PresenceConfig config, HeldKeys held)
    : config_(std::move(config)),
      held_(std::move(held)),
      pool_(config_.cluster.Connection(), kPoolSize),
      renew_conn_(config_.cluster.Connection()) {}

absl::StatusOr<std::unique_ptr<ClusterPresence>> ClusterPresence::Start(
    PresenceConfig config, HeldKeys held) {
  std::unique_ptr<ClusterPresence> p(
      new ClusterPresence(std::move(config), std::move(held)));
  absl::StatusOr<pg::Result> cleared =
      p->renew_conn_.Exec(kClear, {p->config_.cluster.server_id});
  if (!cleared.ok()) return cleared.status();
  if (absl::Status s = p->RenewOnce(); !s.ok()) return s;
  p->thread_ = std::thread([raw = p.get()] { raw->Loop(); });
  return p;
}

ClusterPresence::~ClusterPresence() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  // A clean stop leaves the list and frees the players at once.
  const int id = config_.cluster.server_id;
  if (renew_conn_.Exec(kClear, {id}).ok()) {
    renew_conn_.Exec(kLeave, {id}).IgnoreError();
  }
}

absl::Status ClusterPresence::Claim(absl::string_view key) {
  absl::StatusOr<pg::Pool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<pg::Result> r = (*conn)->Exec(
      kClaim, {key, config_.cluster.server_id,
               absl::ToInt64Milliseconds(config_.cluster.heartbeat_timeout)});
  if (!r.ok()) {
    return absl::UnavailableError(
        absl::StrCat("session lease: ", r.status().message()));
  }
  if (PQntuples(r->get()) == 0) {
    return absl::AlreadyExistsError("account online on another server");
  }
  return absl::OkStatus();
}

void ClusterPresence::Release(absl::string_view key) {
  absl::StatusOr<pg::Pool::Lease> conn = pool_.Acquire();
  if (!conn.ok()) return;
  (*conn)->Exec(kRelease, {key, config_.cluster.server_id}).IgnoreError();
}

absl::Status ClusterPresence::RenewOnce() {
  const std::vector<std::string> keys = held_ ? held_() : std::vector<std::string>{};
  const int id = config_.cluster.server_id;
  const int64_t timeout_ms =
      absl::ToInt64Milliseconds(config_.cluster.heartbeat_timeout);
  absl::Status status;
  if (!keys.empty()) {
    absl::StatusOr<pg::Result> r =
        renew_conn_.Exec(kRenew, {id, TextArray(keys), timeout_ms});
    if (r.ok()) {
      leases_renewed_.fetch_add(static_cast<uint64_t>(pg::Affected(r->get())));
    }
    status = r.status();
  }
  if (status.ok()) {
    absl::StatusOr<pg::Result> r = renew_conn_.Exec(
        kHeartbeat, {id, config_.host, config_.port,
                     static_cast<int64_t>(keys.size()), config_.max_players});
    status = r.status();
  }
  if (status.ok()) {
    renew_rounds_.fetch_add(1);
    if (db_down_.exchange(false)) LogInfo("cluster", "database reachable again");
  } else if (!db_down_.exchange(true)) {
    LogWarn("cluster", absl::StrCat("heartbeat failed: ", status.message()));
  }
  return status;
}

void ClusterPresence::Loop() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      cv_.WaitWithTimeout(&mu_, config_.cluster.heartbeat_interval,
                          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                            return stop_;
                          });
      if (stop_) return;
    }
    RenewOnce().IgnoreError();
  }
}

}  // namespace muwarden::game
