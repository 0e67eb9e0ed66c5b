#include "common/db/ban_sync.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/db/cluster_config.h"

namespace muwarden::db {
namespace {

constexpr char kChannel[] = "muwarden_bans";
constexpr pg::Statement kInsert{
    "ban_insert",
    "INSERT INTO bans (cidr, until, reason, origin, unban) "
    "VALUES ($1, $2, $3, $4, $5)"};
constexpr pg::Statement kNotify{"ban_notify",
                                "SELECT pg_notify('muwarden_bans', $1)"};
// Rows after the last seen id: unbans, and bans still in force (until 0 =
// permanent); the last column says whether the row is inside the last $3 ms
// (kLate will see it again).
constexpr pg::Statement kAfter{
    "ban_after",
    "SELECT id, cidr, until, reason, origin, unban, created_at > now() - "
    "$3::bigint * interval '1 millisecond' FROM bans WHERE id > $1 "
    "AND (unban OR until = 0 OR until > $2) ORDER BY id LIMIT 10000"};
// Rows of the last $1 ms up to the last seen id (the late ones among them
// are applied).
constexpr pg::Statement kLate{
    "ban_late",
    "SELECT id, cidr, until, reason, origin, unban FROM bans WHERE "
    "created_at > now() - $1::bigint * interval '1 millisecond' AND id <= $2 "
    "AND (unban OR until = 0 OR until > $3) ORDER BY id"};
// A visit: the newer of the two is kept, and the row is stamped again so
// every listener reads it.
constexpr pg::Statement kVisit{
    "known_visit",
    "INSERT INTO known_blocks (block, last_visit) VALUES ($1, $2) "
    "ON CONFLICT (block) DO UPDATE SET last_visit = "
    "greatest(known_blocks.last_visit, excluded.last_visit), "
    "seq = nextval('known_blocks_seq'), updated_at = now()"};
constexpr pg::Statement kKnownAfter{
    "known_after",
    "SELECT seq, block, last_visit FROM known_blocks WHERE seq > $1 AND "
    "last_visit > $2 ORDER BY seq LIMIT 10000"};
// Re-read for the same reason as kLate; merging a visit twice is harmless.
constexpr pg::Statement kKnownLate{
    "known_late",
    "SELECT seq, block, last_visit FROM known_blocks WHERE updated_at > "
    "now() - $1::bigint * interval '1 millisecond' AND seq <= $2"};
constexpr int kBatch = 10000;

}  // namespace

std::string ProcessOrigin(absl::string_view name) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(name, "/", host, "/", getpid(), "/",
                      absl::ToUnixNanos(absl::Now()));
}

absl::StatusOr<std::unique_ptr<BanSync>> StartBanSync(
    const ClusterConfig& cluster, absl::string_view server_name,
    guard::BanList& bans, guard::KnownBlocks* known) {
  BanSyncConfig config;
  config.db = cluster.Connection();
  config.origin = ProcessOrigin(server_name);
  return BanSync::Start(std::move(config), bans, known);
}

BanSync::BanSync(BanSyncConfig config, guard::BanList& bans,
                 guard::KnownBlocks* known)
    : config_(std::move(config)),
      bans_(bans),
      known_(known),
      publish_conn_(config_.db),
      listen_conn_(config_.db) {}

absl::StatusOr<std::unique_ptr<BanSync>> BanSync::Start(
    BanSyncConfig config, guard::BanList& bans, guard::KnownBlocks* known) {
  std::unique_ptr<BanSync> s(new BanSync(std::move(config), bans, known));
  if (absl::Status st = s->listen_conn_.EnsureConnected(); !st.ok()) return st;
  if (absl::StatusOr<pg::Result> r = s->listen_conn_.ExecScript(
          absl::StrCat("LISTEN ", kChannel).c_str());
      !r.ok()) {
    return r.status();
  }
  if (absl::Status st = s->CatchUp(); !st.ok()) return st;
  BanSync* raw = s.get();
  bans.SetObserver([raw](const std::vector<guard::BanEntry>& entries) {
    raw->Publish(entries);
  });
  bans.SetUnbanObserver([raw](const guard::Cidr& cidr) { raw->PublishUnban(cidr); });
  if (known != nullptr) {
    known->SetObserver([raw](const guard::IpKey& key, absl::Time visit) {
      raw->PublishVisit(key, visit);
    });
  }
  s->publisher_ = std::thread([raw] { raw->PublishLoop(); });
  s->listener_ = std::thread([raw] { raw->ListenLoop(); });
  return s;
}

BanSync::~BanSync() {
  bans_.SetObserver(nullptr);
  bans_.SetUnbanObserver(nullptr);
  if (known_ != nullptr) known_->SetObserver(nullptr);
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (publisher_.joinable()) publisher_.join();
  if (listener_.joinable()) listener_.join();
}

bool BanSync::Stopping() {
  MutexLock lock(&mu_);
  return stop_;
}

void BanSync::Publish(const std::vector<guard::BanEntry>& entries) {
  MutexLock lock(&mu_);
  for (const guard::BanEntry& e : entries) {
    if (queue_.size() >= config_.max_queued) queue_.pop_front();
    queue_.push_back(Change{e, false});
  }
  cv_.Signal();
}

void BanSync::PublishUnban(const guard::Cidr& cidr) {
  MutexLock lock(&mu_);
  if (queue_.size() >= config_.max_queued) queue_.pop_front();
  guard::BanEntry e;
  e.cidr = cidr;
  queue_.push_back(Change{std::move(e), true});
  cv_.Signal();
}

void BanSync::PublishVisit(const guard::IpKey& key, absl::Time visit) {
  MutexLock lock(&mu_);
  if (visits_.size() >= config_.max_queued && !visits_.contains(key)) return;
  absl::Time& at = visits_[key];
  at = std::max(at, visit);
  cv_.Signal();
}

absl::Status BanSync::PublishBatch(
    std::vector<Change>& bans,
    std::vector<std::pair<guard::IpKey, absl::Time>>& visits, size_t* bans_done,
    size_t* visits_done) {
  for (const Change& c : bans) {
    const guard::BanEntry& e = c.entry;
    const int64_t until =
        e.until.has_value() ? absl::ToUnixSeconds(*e.until) : 0;
    absl::StatusOr<pg::Result> r = publish_conn_.Exec(
        kInsert, {e.cidr.ToString(), until, e.reason, config_.origin,
                  c.unban ? "true" : "false"});
    if (!r.ok()) return r.status();
    ++*bans_done;
  }
  for (const auto& [key, visit] : visits) {
    absl::StatusOr<pg::Result> r = publish_conn_.Exec(
        kVisit, {guard::KnownBlockText(key), absl::ToUnixSeconds(visit)});
    if (!r.ok()) return r.status();
    ++*visits_done;
  }
  return absl::OkStatus();
}

void BanSync::PublishLoop() {
  bool down = false;
  for (;;) {
    std::vector<Change> bans;
    std::vector<std::pair<guard::IpKey, absl::Time>> visits;
    {
      MutexLock lock(&mu_);
      // After a failure, wait a catch-up interval before trying again.
      cv_.WaitWithTimeout(&mu_, down ? config_.catch_up : absl::Seconds(1),
                          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                            return stop_ ||
                                   (!down && (!queue_.empty() || !visits_.empty()));
                          });
      if (stop_) return;
      while (!queue_.empty() && bans.size() < kBatch) {
        bans.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      while (!visits_.empty() && visits.size() < kBatch) {
        auto it = visits_.begin();
        visits.emplace_back(it->first, it->second);
        visits_.erase(it);
      }
    }
    if (bans.empty() && visits.empty()) {
      down = false;
      continue;
    }
    size_t bans_done = 0;
    size_t visits_done = 0;
    const absl::Status status =
        PublishBatch(bans, visits, &bans_done, &visits_done);
    if (bans_done + visits_done > 0) {
      published_.fetch_add(bans_done);
      visits_published_.fetch_add(visits_done);
      publish_conn_.Exec(kNotify, {config_.origin}).IgnoreError();
    }
    const bool was_down = down;
    down = !status.ok();
    if (was_down && !down) LogInfo("cluster", "ban publisher connected again");
    if (down) {
      // Once per outage; the retries are quiet.
      if (!was_down) {
        LogWarn("cluster", absl::StrCat("bans not shared yet: ", status.message()));
      }
      // Put back what was not written, ahead of what came since.
      MutexLock lock(&mu_);
      for (size_t i = bans.size(); i > bans_done; --i) {
        if (queue_.size() >= config_.max_queued) break;
        queue_.push_front(std::move(bans[i - 1]));
      }
      for (size_t i = visits_done; i < visits.size(); ++i) {
        absl::Time& at = visits_[visits[i].first];
        at = std::max(at, visits[i].second);
      }
    }
  }
}

void BanSync::ApplyBanRows(const PGresult* rows, const std::vector<int>* only) {
  std::vector<guard::BanEntry> adds;
  auto flush = [&] {
    if (adds.empty()) return;
    bans_.AddMany(adds, /*publish=*/false);
    received_.fetch_add(adds.size());
    adds.clear();
  };
  const int n = only != nullptr ? static_cast<int>(only->size()) : PQntuples(rows);
  for (int k = 0; k < n; ++k) {
    const int i = only != nullptr ? (*only)[static_cast<size_t>(k)] : k;
    if (pg::Text(rows, i, 4) == config_.origin) continue;
    absl::StatusOr<guard::Cidr> cidr = guard::ParseCidr(pg::Text(rows, i, 1));
    if (!cidr.ok()) continue;  // not written by muwarden: ignored
    if (pg::Text(rows, i, 5) == "t") {
      // In order: the bans before it first, then the unban.
      flush();
      const absl::Status st = bans_.Remove(*cidr, /*publish=*/false);
      if (st.ok() || !absl::IsNotFound(st)) received_.fetch_add(1);
      continue;
    }
    const int64_t until = pg::Int(rows, i, 2);
    guard::BanEntry e;
    e.cidr = *cidr;
    if (until != 0) e.until = absl::FromUnixSeconds(until);
    e.reason = pg::Text(rows, i, 3);
    adds.push_back(std::move(e));
  }
  flush();
}

absl::Status BanSync::CatchUpBans() {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const int64_t window_ms = absl::ToInt64Milliseconds(config_.late_window);
  // The rows applied now that kLate will return again: only those inside the
  // window, so a start that reads a million rows keeps a handful.
  absl::flat_hash_set<int64_t> seen;
  for (;;) {
    absl::StatusOr<pg::Result> r =
        listen_conn_.Exec(kAfter, {last_id_, now, window_ms});
    if (!r.ok()) return r.status();
    const int rows = PQntuples(r->get());
    for (int i = 0; i < rows; ++i) {
      const int64_t id = pg::Int(r->get(), i, 0);
      last_id_ = std::max(last_id_, id);
      if (pg::Text(r->get(), i, 6) == "t") seen.insert(id);
    }
    ApplyBanRows(r->get(), nullptr);
    if (rows < kBatch) break;
  }
  // The late rows: inside late_window, at or below the last id, and neither
  // seen now nor at the last look.
  absl::StatusOr<pg::Result> late =
      listen_conn_.Exec(kLate, {window_ms, last_id_, now});
  if (!late.ok()) return late.status();
  absl::flat_hash_set<int64_t> window;
  std::vector<int> fresh;
  for (int i = 0; i < PQntuples(late->get()); ++i) {
    const int64_t id = pg::Int(late->get(), i, 0);
    window.insert(id);
    if (!seen.contains(id) && !recent_ids_.contains(id)) fresh.push_back(i);
  }
  recent_ids_ = std::move(window);
  if (!fresh.empty()) ApplyBanRows(late->get(), &fresh);
  return absl::OkStatus();
}

absl::Status BanSync::CatchUpKnown() {
  if (known_ == nullptr) return absl::OkStatus();
  auto merge = [&](const PGresult* rows) {
    for (int i = 0; i < PQntuples(rows); ++i) {
      last_seq_ = std::max(last_seq_, pg::Int(rows, i, 0));
      absl::StatusOr<guard::IpKey> key = guard::ParseKnownBlock(pg::Text(rows, i, 1));
      if (!key.ok()) continue;
      known_->Merge(*key, absl::FromUnixSeconds(pg::Int(rows, i, 2)));
      visits_received_.fetch_add(1);
    }
  };
  const int64_t since = absl::ToUnixSeconds(absl::Now() - known_->keep());
  for (;;) {
    absl::StatusOr<pg::Result> r = listen_conn_.Exec(kKnownAfter, {last_seq_, since});
    if (!r.ok()) return r.status();
    merge(r->get());
    if (PQntuples(r->get()) < kBatch) break;
  }
  absl::StatusOr<pg::Result> late = listen_conn_.Exec(
      kKnownLate, {absl::ToInt64Milliseconds(config_.late_window), last_seq_});
  if (!late.ok()) return late.status();
  merge(late->get());
  return absl::OkStatus();
}

absl::Status BanSync::CatchUp() {
  if (absl::Status s = CatchUpBans(); !s.ok()) return s;
  return CatchUpKnown();
}

void BanSync::ListenLoop() {
  absl::Time last_catch_up = absl::Now();
  bool down = false;
  while (!Stopping()) {
    if (!listen_conn_.connected()) {
      absl::Status s = listen_conn_.EnsureConnected();
      if (s.ok()) {
        absl::StatusOr<pg::Result> r =
            listen_conn_.ExecScript(absl::StrCat("LISTEN ", kChannel).c_str());
        s = r.status();
      }
      // What was banned while the connection was gone, by id.
      if (s.ok()) s = CatchUp();
      last_catch_up = absl::Now();
      if (!s.ok()) {
        if (!down) LogWarn("cluster", absl::StrCat("ban listener: ", s.message()));
        down = true;
        MutexLock lock(&mu_);
        cv_.WaitWithTimeout(&mu_, config_.catch_up,
                            [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                              return stop_;
                            });
        continue;
      }
      if (down) LogInfo("cluster", "ban listener connected again");
      down = false;
    }
    pollfd pfd{PQsocket(listen_conn_.raw()), POLLIN, 0};
    poll(&pfd, 1, 100);  // short: Stopping() is checked between waits
    bool notified = false;
    if (PQconsumeInput(listen_conn_.raw()) == 0) {
      listen_conn_.Drop();
      continue;
    }
    while (PGnotify* n = PQnotifies(listen_conn_.raw())) {
      notified = true;
      PQfreemem(n);
    }
    if (notified || absl::Now() - last_catch_up >= config_.catch_up) {
      CatchUp().IgnoreError();  // a broken connection is seen next turn
      last_catch_up = absl::Now();
    }
  }
}

}  // namespace muwarden::db
