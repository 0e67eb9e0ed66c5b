// connect-server: the muwarden ConnectServer.
#include <iostream>

#include "common/config/command_line.h"
#include "common/runtime/server_main.h"
#include "server/connect/connect_session.h"

int main(int argc, char** argv) {
  using namespace muwarden;
  config::CommandLine cl = config::ParseCommandLine(
      config::ServerKind::kConnect, argc, argv, std::cout, std::cerr);
  if (cl.exit_code.has_value()) return *cl.exit_code;
  runtime::BlockServerSignals();
  if (!runtime::ConfigureLogging(cl.settings)) return config::kExitRuntime;
  auto server_config = runtime::ServerConfigFromSettings(
      cl.settings, connect::ConnectHandshake());
  if (!server_config.ok()) {
    std::cerr << "connect-server: " << server_config.status().message() << "\n";
    return config::kExitUsage;
  }
  const std::vector<config::GameServerEntry> servers = cl.settings.gameservers;
  runtime::Server server(
      *std::move(server_config), [&servers](runtime::Connection&) {
        return std::make_unique<connect::ConnectSession>(servers);
      });
  return runtime::RunUntilSignalled(cl.settings, server);
}
