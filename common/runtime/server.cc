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
      known_(config_.known, clock),
      pool_(config_.pool),
      ban_writer_({config_.bans.path, config_.guard.max_tracked_ips}, bans_,
                  clock),
      admission_(
          bans_, guard_,
          [this](PendingBan ban) { ban_writer_.Queue(std::move(ban)); },
          &known_, &registry_),
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
  if (!config_.bans.path.empty()) {
    LogLoaded("loaded", *loaded);
    DropExpiredBans(loaded->expired);
  }
  auto known = known_.Load();
  if (!known.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "known file ", config_.known.path, ": ", known.status().message()));
  }
  if (!config_.known.path.empty()) {
    LogInfo("known", absl::StrCat("loaded ", known->entries, " known blocks from ",
                                  config_.known.path, " (", known->expired,
                                  " expired, ", known->bad_lines,
                                  " bad lines skipped)"));
  }
  if (absl::Status status = acceptor_.Listen(); !status.ok()) return status;
  started_ = true;
  ban_writer_.Start();
  known_saver_ = std::thread([this] {
    MutexLock lock(&saver_mu_);
    while (!saver_stop_) {
      saver_cv_.WaitWithTimeout(&saver_mu_, absl::Seconds(5));
      if (saver_stop_) break;
      if (absl::Status st = known_.SaveIfDue(); !st.ok()) {
        LogWarn("known", std::string(st.message()));
      }
    }
  });
  acceptor_.Start();
  return absl::OkStatus();
}

void Server::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  acceptor_.Stop();
  registry_.ShutdownAll();
  pool_.Shutdown();
  ban_writer_.Stop();
  {
    MutexLock lock(&saver_mu_);
    saver_stop_ = true;
  }
  saver_cv_.SignalAll();
  if (known_saver_.joinable()) known_saver_.join();
  if (absl::Status st = known_.Save(); !st.ok()) {
    LogWarn("known", std::string(st.message()));
  }
}

void Server::DropExpiredBans(size_t expired) {
  if (expired == 0) return;
  // SPEC: expired entries are dropped from the file when it is next rewritten.
  // The rewrite re-reads the file under the advisory lock, so an edit made
  // since the load is kept.
  absl::Status status = bans_.Rewrite();
  if (status.ok()) {
    LogInfo("bans", absl::StrCat("dropped ", expired, " expired entries from ",
                                 config_.bans.path));
  } else {
    LogWarn("bans", absl::StrCat("could not rewrite ", config_.bans.path, ": ",
                                 status.message()));
  }
}

void Server::LogLoaded(absl::string_view verb, const guard::BanLoadResult& r) {
  for (const auto& w : r.warnings) {
    LogWarn("bans", absl::StrCat(config_.bans.path, ":", w.line_number,
                                 ": skipped: ", w.why));
  }
  if (r.more_warnings > 0) {
    LogWarn("bans", absl::StrCat(config_.bans.path, ": skipped ",
                                 r.more_warnings, " more bad lines"));
  }
  if (r.over_cap > 0) {
    LogWarn("bans",
            absl::StrCat(config_.bans.path, ": ", r.over_cap,
                         " bans left out: the list holds at most ",
                         config_.bans.max_entries,
                         " and keeps the ones that end last"));
  }
  LogInfo("bans", absl::StrCat(verb, " ", r.entries, " entries from ",
                               config_.bans.path.empty() ? "(no ban file)"
                                                         : config_.bans.path));
}

void Server::ReloadBans() {
  auto loaded = bans_.Reload();
  if (!loaded.ok()) {
    LogError("bans", absl::StrCat("reload of ", config_.bans.path,
                                  " failed, keeping the current list: ",
                                  loaded.status().message()));
    return;
  }
  LogLoaded("reloaded", *loaded);
  DropExpiredBans(loaded->expired);
}

void Server::OnAccept(net::UniqueFd fd, const sockaddr_storage& addr) {
  std::optional<Admitted> admitted = admission_.Admit(std::move(fd), addr);
  if (!admitted.has_value()) return;
  // The handshake deadline counts from here.
  const absl::Time now = clock_.Now();
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  // The registry holds the ticket from here on: its pending slot goes back
  // when the handshake completes, the rest when the connection is removed.
  RegisteredConnection entry;
  entry.id = id;
  entry.fd = admitted->fd.get();
  entry.peer = admitted->peer;
  entry.prefix = guard_.PrefixKeyOf(admitted->peer);
  entry.accepted_at = now;
  entry.known = admitted->known;
  entry.protect = admitted->ticket.allowlisted();
  entry.ticket = std::move(admitted->ticket);
  registry_.Add(std::move(entry));
  auto handoff = std::make_shared<Admitted>(*std::move(admitted));
  bool submitted = pool_.Submit([this, handoff, now, id](Arena& arena) {
    RunConnection(std::move(*handoff), now, arena, id);
  });
  if (!submitted) {
    handoff->ticket = registry_.Remove(id);
    counters_.worker_unavailable.fetch_add(1, std::memory_order_relaxed);
    admission_.RefuseUnserved(std::move(*handoff),
                              "no worker thread available");
  }
}

void Server::RunConnection(Admitted admitted, absl::Time accepted_at,
                           Arena& arena, uint64_t id) {
  counters_.connections_served.fetch_add(1, std::memory_order_relaxed);
  if (stopping_.load(std::memory_order_relaxed)) {
    admitted.ticket = registry_.Remove(id);
    return;
  }
  const guard::IpAddress peer = admitted.peer;
  {
    TcpConnection connection(std::move(admitted.fd), peer, accepted_at,
                             config_.connection, arena, clock_, poller_,
                             counters_, id);
    connection.SetHooks({
        [this, id] { registry_.MarkActive(id); },
        [this, id] { registry_.MarkProtected(id); },
        [this, peer] { known_.Record(peer); },
    });
    std::unique_ptr<Session> session = factory_(connection);
    connection.Run(*session);
    session.reset();
    // Eviction, Kick and Stop shut down the sockets they find registered:
    // unregister before the connection's destructor closes this one, so they
    // never touch a descriptor number reused elsewhere.
    admitted.ticket = registry_.Remove(id);
  }
  // `admitted.ticket` is released when this returns: after the socket is
  // closed, on every path.
}

}  // namespace muwarden::runtime
