// Server: one listening socket whose Acceptor thread runs Layer 1 (Admission)
// Server: one listening socket whose Acceptor thread runs Layer 1 (Admission)
// on every new socket before any worker, arena or read is spent and sends the
// session's hello; the PendingWaiter where greeted sockets wait for their
// first byte without a thread; the worker pool that runs each socket that has
// something to be served as a TcpConnection, from its first byte to its end;
// the registry of live connections (eviction, kick, stop); the known blocks
// (loaded at start, saved at most once a minute and at stop); and the
// BanWriter that makes autobans durable off the accept path. Thread-safe:
// Start/Stop/ReloadBans from the main thread, counters from anywhere.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/mutex.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/guard/known_blocks.h"
#include "common/net/poller.h"
#include "common/net/socket.h"
#include "common/runtime/acceptor.h"
#include "common/runtime/admission.h"
#include "common/runtime/ban_writer.h"
#include "common/runtime/connection_registry.h"
#include "common/runtime/counters.h"
#include "common/runtime/pending_waiter.h"
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
  const PendingWaiter& waiter() const { return waiter_; }
  uint64_t accept_errors() const { return acceptor_.accept_errors(); }
  uint64_t fd_exhausted() const { return acceptor_.fd_exhausted(); }
  // Connections whose sockets the accept thread closed before a worker (all
  // reasons).
  uint64_t refused() const { return admission_.refused(); }
  // Closes every live connection whose peer is inside `block` (shutdown: the
  // waiter or worker holding it notices and cleans up); returns how many. Any
  // thread.
  int Kick(const guard::Cidr& block) { return registry_.Kick(block); }
  const ConnectionRegistry& registry() const { return registry_; }
  guard::KnownBlocks& known() { return known_; }
  // Connections closed to make room for a newcomer.
  uint64_t evicted() const { return registry_.evicted(); }

  // Read-only points for the metrics and the control socket.
  size_t ban_count() const { return bans_.size(); }
  uint64_t connections_evicted() const { return evicted(); }
  size_t known_blocks() const { return known_.size(); }

 private:
  // One admitted connection between accept and its worker.
  struct Pending;

  void OnAccept(net::UniqueFd fd, const sockaddr_storage& addr);
  void DropExpiredBans(size_t expired);
  void LogLoaded(absl::string_view verb, const guard::BanLoadResult& result);
  // The waiter's handlers, on its thread.
  void OnFirstByte(std::unique_ptr<ParkedSocket> parked);
  void OnParkedExpired(std::unique_ptr<ParkedSocket> parked);
  // Gives the connection a worker, or refuses it when none can be had.
  void HandOff(std::unique_ptr<Pending> pending);
  void RunConnection(Pending& pending, Arena& arena);
  // Ends a connection that never reached a worker.
  void EndUnrun(std::unique_ptr<Pending> pending);
  // Takes the connection out of the registry; its ticket, to be released once
  // the socket is closed.
  guard::AdmitTicket Unregister(uint64_t id);

  const ServerConfig config_;
  const SessionFactory factory_;
  Clock& clock_;
  net::SystemPoller poller_;
  guard::ConnGuard guard_;
  guard::BanList bans_;
  guard::KnownBlocks known_;
  ConnectionRegistry registry_;
  WorkerCounters counters_;
  WorkerPool pool_;
  BanWriter ban_writer_;
  Admission admission_;
  PendingWaiter waiter_;
  Acceptor acceptor_;

  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::atomic<uint64_t> next_id_{1};
  // Saves the known blocks now and then (their file is rewritten at most
  // once a minute).
  std::thread known_saver_;
  Mutex saver_mu_;
  CondVar saver_cv_;
  bool saver_stop_ ABSL_GUARDED_BY(saver_mu_) = false;
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_H_
