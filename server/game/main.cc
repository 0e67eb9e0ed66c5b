// game-server: the muwarden GameServer.
#include <atomic>
#include <iostream>

#include "common/config/command_line.h"
#include "common/runtime/server_main.h"
#include "server/game/game_session.h"

int main(int argc, char** argv) {
  using namespace muwarden;
  config::CommandLine cl = config::ParseCommandLine(
      config::ServerKind::kGame, argc, argv, std::cout, std::cerr);
  if (cl.exit_code.has_value()) return *cl.exit_code;
  runtime::BlockServerSignals();
  if (!runtime::ConfigureLogging(cl.settings)) return config::kExitRuntime;
  auto server_config =
      runtime::ServerConfigFromSettings(cl.settings, game::GameHandshake());
  if (!server_config.ok()) {
    std::cerr << "game-server: " << server_config.status().message() << "\n";
    return config::kExitUsage;
  }
  std::atomic<uint32_t> next_player{1};
  const config::ServerSettings& settings = cl.settings;
  runtime::Server server(*std::move(server_config), [&](runtime::Connection&) {
    const uint16_t id =
        static_cast<uint16_t>(next_player.fetch_add(1) % 0x7FFF + 1);
    return std::make_unique<game::GameSession>(settings, id);
  });
  return runtime::RunUntilSignalled(cl.settings, server);
}
