// connect-server: the muwarden ConnectServer.
#include <iostream>
#include <memory>

#include "common/db/ban_sync.h"
#include "common/runtime/server_main.h"
#include "server/connect/connect_session.h"
#include "server/connect/connect_settings.h"
#include "server/connect/server_directory.h"

namespace muwarden::connect {
namespace {

class ConnectServerProgram final : public runtime::ServerProgram {
 public:
  const config::Program& program() const override { return ConnectProgram(); }
  void Describe(config::Schema& schema) override { settings_.Describe(schema); }
  const runtime::ServerSettings& server_settings() const override {
    return settings_.base;
  }
  // With [database] url, the live GameServers are read from the database
  // (unreachable at start: exit 1 with the reason).
  std::optional<int> Prepare() override {
    if (!settings_.cluster.enabled()) {
      directory_ = std::make_unique<ServerDirectory>(settings_.gameservers);
      return std::nullopt;
    }
    auto directory = ServerDirectory::Start(settings_.gameservers, settings_.cluster);
    if (!directory.ok()) {
      std::cerr << "connect-server: server list database: "
                << directory.status().message() << "\n";
      return config::kExitRuntime;
    }
    directory_ = *std::move(directory);
    return std::nullopt;
  }
  // With a database, bans are shared with every server on it.
  absl::Status OnServerStarted(runtime::Server& server) override {
    if (!settings_.cluster.enabled()) return absl::OkStatus();
    auto bans = db::StartBanSync(settings_.cluster, settings_.base.server.name,
                                 server.bans(), &server.known());
    if (!bans.ok()) return bans.status();
    ban_sync_ = *std::move(bans);
    return absl::OkStatus();
  }
  void OnServerStopped() override { ban_sync_.reset(); }

  // An in-memory snapshot: no database call on a connection's path.
  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    return std::make_unique<ConnectSession>(directory_->Snapshot());
  }

 private:
  ConnectSettings settings_;
  std::unique_ptr<ServerDirectory> directory_;
  std::unique_ptr<db::BanSync> ban_sync_;
};

}  // namespace
}  // namespace muwarden::connect

int main(int argc, char** argv) {
  muwarden::connect::ConnectServerProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
