// connect-server: the muwarden ConnectServer.
#include <memory>

#include "common/runtime/server_main.h"
#include "server/connect/connect_session.h"
#include "server/connect/connect_settings.h"

namespace muwarden::connect {
namespace {

class ConnectServerProgram final : public runtime::ServerProgram {
 public:
  const config::Program& program() const override { return ConnectProgram(); }
  void Describe(config::Schema& schema) override { settings_.Describe(schema); }
  const runtime::ServerSettings& server_settings() const override {
    return settings_.base;
  }
  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    return std::make_unique<ConnectSession>(settings_.gameservers);
  }

 private:
  ConnectSettings settings_;
};

}  // namespace
}  // namespace muwarden::connect

int main(int argc, char** argv) {
  muwarden::connect::ConnectServerProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
