// Server: one listening socket, the accept thread that runs Layer 1 (ban ->
// connection rate -> flood autoban -> multiclient -> server full) before any
// worker, arena or read is spent, and the worker pool that runs admitted
// connections. Autobans are made durable by a separate thread (fsync off the
// accept path) that logs each one only after it is on disk. Thread-safe:
// Start/Stop/ReloadBans from the main thread, counters from anywhere.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_H_

#include <pthread.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/config/settings.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/net/poller.h"
#include "common/net/socket.h"
#include "common/runtime/connection.h"
#include "common/runtime/counters.h"
#include "common/runtime/session.h"
#include "common/runtime/worker_pool.h"

namespace muwarden::runtime {

struct ServerConfig {
  std::string name = "server";
  std::string bind = "0.0.0.0";
  int port = 0;
  int backlog = 4096;
  WorkerPoolConfig pool;
  ConnectionConfig connection;
  guard::ConnGuardConfig guard;
  guard::BanListConfig bans;
};

// Builds the runtime's configuration from loaded settings and the server's
// handshake rules.
absl::StatusOr<ServerConfig> ServerConfigFromSettings(
    const config::ServerSettings& settings, const HandshakeConfig& handshake);

class Server {
 public:
  using SessionFactory = std::function<std::unique_ptr<Session>(Connection&)>;

  Server(ServerConfig config, SessionFactory factory,
         Clock& clock = Clock::Real());
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the ban file, binds and starts the accept thread. kUnavailable when
  // the address cannot be bound (with the address and errno text).
  absl::Status Start();
  // Stops accepting, closes every client, waits for the workers. Idempotent.
  void Stop();
  // SIGHUP: reloads the ban file and logs how many entries were loaded.
  void ReloadBans();

  int port() const { return port_; }
  guard::BanList& bans() { return bans_; }
  const guard::ConnGuard& guard() const { return guard_; }
  const WorkerCounters& counters() const { return counters_; }
  const WorkerPool& pool() const { return pool_; }
  uint64_t accept_errors() const { return accept_errors_.load(); }
  uint64_t fd_exhausted() const { return fd_exhausted_.load(); }
  // Connections whose sockets the accept thread closed before a worker (all
  // reasons).
  uint64_t refused() const { return refused_.load(); }

 private:
  struct PendingBan {
    guard::Cidr cidr;
    absl::Duration duration;
    std::string ip;
    std::string reason;
  };

  void AcceptLoop();
  void AcceptReady();
  void Admit(net::UniqueFd fd, const sockaddr_storage& addr);
  void Reject(guard::RejectReason reason, net::UniqueFd fd,
              const guard::IpAddress& ip, absl::string_view details = {});
  void HandleFdExhaustion();
  void BanWriterLoop();
  void DropExpiredBans(size_t expired);
  void QueueBan(PendingBan ban);
  void RunConnection(net::UniqueFd fd, guard::IpAddress peer,
                     absl::Time accepted_at, guard::AdmitTicket ticket,
                     Arena& arena, uint64_t id);

  const ServerConfig config_;
  const SessionFactory factory_;
  Clock& clock_;
  net::SystemPoller poller_;
  guard::ConnGuard guard_;
  guard::BanList bans_;
  WorkerCounters counters_;
  WorkerPool pool_;

  net::UniqueFd listen_fd_;
  net::UniqueFd reserve_fd_;  // spare descriptor for EMFILE/ENFILE
  int port_ = 0;
  std::thread accept_thread_;
  std::thread ban_thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> accept_errors_{0};
  std::atomic<uint64_t> fd_exhausted_{0};
  std::atomic<uint64_t> refused_{0};

  Mutex live_mu_;
  absl::flat_hash_map<uint64_t, int> live_fds_ ABSL_GUARDED_BY(live_mu_);

  Mutex ban_mu_;
  std::deque<PendingBan> pending_bans_ ABSL_GUARDED_BY(ban_mu_);
  // Blocks queued but not yet durable, so a flood cannot queue the same block
  // twice.
  absl::flat_hash_set<std::string> pending_blocks_ ABSL_GUARDED_BY(ban_mu_);
  bool ban_stop_ ABSL_GUARDED_BY(ban_mu_) = false;
  CondVar ban_cv_;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_H_
