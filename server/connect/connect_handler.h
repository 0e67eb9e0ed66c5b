// ConnectServer protocol (PROTOCOL.md section 2) as functions from request
// bytes to response bytes: hello, server list (F4 06 and the old F4 02), server
// info (6- and 5-byte requests, followed by hello; unknown id answered with the
// list), patch check, and the per-connection request caps. No sockets.
// ConnectHandler is per connection, not thread-safe; the builders are pure.
#ifndef MUWARDEN_SERVER_CONNECT_CONNECT_HANDLER_H_
#define MUWARDEN_SERVER_CONNECT_CONNECT_HANDLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "server/connect/game_server_entry.h"

namespace muwarden::connect {

using Packet = std::vector<uint8_t>;

// Per-connection request caps of the reference servers; beyond them the client
// is dropped.
struct ConnectLimits {
  int max_list_requests = 20;
  int max_info_requests = 5;
  int max_patch_checks = 1;
};

Packet BuildHello();
// F4 06: entries sorted by id.
Packet BuildServerList(const std::vector<GameServerEntry>& servers);
// F4 02: old clients; servers whose id does not fit a byte are left out.
Packet BuildServerListOld(const std::vector<GameServerEntry>& servers);
Packet BuildServerInfo(const GameServerEntry& server);
Packet BuildPatchOk();

// True for the requests a ConnectServer client may open with (Layer 2).
bool IsConnectRequest(absl::Span<const uint8_t> frame);

class ConnectHandler {
 public:
  ConnectHandler(const std::vector<GameServerEntry>& servers,
                 ConnectLimits limits = {});

  // The packets to send back for one whole frame, in order. Errors close the
  // connection: kInvalidArgument for an unknown code or a wrong length
  // (malformed), kResourceExhausted when a per-connection cap is passed.
  absl::StatusOr<std::vector<Packet>> Handle(absl::Span<const uint8_t> frame);
  // Whether a server-info request for a listed server was answered: the
  // ConnectServer's good visit (SPEC 4a, known blocks).
  bool served_server_info() const { return served_server_info_; }

 private:
  bool served_server_info_ = false;
  const std::vector<GameServerEntry>& servers_;
  const ConnectLimits limits_;
  int list_requests_ = 0;
  int info_requests_ = 0;
  int patch_checks_ = 0;
};

}  // namespace muwarden::connect

#endif  // MUWARDEN_SERVER_CONNECT_CONNECT_HANDLER_H_
