#include "common/runtime/server.h"

#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"

namespace muwarden::runtime {

// Owned by one thread at a time: the accept thread, the waiter, a worker.
// Every path ends in RunConnection or EndUnrun, which end the session and
// unregister the socket before it is closed; the ticket, declared first, goes
// last, so the Layer-1 slots are given back after the socket is closed.
struct Server::Pending final : ParkedSocket {
  guard::AdmitTicket ticket;
  uint64_t id = 0;
  std::unique_ptr<TcpConnection> connection;
  std::unique_ptr<Session> session;

  int fd() const override { return connection->fd(); }
};

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
      waiter_(
          {static_cast<size_t>(std::max(config_.guard.max_clients, 1)),
           config_.connection.handshake.timeout},
          clock,
          [this](std::unique_ptr<ParkedSocket> parked) {
            OnFirstByte(std::move(parked));
          },
          [this](std::unique_ptr<ParkedSocket> parked) {
            OnParkedExpired(std::move(parked));
          }),
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
  if (config_.park_silent) {
    if (absl::Status status = waiter_.Init(); !status.ok()) {
      // Still correct without it: every connection then waits on a worker.
      LogWarn("net", absl::StrCat("pending sockets will hold a thread each: ",
                                  status.message()));
    } else {
      waiter_.Start();
    }
  }
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
  // After the accept thread, so nothing is parked behind the waiter's back;
  // before the workers, so a socket the waiter hands over meanwhile is still
  // shut down below.
  for (auto& parked : waiter_.Stop()) {
    EndUnrun(std::unique_ptr<Pending>(static_cast<Pending*>(parked.release())));
  }
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
  auto pending = std::make_unique<Pending>();
  pending->id = next_id_.fetch_add(1, std::memory_order_relaxed);
  // The registry holds the ticket until the connection ends: its pending slot
  // goes back when the handshake completes, the rest once the socket is
  // closed (Unregister hands the ticket back to `pending`, which goes last).
  RegisteredConnection entry;
  entry.id = pending->id;
  entry.fd = admitted->fd.get();
  entry.peer = admitted->peer;
  entry.prefix = guard_.PrefixKeyOf(admitted->peer);
  entry.accepted_at = now;
  entry.known = admitted->known;
  entry.protect = admitted->ticket.allowlisted();
  entry.ticket = std::move(admitted->ticket);
  registry_.Add(std::move(entry));
  const guard::IpAddress peer = admitted->peer;
  pending->connection = std::make_unique<TcpConnection>(
      std::move(admitted->fd), admitted->peer, now, config_.connection, clock_,
      poller_, counters_, pending->id);
  const uint64_t id = pending->id;
  pending->connection->SetHooks({
      [this, id] { registry_.MarkActive(id); },
      [this, id] { registry_.MarkProtected(id); },
      [this, peer] { known_.Record(peer); },
  });
  counters_.connections_served.fetch_add(1, std::memory_order_relaxed);
  if (!config_.park_silent) {
    HandOff(std::move(pending));
    return;
  }
  // The hello goes out here, before the socket waits: a client sends nothing
  // until it has it, so the bytes and their order on the wire are what a
  // worker would have sent. OnOpen needs no arena (the arena is the worker's,
  // taken at the first byte) and its sends never wait: a fresh socket's
  // buffer takes a hello whole; anything left over sends the connection to a
  // worker at once, which finishes it within write_timeout. So the accept
  // thread never blocks on a peer.
  pending->session = factory_(*pending->connection);
  if (pending->connection->Open(*pending->session).has_value()) {
    EndUnrun(std::move(pending));
    return;
  }
  if (pending->connection->has_unsent()) {
    HandOff(std::move(pending));
    return;
  }
  std::unique_ptr<ParkedSocket> refused = waiter_.Park(
      std::move(pending), now + config_.connection.handshake.timeout);
  if (refused != nullptr) {
    // Not started, stopping, or the kernel refused the registration: a worker
    // waits instead, as it always could.
    HandOff(std::unique_ptr<Pending>(static_cast<Pending*>(refused.release())));
  }
}

void Server::OnFirstByte(std::unique_ptr<ParkedSocket> parked) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(parked.release()));
  // A peer that hung up (or a socket shut down for an eviction, a kick or
  // Stop) ends here, with no thread woken for it.
  if (pending->connection->CheckFirstByte().has_value()) {
    EndUnrun(std::move(pending));
    return;
  }
  HandOff(std::move(pending));
}

void Server::OnParkedExpired(std::unique_ptr<ParkedSocket> parked) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(parked.release()));
  pending->connection->ExpireHandshake();
  EndUnrun(std::move(pending));
}

void Server::HandOff(std::unique_ptr<Pending> pending) {
  // WorkerPool jobs are std::function, which must be copyable.
  auto shared = std::shared_ptr<Pending>(std::move(pending));
  bool submitted = pool_.Submit(
      [this, shared](Arena& arena) { RunConnection(*shared, arena); });
  if (submitted) return;
  counters_.worker_unavailable.fetch_add(1, std::memory_order_relaxed);
  Pending& p = *shared;
  if (p.session != nullptr) {
    p.connection->EndUnrun(*p.session);
    p.session.reset();
  }
  p.ticket = Unregister(p.id);
  const guard::IpAddress peer = p.connection->peer();
  admission_.RefuseUnserved(
      Admitted{p.connection->ReleaseFd(), peer, std::move(p.ticket)},
      "no worker thread available");
}

void Server::RunConnection(Pending& pending, Arena& arena) {
  if (stopping_.load(std::memory_order_relaxed)) {
    if (pending.session != nullptr)
      pending.connection->EndUnrun(*pending.session);
    pending.session.reset();
    pending.ticket = Unregister(pending.id);
    pending.connection.reset();
    return;
  }
  pending.connection->Attach(arena);
  if (pending.session == nullptr) {
    pending.session = factory_(*pending.connection);
  }
  pending.connection->Run(*pending.session);
  pending.session.reset();
  // Eviction, Kick and Stop shut down the sockets they find registered:
  // unregister before the connection's destructor closes this one, so they
  // never touch a descriptor number reused elsewhere.
  pending.ticket = Unregister(pending.id);
  pending.connection.reset();
  // The ticket is released when the job (and with it `pending`) is destroyed:
  // after the socket is closed, on every path, before the worker is idle.
}

void Server::EndUnrun(std::unique_ptr<Pending> pending) {
  if (pending->session != nullptr) {
    pending->connection->EndUnrun(*pending->session);
    pending->session.reset();
  }
  pending->ticket = Unregister(pending->id);
  pending->connection.reset();
  // `pending` goes, and with it the Layer-1 slots.
}

guard::AdmitTicket Server::Unregister(uint64_t id) {
  return registry_.Remove(id);
}

}  // namespace muwarden::runtime
