#include "common/runtime/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/config/settings.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {
namespace {

// Accepts handled per wake-up before the stop pipe and summaries are looked at
// again.
constexpr int kAcceptBatch = 256;
// How long the accept loop waits before retrying when the kernel is out of
// memory or the spare descriptor could not be had back, so it never spins.
constexpr absl::Duration kAcceptBackoff = absl::Milliseconds(50);
// How often the ban writer rewrites the ban file to drop expired entries.
constexpr absl::Duration kBanCompactionInterval = absl::Hours(1);

// A refused socket gets a reset: no FIN handshake, no TIME_WAIT on our side
// under a flood.
void CloseWithReset(net::UniqueFd fd) {
  linger lg{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  fd.Reset();
}

guard::SecurityEvent EventFor(guard::RejectReason reason) {
  switch (reason) {
    case guard::RejectReason::kBanned:
      return guard::SecurityEvent::kBannedIp;
    case guard::RejectReason::kConnRate:
    case guard::RejectReason::kFloodAutoban:
      return guard::SecurityEvent::kConnRate;
    case guard::RejectReason::kMulticlient:
      return guard::SecurityEvent::kMulticlient;
    default:
      return guard::SecurityEvent::kServerFull;
  }
}

}  // namespace

absl::StatusOr<ServerConfig> ServerConfigFromSettings(
    const config::ServerSettings& s, const HandshakeConfig& handshake) {
  ServerConfig c;
  c.name = s.server.name;
  c.bind = s.server.bind;
  c.port = s.server.port;
  c.pool.stack_bytes = static_cast<size_t>(s.server.worker_stack_kib) * 1024;
  c.pool.arena_bytes = static_cast<size_t>(s.server.arena_kib) * 1024;
  // The guard caps live connections at max_clients; a worker goes back to the
  // pool a moment after its connection's slot is released, so a little headroom
  // keeps a connection admitted in that moment from finding no worker.
  c.pool.max_workers = static_cast<size_t>(s.server.max_clients) + 64;
  c.connection.read_timeout = s.server.read_timeout;
  c.connection.write_timeout = s.server.write_timeout;
  c.connection.max_frame_size = static_cast<size_t>(s.server.max_packet_size);
  c.connection.raw_packets = {s.ratelimit.raw_pkt_rate_limit,
                              s.ratelimit.raw_pkt_rate_window};
  c.connection.handshake = handshake;
  c.connection.handshake.timeout = s.server.handshake_timeout;
  c.connection.handshake.max_frame_size =
      std::min(handshake.max_frame_size, c.connection.max_frame_size);
  c.guard.conn_rate_limit = s.ratelimit.conn_rate_limit;
  c.guard.conn_rate_window = s.ratelimit.conn_rate_window;
  c.guard.flood_autoban = s.ratelimit.conn_flood_autoban;
  c.guard.flood_ban_threshold = s.ratelimit.flood_ban_threshold;
  c.guard.flood_ban_duration = s.ratelimit.flood_ban_duration;
  c.guard.multiclient_limit = s.server.multiclient_limit;
  c.guard.max_clients = s.server.max_clients;
  c.guard.max_tracked_ips = static_cast<size_t>(s.server.max_tracked_ips);
  auto allow = guard::CidrSet::Parse(s.security.allowlist);
  if (!allow.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("security.allowlist: ", allow.status().message()));
  }
  c.guard.allowlist = *std::move(allow);
  c.bans.path = s.security.ban_file;
  return c;
}

Server::Server(ServerConfig config, SessionFactory factory, Clock& clock)
    : config_(std::move(config)),
      factory_(std::move(factory)),
      clock_(clock),
      guard_(config_.guard, clock),
      bans_(config_.bans, clock),
      pool_(config_.pool) {}

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
  auto fd = net::Listen(config_.bind, config_.port, config_.backlog);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *std::move(fd);
  port_ = net::LocalPort(listen_fd_.get());
  reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (absl::Status status = net::SetBlocking(listen_fd_.get()); !status.ok()) {
    return status;
  }
  started_ = true;
  ban_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-bans");
    BanWriterLoop();
  });
  accept_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-accept");
    AcceptLoop();
  });
  return absl::OkStatus();
}

void Server::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  ::shutdown(listen_fd_.get(), SHUT_RD);  // wakes the blocking accept
  if (accept_thread_.joinable()) accept_thread_.join();
  listen_fd_.Reset();
  {
    MutexLock lock(&live_mu_);
    for (const auto& [id, fd] : live_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  pool_.Shutdown();
  {
    MutexLock lock(&ban_mu_);
    ban_stop_ = true;
    ban_cv_.Signal();
  }
  if (ban_thread_.joinable()) ban_thread_.join();
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

void Server::AcceptLoop() {
  // A blocking accept: one system call per connection and no poll round trip.
  // Stop() wakes it by shutting the listener down, which makes accept fail with
  // EINVAL.
  while (!stopping_.load(std::memory_order_relaxed)) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr),
                       &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Admit(net::UniqueFd(fd), addr);
      continue;
    }
    if (stopping_.load(std::memory_order_relaxed)) break;
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
        errno == EAGAIN || errno == EWOULDBLOCK) {
      continue;
    }
    accept_errors_.fetch_add(1, std::memory_order_relaxed);
    if (errno == EMFILE || errno == ENFILE) {
      HandleFdExhaustion();
      if (!reserve_fd_.valid()) absl::SleepFor(kAcceptBackoff);
      continue;
    }
    // ENOBUFS, ENOMEM and the like: the kernel is short; wait a little, do not
    // spin.
    LogWarn("net", absl::StrCat("accept: ", std::strerror(errno)));
    absl::SleepFor(kAcceptBackoff);
  }
}

void Server::HandleFdExhaustion() {
  fd_exhausted_.fetch_add(1, std::memory_order_relaxed);
  if (!reserve_fd_.valid()) {
    reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return;
  }
  // Give the spare descriptor up for a moment to take the pending connection
  // off the queue and refuse it; otherwise the listener stays readable and the
  // loop would spin.
  reserve_fd_.Reset();
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    guard_.CountRejected(guard::RejectReason::kServerFull);
    auto peer = guard::FromSockaddr(reinterpret_cast<const sockaddr*>(&addr));
    if (peer.ok()) {
      Reject(guard::RejectReason::kServerFull, net::UniqueFd(fd), *peer,
             "out of file descriptors");
    } else {
      CloseWithReset(net::UniqueFd(fd));
    }
  }
  reserve_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void Server::Reject(guard::RejectReason reason, net::UniqueFd fd,
                    const guard::IpAddress& ip, absl::string_view details) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  CloseWithReset(std::move(fd));
  // Raw bytes: the address is formatted only if the line is printed, not on
  // every refusal.
  guard::LogSecurity(EventFor(reason), ip, details);
}

void Server::Admit(net::UniqueFd fd, const sockaddr_storage& addr) {
  auto peer = guard::FromSockaddr(reinterpret_cast<const sockaddr*>(&addr));
  if (!peer.ok()) {
    CloseWithReset(std::move(fd));
    return;
  }
  // Layer 1, cheapest first; one reject path.
  if (bans_.Check(*peer).banned) {
    guard_.CountRejected(guard::RejectReason::kBanned);
    Reject(guard::RejectReason::kBanned, std::move(fd), *peer);
    return;
  }
  guard::AdmitResult result = guard_.Admit(*peer);
  if (result.reason == guard::RejectReason::kFloodAutoban) {
    // The rate was counted per IPv4 address or IPv6 /64 (what one client
    // controls), so the ban covers the same: an attacker rotating through its
    // /64 gets one ban, not millions.
    QueueBan({guard::ClientBlock(*peer), result.ban_duration, peer->ToString(),
              "flood autoban"});
  }
  if (!result.admitted()) {
    Reject(result.reason, std::move(fd), *peer,
           result.reason == guard::RejectReason::kTableFull
               ? "per-IP table full"
               : "");
    return;
  }
  // The handshake deadline counts from here.
  const absl::Time now = clock_.Now();
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const int raw_fd = fd.get();
  {
    MutexLock lock(&live_mu_);
    live_fds_[id] = raw_fd;
  }
  struct Handoff {
    net::UniqueFd fd;
    guard::IpAddress peer;
    guard::AdmitTicket ticket;
  };
  auto handoff = std::make_shared<Handoff>(
      Handoff{std::move(fd), *peer, std::move(result.ticket)});
  bool submitted = pool_.Submit([this, handoff, now, id](Arena& arena) {
    RunConnection(std::move(handoff->fd), handoff->peer, now,
                  std::move(handoff->ticket), arena, id);
  });
  if (!submitted) {
    {
      MutexLock lock(&live_mu_);
      live_fds_.erase(id);
    }
    counters_.worker_unavailable.fetch_add(1, std::memory_order_relaxed);
    handoff->ticket.Release();
    guard_.CountRejected(guard::RejectReason::kServerFull);
    Reject(guard::RejectReason::kServerFull, std::move(handoff->fd), *peer,
           "no worker thread available");
  }
}

void Server::RunConnection(net::UniqueFd fd, guard::IpAddress peer,
                           absl::Time accepted_at, guard::AdmitTicket ticket,
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
  ConnectionRunner runner(std::move(fd), peer, accepted_at, config_.connection,
                          arena, clock_, counters_, id);
  std::unique_ptr<Session> session = factory_(runner);
  runner.Run(*session);
  session.reset();
  // Stop() shuts down the sockets it finds registered: unregister before the
  // runner's destructor closes this one, so it never touches a descriptor
  // number reused elsewhere.
  unregister();
  // `ticket` is released when this returns: after the socket is closed, on
  // every path.
  (void)ticket;
}

void Server::QueueBan(PendingBan ban) {
  MutexLock lock(&ban_mu_);
  // Bounded like every per-IP table; past the cap the IP stays refused by the
  // rate limit (its refusals keep counting) and is banned once the writer has
  // caught up.
  if (pending_bans_.size() >= config_.guard.max_tracked_ips) return;
  if (!pending_blocks_.insert(ban.cidr.ToString()).second) return;
  pending_bans_.push_back(std::move(ban));
  ban_cv_.Signal();
}

void Server::BanWriterLoop() {
  absl::Time next_compaction = clock_.Now() + kBanCompactionInterval;
  while (true) {
    std::deque<PendingBan> batch;
    {
      MutexLock lock(&ban_mu_);
      if (!ban_stop_ && pending_bans_.empty()) {
        ban_cv_.WaitWithTimeout(&ban_mu_, absl::Seconds(1),
                                [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                  return ban_stop_ || !pending_bans_.empty();
                                });
      }
      if (pending_bans_.empty() && ban_stop_) return;
      batch.swap(pending_bans_);
    }
    // This thread wakes at least once a second: it prints the log summaries
    // whose minute is over, so the accept thread never has to.
    guard::SecurityLog::Get().FlushSummaries();
    for (PendingBan& ban : batch) {
      std::optional<absl::Time> until;
      if (ban.duration > absl::ZeroDuration() &&
          ban.duration != absl::InfiniteDuration()) {
        until = clock_.WallNow() + ban.duration;
      }
      absl::Status status = bans_.Add(ban.cidr, until, ban.reason);
      const std::string block = ban.cidr.ToString();
      {
        MutexLock lock(&ban_mu_);
        pending_blocks_.erase(block);
      }
      if (absl::IsResourceExhausted(status)) {
        LogError("bans",
                 absl::StrCat("not banning ", ban.ip, ": ", status.message()));
        continue;
      }
      if (!status.ok()) {
        LogError("bans", absl::StrCat("autoban of ", block,
                                      " applies in memory but is not durable: ",
                                      status.message()));
      }
      // SPEC: the ban is on disk (fsync'd by Add) before its line is printed.
      std::string details = block == ban.ip ? "" : absl::StrCat(block, ", ");
      absl::StrAppend(
          &details,
          until.has_value()
              ? absl::StrCat("until ",
                             absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *until,
                                              absl::UTCTimeZone()))
              : std::string("permanent"));
      guard::LogSecurity(guard::SecurityEvent::kAutoban,
                         guard::ParseIp(ban.ip).value(), details);
    }
    // Re-bans of the same blocks append lines; expired entries linger until a
    // rewrite. Keep the file proportional to the bans in force so it never
    // outgrows what a load accepts.
    const absl::Time now = clock_.Now();
    if (!config_.bans.path.empty() &&
        (bans_.file_lines() > 2 * bans_.size() + 1024 ||
         now >= next_compaction)) {
      next_compaction = now + kBanCompactionInterval;
      absl::Status status = bans_.Rewrite();
      if (!status.ok()) {
        LogWarn("bans", absl::StrCat("could not rewrite ", config_.bans.path,
                                     ": ", status.message()));
      }
    }
  }
}

}  // namespace muwarden::runtime
