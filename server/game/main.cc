// game-server: the muwarden GameServer, and `game-server account ...` for the
// operator's account commands.
#include <atomic>
#include <iostream>
#include <memory>

#include "common/base/clock.h"
#include "common/config/command_line.h"
#include "common/runtime/server_main.h"
#include "server/game/account/account_cli.h"
#include "server/game/account/account_store.h"
#include "server/game/game_session.h"
#include "server/game/game_settings.h"
#include "server/game/player_registry.h"

int main(int argc, char** argv) {
  using namespace muwarden;
  game::GameSettings settings;
  config::CommandLine cl;
  {
    config::Schema schema;
    settings.Describe(schema);
    cl = config::ParseCommandLine(game::GameProgram(), schema, argc, argv,
                                  std::cout, std::cerr);
    if (cl.exit_code.has_value()) return *cl.exit_code;
  }
  if (cl.mode == config::Mode::kAccount) {
    return game::RunAccountCommand(cl.account_args, settings.accounts, std::cin,
                                   std::cout, std::cerr);
  }
  runtime::BlockServerSignals();
  if (!runtime::ConfigureLogging(settings.base.log))
    return config::kExitRuntime;
  auto accounts = game::AccountStore::Open(settings.accounts, Clock::Real());
  if (!accounts.ok()) {
    std::cerr << "game-server: account database " << settings.accounts.path
              << ": " << accounts.status().message() << "\n";
    return config::kExitRuntime;
  }
  game::PlayerRegistry world(settings.game, **accounts, Clock::Real());
  std::atomic<uint32_t> next_player{1};
  runtime::Server server(settings.base.server, [&](runtime::Connection&) {
    const uint16_t id =
        static_cast<uint16_t>(next_player.fetch_add(1) % 0x7FFF + 1);
    return std::make_unique<game::GameSession>(world, id);
  });
  // The Server owns the ban list and takes the session factory first; the
  // world gets the list before any connection can be accepted.
  world.SetBanList(&server.bans());
  return runtime::RunUntilSignalled(settings.base.server, server);
}
