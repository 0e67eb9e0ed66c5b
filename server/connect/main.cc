// connect-server: the muwarden ConnectServer.
#include <iostream>

#include "common/config/command_line.h"
#include "common/runtime/server_main.h"
#include "server/connect/connect_session.h"
#include "server/connect/connect_settings.h"

int main(int argc, char** argv) {
  using namespace muwarden;
  connect::ConnectSettings settings;
  {
    config::Schema schema;
    settings.Describe(schema);
    config::CommandLine cl = config::ParseCommandLine(
        connect::ConnectProgram(), schema, argc, argv, std::cout, std::cerr);
    if (cl.exit_code.has_value()) return *cl.exit_code;
  }
  runtime::BlockServerSignals();
  if (!runtime::ConfigureLogging(settings.base.log))
    return config::kExitRuntime;
  const std::vector<connect::GameServerEntry> servers = settings.gameservers;
  runtime::Server server(
      settings.base.server, [&servers](runtime::Connection&) {
        return std::make_unique<connect::ConnectSession>(servers);
      });
  return runtime::RunUntilSignalled(settings.base.server, server);
}
