#include "common/runtime/server.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace muwarden::runtime {

Server::Server(ServerConfig config, SessionFactory factory, Clock& clock)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      clock_(clock),
      poller_(clock),
      guard_(config_.guard, clock),
      bans_(config_.bans, clock),
      pool_(config_.pool),
      ban_writer_({config_.bans.path, config_.guard.max_tracked_ips}, bans_,
                  clock),
      admission_(bans_, guard_,
                 [this](PendingBan ban) { ban_writer_.Queue(std::move(ban)); }),
      acceptor_(
          {config_.bind, config_.port, config_.backlog},
          [this](net::UniqueFd fd, const sockaddr_storage& addr) {
            OnAccept(std::move(fd), addr);
          },
          [this](net::UniqueFd fd, const sockaddr_storage& addr) {
            admission_.RefuseOverflow(std::move(fd), addr);
          }) {}

Server::~Server() { Stop(); }

absl::Status Server::Start() {
  auto loaded = bans_.Load();
  if (!loaded.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "ban file ", config_.bans.path, ": ", loaded.status().message()));
  }
  for (const auto& w : loaded->warnings) {
    LogWarn("bans", absl::StrCat(config_.bans.path, ":", w.line_number,
                                 ": skipped: ", w.why));
  }
  if (!config_.bans.path.empty()) {
    LogInfo("bans", absl::StrCat("loaded ", loaded->entries, " entries from ",
                                 config_.bans.path));
    DropExpiredBans(loaded->expired);
  }
  if (absl::Status status = acceptor_.Listen(); !status.ok()) return status;
  started_ = true;
  ban_writer_.Start();
  acceptor_.Start();
  return absl::OkStatus();
}

void Server::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  acceptor_.Stop();
  {
    MutexLock lock(&live_mu_);
    for (const auto& [id, live] : live_fds_) ::shutdown(live.fd, SHUT_RDWR);
  }
  pool_.Shutdown();
  ban_writer_.Stop();
}

int Server::Kick(const guard::Cidr& block) {
  int kicked = 0;
  MutexLock lock(&live_mu_);
  for (const auto& [id, live] : live_fds_) {
    if (!guard::Contains(block, live.peer)) continue;
    ::shutdown(live.fd, SHUT_RDWR);
    ++kicked;
  }
  return kicked;
}

void Server::DropExpiredBans(size_t expired) {
  if (expired == 0) return;
  // SPEC: expired entries are dropped from the file when it is next rewritten;
  // doing it right after a load cannot lose an operator's edit.
  absl::Status status = bans_.Rewrite();
  if (status.ok()) {
    LogInfo("bans", absl::StrCat("dropped ", expired, " expired entries from ",
                                 config_.bans.path));
  } else {
    LogWarn("bans", absl::StrCat("could not rewrite ", config_.bans.path, ": ",
                                 status.message()));
  }
}

void Server::ReloadBans() {
  auto loaded = bans_.Reload();
  if (!loaded.ok()) {
    LogError("bans", absl::StrCat("reload of ", config_.bans.path,
                                  " failed, keeping the current list: ",
                                  loaded.status().message()));
    return;
  }
  for (const auto& w : loaded->warnings) {
    LogWarn("bans", absl::StrCat(config_.bans.path, ":", w.line_number,
                                 ": skipped: ", w.why));
  }
  LogInfo("bans", absl::StrCat("reloaded ", loaded->entries, " entries from ",
                               config_.bans.path.empty() ? "(no ban file)"
                                                         : config_.bans.path));
  DropExpiredBans(loaded->expired);
}

void Server::OnAccept(net::UniqueFd fd, const sockaddr_storage& addr) {
  std::optional<Admitted> admitted = admission_.Admit(std::move(fd), addr);
  if (!admitted.has_value()) return;
  // The handshake deadline counts from here.
  const absl::Time now = clock_.Now();
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&live_mu_);
    live_fds_[id] = {admitted->fd.get(), admitted->peer};
  }
  auto handoff = std::make_shared<Admitted>(*std::move(admitted));
  bool submitted = pool_.Submit([this, handoff, now, id](Arena& arena) {
    RunConnection(std::move(*handoff), now, arena, id);
  });
  if (!submitted) {
    {
      MutexLock lock(&live_mu_);
      live_fds_.erase(id);
    }
    counters_.worker_unavailable.fetch_add(1, std::memory_order_relaxed);
    admission_.RefuseUnserved(std::move(*handoff),
                              "no worker thread available");
  }
}

void Server::RunConnection(Admitted admitted, absl::Time accepted_at,
                           Arena& arena, uint64_t id) {
  counters_.connections_served.fetch_add(1, std::memory_order_relaxed);
  auto unregister = [this, id] {
    MutexLock lock(&live_mu_);
    live_fds_.erase(id);
  };
  if (stopping_.load(std::memory_order_relaxed)) {
    unregister();
    return;
  }
  TcpConnection connection(std::move(admitted.fd), admitted.peer, accepted_at,
                           config_.connection, arena, clock_, poller_,
                           counters_, id);
  std::unique_ptr<Session> session = factory_(connection);
  connection.Run(*session);
  session.reset();
  // Stop() shuts down the sockets it finds registered: unregister before the
  // connection's destructor closes this one, so it never touches a descriptor
  // number reused elsewhere.
  unregister();
  // `admitted.ticket` is released when this returns: after the socket is
  // closed, on every path.
}

}  // namespace muwarden::runtime
