// Server: one listening socket whose Acceptor thread runs Layer 1 (Admission)
// on every new socket before any worker, arena or read is spent, the worker
// pool that runs each admitted socket as a TcpConnection, and the BanWriter
// that makes autobans durable off the accept path. Thread-safe:
// Start/Stop/ReloadBans from the main thread, counters from anywhere.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/net/poller.h"
#include "common/net/socket.h"
#include "common/runtime/acceptor.h"
#include "common/runtime/admission.h"
#include "common/runtime/ban_writer.h"
#include "common/runtime/counters.h"
#include "common/runtime/server_config.h"
#include "common/runtime/session.h"
#include "common/runtime/worker_pool.h"

namespace muwarden::runtime {

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

  int port() const { return acceptor_.port(); }
  const ServerConfig& config() const { return config_; }
  guard::BanList& bans() { return bans_; }
  const guard::ConnGuard& guard() const { return guard_; }
  const WorkerCounters& counters() const { return counters_; }
  const WorkerPool& pool() const { return pool_; }
  uint64_t accept_errors() const { return acceptor_.accept_errors(); }
  uint64_t fd_exhausted() const { return acceptor_.fd_exhausted(); }
  // Connections whose sockets the accept thread closed before a worker (all
  // reasons).
  uint64_t refused() const { return admission_.refused(); }

  // Closes every live connection whose peer is inside `block` (shutdown: its
  // worker notices and cleans up); returns how many. Any thread.
  int Kick(const guard::Cidr& block);
  // Read-only points for the metrics and the control socket.
  size_t ban_count() const { return bans_.size(); }
  // Connections closed for a newcomer and client blocks known from earlier
  // visits: 0 until the siege work (eviction, known blocks) lands.
  uint64_t connections_evicted() const { return 0; }
  size_t known_blocks() const { return 0; }

 private:
  void OnAccept(net::UniqueFd fd, const sockaddr_storage& addr);
  void DropExpiredBans(size_t expired);
  void RunConnection(Admitted admitted, absl::Time accepted_at, Arena& arena,
                     uint64_t id);

  const ServerConfig config_;
  const SessionFactory factory_;
  Clock& clock_;
  net::SystemPoller poller_;
  guard::ConnGuard guard_;
  guard::BanList bans_;
  WorkerCounters counters_;
  WorkerPool pool_;
  BanWriter ban_writer_;
  Admission admission_;
  Acceptor acceptor_;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::atomic<uint64_t> next_id_{1};

  Mutex live_mu_;
  struct LiveConnection {
    int fd;
    guard::IpAddress peer;
  };
  absl::flat_hash_map<uint64_t, LiveConnection> live_fds_
      ABSL_GUARDED_BY(live_mu_);
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_H_
