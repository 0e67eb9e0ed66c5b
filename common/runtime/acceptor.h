// Acceptor: the listening socket and the thread that accepts on it. A blocking
// accept4 (one system call per connection, no poll round trip) hands each new
// non-blocking descriptor and its address to a callback; Stop() wakes it with
// shutdown(SHUT_RD). Survives EMFILE/ENFILE without spinning by keeping one
// spare descriptor: it gives the spare up for a moment to take the pending
// connection off the queue and hand it to the overflow callback, which refuses
// it. Thread-safe: Listen/Start/Stop from the owner, counters from anywhere;
// the callbacks run on the accept thread.
#ifndef MUWARDEN_COMMON_RUNTIME_ACCEPTOR_H_
#define MUWARDEN_COMMON_RUNTIME_ACCEPTOR_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "common/net/socket.h"

namespace muwarden::runtime {

struct AcceptorConfig {
  std::string bind = "0.0.0.0";
  int port = 0;  // 0 = any free port
  int backlog = 4096;
};

class Acceptor {
 public:
  using Callback =
      std::function<void(net::UniqueFd fd, const sockaddr_storage& addr)>;

  // `on_accept` gets every accepted connection; `on_overflow` the one taken off
  // the queue with the spare descriptor while the process is out of them.
  Acceptor(AcceptorConfig config, Callback on_accept, Callback on_overflow);
  ~Acceptor();  // Stop()
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Binds and listens. kUnavailable when the address cannot be bound (with the
  // address and errno text).
  absl::Status Listen();
  // Starts the accept thread; Listen() must have succeeded.
  void Start();
  // Stops accepting and closes the listener. Idempotent.
  void Stop();

  int port() const { return port_; }
  uint64_t accept_errors() const { return accept_errors_.load(); }
  uint64_t fd_exhausted() const { return fd_exhausted_.load(); }

 private:
  void AcceptLoop();
  void HandleFdExhaustion();

  const AcceptorConfig config_;
  const Callback on_accept_;
  const Callback on_overflow_;
  net::UniqueFd listen_fd_;
  net::UniqueFd reserve_fd_;  // spare descriptor for EMFILE/ENFILE
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> accept_errors_{0};
  std::atomic<uint64_t> fd_exhausted_{0};
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_ACCEPTOR_H_
