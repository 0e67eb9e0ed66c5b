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
    "INSERT INTO bans (cidr, until, reason, origin) VALUES ($1, $2, $3, $4)"};
constexpr pg::Statement kNotify{"ban_notify",
                                "SELECT pg_notify('muwarden_bans', $1)"};
// Rows after the last seen id, still in force (until 0 = permanent).
constexpr pg::Statement kAfter{
    "ban_after",
    "SELECT id, cidr, until, reason, origin FROM bans WHERE id > $1 AND "
    "(until = 0 OR until > $2) ORDER BY id LIMIT 10000"};
constexpr pg::Statement kLastId{"ban_last_id",
                                "SELECT coalesce(max(id), 0) FROM bans"};
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
    guard::BanList& bans) {
  BanSyncConfig config;
  config.db = cluster.Connection();
  config.origin = ProcessOrigin(server_name);
  return BanSync::Start(std::move(config), bans);
}

BanSync::BanSync(BanSyncConfig config, guard::BanList& bans)
    : config_(std::move(config)),
      bans_(bans),
      publish_conn_(config_.db),
      listen_conn_(config_.db) {}

absl::StatusOr<std::unique_ptr<BanSync>> BanSync::Start(BanSyncConfig config,
                                                        guard::BanList& bans) {
  std::unique_ptr<BanSync> s(new BanSync(std::move(config), bans));
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
  s->publisher_ = std::thread([raw] { raw->PublishLoop(); });
  s->listener_ = std::thread([raw] { raw->ListenLoop(); });
  return s;
}

BanSync::~BanSync() {
  bans_.SetObserver(nullptr);
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
    queue_.push_back(e);
  }
  cv_.Signal();
}

void BanSync::PublishLoop() {
  bool down = false;
  for (;;) {
    std::vector<guard::BanEntry> batch;
    {
      MutexLock lock(&mu_);
      // After a failure, wait a catch-up interval before trying again.
      cv_.WaitWithTimeout(&mu_, down ? config_.catch_up : absl::Seconds(1),
                          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                            return stop_ || (!down && !queue_.empty());
                          });
      if (stop_) return;
      while (!queue_.empty() && batch.size() < kBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) {
      down = false;
      continue;
    }
    size_t done = 0;
    absl::Status status;
    for (const guard::BanEntry& e : batch) {
      const int64_t until =
          e.until.has_value() ? absl::ToUnixSeconds(*e.until) : 0;
      absl::StatusOr<pg::Result> r = publish_conn_.Exec(
          kInsert, {e.cidr.ToString(), until, e.reason, config_.origin});
      if (!r.ok()) {
        status = r.status();
        break;
      }
      ++done;
    }
    if (done > 0) {
      published_.fetch_add(done);
      publish_conn_.Exec(kNotify, {config_.origin}).IgnoreError();
    }
    down = !status.ok();
    if (down) {
      LogWarn("cluster", absl::StrCat("ban not shared yet: ", status.message()));
      // Put back what was not written, ahead of what came since.
      MutexLock lock(&mu_);
      for (size_t i = batch.size(); i > done; --i) {
        if (queue_.size() >= config_.max_queued) break;
        queue_.push_front(std::move(batch[i - 1]));
      }
    }
  }
}

absl::Status BanSync::CatchUp() {
  for (;;) {
    absl::StatusOr<pg::Result> r = listen_conn_.Exec(
        kAfter, {last_id_, absl::ToUnixSeconds(absl::Now())});
    if (!r.ok()) return r.status();
    const int rows = PQntuples(r->get());
    std::vector<guard::BanEntry> entries;
    for (int i = 0; i < rows; ++i) {
      last_id_ = std::max(last_id_, pg::Int(r->get(), i, 0));
      if (pg::Text(r->get(), i, 4) == config_.origin) continue;
      absl::StatusOr<guard::Cidr> cidr = guard::ParseCidr(pg::Text(r->get(), i, 1));
      if (!cidr.ok()) continue;  // not written by muwarden: ignored
      const int64_t until = pg::Int(r->get(), i, 2);
      guard::BanEntry e;
      e.cidr = *cidr;
      if (until != 0) e.until = absl::FromUnixSeconds(until);
      e.reason = pg::Text(r->get(), i, 3);
      entries.push_back(std::move(e));
    }
    if (!entries.empty()) {
      bans_.AddMany(entries, /*publish=*/false);
      received_.fetch_add(entries.size());
    }
    if (rows < kBatch) return absl::OkStatus();
  }
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
