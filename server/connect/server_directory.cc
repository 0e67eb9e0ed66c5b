#include "server/connect/server_directory.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/db/pg_schema.h"

namespace muwarden::connect {
namespace {

constexpr pg::Statement kLive{
    "cs_live",
    "SELECT server_id, host, port, players, max_players FROM servers "
    "WHERE seen_at > now() - $1 * interval '1 millisecond' ORDER BY server_id"};

}  // namespace

ServerDirectory::ServerDirectory(std::vector<GameServerEntry> fixed)
    : fixed_(std::move(fixed)),
      list_(std::make_shared<const std::vector<GameServerEntry>>(fixed_)) {}

ServerDirectory::ServerDirectory(std::vector<GameServerEntry> fixed,
                                 const db::ClusterConfig& cluster)
    : fixed_(std::move(fixed)),
      cluster_(cluster),
      conn_(std::make_unique<pg::Connection>(cluster.Connection())),
      list_(std::make_shared<const std::vector<GameServerEntry>>(fixed_)) {}

absl::StatusOr<std::unique_ptr<ServerDirectory>> ServerDirectory::Start(
    std::vector<GameServerEntry> fixed, const db::ClusterConfig& cluster) {
  std::unique_ptr<ServerDirectory> d(
      new ServerDirectory(std::move(fixed), cluster));
  if (absl::Status s = d->conn_->EnsureConnected(); !s.ok()) return s;
  // The table must exist even before the first GameServer starts.
  if (absl::Status s = pg::MigrateSchema(*d->conn_); !s.ok()) return s;
  if (absl::Status s = d->RefreshOnce(); !s.ok()) return s;
  d->thread_ = std::thread([raw = d.get()] { raw->Loop(); });
  return d;
}

ServerDirectory::~ServerDirectory() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

ServerList ServerDirectory::Snapshot() const {
  MutexLock lock(&mu_);
  return list_;
}

absl::Status ServerDirectory::RefreshOnce() {
  if (conn_ == nullptr) return absl::OkStatus();
  absl::StatusOr<pg::Result> r = conn_->Exec(
      kLive, {absl::ToInt64Milliseconds(cluster_.heartbeat_timeout)});
  if (!r.ok()) {
    // The last list read stays while its rows would still be live.
    if (absl::Now() - last_read_ > cluster_.heartbeat_timeout) {
      MutexLock lock(&mu_);
      list_ = std::make_shared<const std::vector<GameServerEntry>>(fixed_);
    }
    return r.status();
  }
  last_read_ = absl::Now();
  auto list = std::make_shared<std::vector<GameServerEntry>>(fixed_);
  absl::flat_hash_set<int> ids;
  for (const GameServerEntry& e : fixed_) ids.insert(e.id);
  const int rows = PQntuples(r->get());
  for (int i = 0; i < rows; ++i) {
    GameServerEntry e;
    e.id = static_cast<int>(pg::Int(r->get(), i, 0));
    if (ids.contains(e.id)) continue;
    e.section_index = e.id;
    e.name = absl::StrCat("Server ", e.id);
    e.host = pg::Text(r->get(), i, 1).substr(0, 15);
    e.port = static_cast<int>(pg::Int(r->get(), i, 2));
    const int64_t players = pg::Int(r->get(), i, 3);
    const int64_t max = pg::Int(r->get(), i, 4);
    e.load = max > 0 ? static_cast<int>(
                           std::clamp<int64_t>(players * 100 / max, 0, 100))
                     : 100;
    list->push_back(std::move(e));
  }
  MutexLock lock(&mu_);
  list_ = std::move(list);
  return absl::OkStatus();
}

void ServerDirectory::Loop() {
  bool down = false;
  for (;;) {
    {
      MutexLock lock(&mu_);
      // Half the interval: a row written just after a read is listed within
      // one heartbeat_interval.
      cv_.WaitWithTimeout(&mu_, cluster_.heartbeat_interval / 2,
                          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                            return stop_;
                          });
      if (stop_) return;
    }
    absl::Status s = RefreshOnce();
    if (!s.ok() && !down) {
      LogWarn("cluster", absl::StrCat("server list read failed: ", s.message()));
    } else if (s.ok() && down) {
      LogInfo("cluster", "server list readable again");
    }
    down = !s.ok();
  }
}

}  // namespace muwarden::connect
