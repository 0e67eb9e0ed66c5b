// ConnectSession: the runtime Session of the ConnectServer. Sends the hello on
// accept, answers requests through ConnectHandler, and completes the handshake
// at the first valid request. Per connection; not thread-safe.
#ifndef MUWARDEN_SERVER_CONNECT_CONNECT_SESSION_H_
#define MUWARDEN_SERVER_CONNECT_CONNECT_SESSION_H_

#include <utility>
#include <vector>

#include "common/runtime/session.h"
#include "server/connect/connect_handler.h"
#include "server/connect/game_server_entry.h"

namespace muwarden::connect {

// The ConnectServer's Layer-2 rules: its legitimate requests are at most 6
// bytes, and the handshake is the first of them.
runtime::HandshakeConfig ConnectHandshake();

class ConnectSession final : public runtime::Session {
 public:
  // `servers` must outlive the session.
  explicit ConnectSession(const std::vector<GameServerEntry>& servers,
                          ConnectLimits limits = {})
      : ConnectSession(ServerList(ServerList(), &servers), limits) {}
  // The list as it was when the connection arrived, kept alive by the
  // session.
  explicit ConnectSession(ServerList servers, ConnectLimits limits = {})
      : servers_(std::move(servers)), handler_(*servers_, limits) {}

  absl::Status OnOpen(runtime::Connection& conn) override;
  bool AllowedBeforeHandshake(const protocol::Frame& frame) const override;
  absl::Status OnFrame(runtime::Connection& conn,
                       const protocol::Frame& frame) override;

 private:
  const ServerList servers_;
  ConnectHandler handler_;
};

}  // namespace muwarden::connect

#endif  // MUWARDEN_SERVER_CONNECT_CONNECT_SESSION_H_
