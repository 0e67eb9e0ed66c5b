#include "server/connect/connect_session.h"

namespace muwarden::connect {

runtime::HandshakeConfig ConnectHandshake() {
  runtime::HandshakeConfig h;
  h.max_frame_size = 8;
  // Nothing but the first valid request completes the handshake, so one is
  // enough; a client that pipelines a few requests at once is still served.
  h.max_packets = 4;
  return h;
}

absl::Status ConnectSession::OnOpen(runtime::Connection& conn) {
  return conn.Send(BuildHello());
}

bool ConnectSession::AllowedBeforeHandshake(
    const protocol::Frame& frame) const {
  return IsConnectRequest(frame.bytes);
}

absl::Status ConnectSession::OnFrame(runtime::Connection& conn,
                                     const protocol::Frame& frame) {
  auto replies = handler_.Handle(frame.bytes);
  if (!replies.ok()) return replies.status();
  conn.CompleteHandshake();
  if (handler_.served_server_info()) conn.MarkKnown();
  for (const Packet& packet : *replies) {
    absl::Status status = conn.Send(packet);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace muwarden::connect
