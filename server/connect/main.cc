// connect-server: the muwarden ConnectServer.
#include <memory>
#include <vector>

#include "common/runtime/server_main.h"
#include "server/connect/connect_session.h"

namespace muwarden::connect {
namespace {

class ConnectProgram final : public runtime::ServerProgram {
 public:
  config::ServerKind kind() const override {
    return config::ServerKind::kConnect;
  }
  std::string name() const override { return "connect-server"; }
  runtime::HandshakeConfig handshake() const override {
    return ConnectHandshake();
  }
  std::optional<int> Prepare(const config::ServerSettings& settings) override {
    servers_ = settings.gameservers;
    return std::nullopt;
  }
  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    return std::make_unique<ConnectSession>(servers_);
  }

 private:
  std::vector<config::GameServerEntry> servers_;
};

}  // namespace
}  // namespace muwarden::connect

int main(int argc, char** argv) {
  muwarden::connect::ConnectProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
