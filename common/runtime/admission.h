// Admission: Layer 1, run by the accept thread on every new socket before any
// worker, arena or read is spent. One ordered list of checks (ban of the
// block, then of the prefix with known blocks spared; then ConnGuard's block
// rate -> prefix rate -> autobans -> multiclient -> prefix limit -> pending ->
// full, where full evicts a victim the ConnectionRegistry picks or refuses)
// and one path that refuses: reset-close the socket, count it and write the
// security log line for its RejectReason. Thread-safe as its parts are (the
// accept thread calls Admit; any thread may Refuse).
#ifndef MUWARDEN_COMMON_RUNTIME_ADMISSION_H_
#define MUWARDEN_COMMON_RUNTIME_ADMISSION_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/strings/string_view.h"
#include "common/guard/ban_list.h"
#include "common/guard/conn_guard.h"
#include "common/guard/ip_address.h"
#include "common/guard/known_blocks.h"
#include "common/guard/reject_reason.h"
#include "common/net/socket.h"
#include "common/runtime/ban_writer.h"

namespace muwarden::runtime {

// A socket that passed Layer 1, with the slots it holds.
struct Admitted {
  net::UniqueFd fd;
  guard::IpAddress peer;
  guard::AdmitTicket ticket;
  bool known = false;  // the block had a good visit within known_days
};

class ConnectionRegistry;

class Admission {
 public:
  // Gets the ban a flood autoban asks for (to be made durable elsewhere).
  using AutobanFn = std::function<void(PendingBan ban)>;

  // `known` (may be null: no block is known) and `registry` (may be null:
  // full always refuses) must outlive this.
  Admission(guard::BanList& bans, guard::ConnGuard& guard, AutobanFn autoban,
            const guard::KnownBlocks* known = nullptr,
            ConnectionRegistry* registry = nullptr);

  // Runs the checks, cheapest first. The admitted socket, or nullopt when it
  // was refused (and is closed).
  std::optional<Admitted> Admit(net::UniqueFd fd, const sockaddr_storage& addr);

  // Refuses a socket the checks admitted but that cannot be served (no worker
  // thread): gives its slots back, then refuses it as kServerFull.
  void RefuseUnserved(Admitted admitted, absl::string_view details);
  // Refuses a socket the Acceptor took off the queue while out of
  // descriptors, as kServerFull.
  void RefuseOverflow(net::UniqueFd fd, const sockaddr_storage& addr);

  // Sockets refused (closed before a worker), all reasons.
  uint64_t refused() const { return refused_.load(); }

 private:
  // The one refuse path. The reason has been counted in the ConnGuard already
  // (by its Admit, or by CountRejected for the checks outside it).
  void Refuse(guard::RejectReason reason, net::UniqueFd fd,
              const guard::IpAddress& ip, absl::string_view details = {});

  guard::BanList& bans_;
  guard::ConnGuard& guard_;
  const AutobanFn autoban_;
  const guard::KnownBlocks* const known_;
  ConnectionRegistry* const registry_;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_ADMISSION_H_
