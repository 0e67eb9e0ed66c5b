#include "server/game/game_settings.h"

#include "server/game/game_session.h"

namespace muwarden::game {

GameSettings::GameSettings() {
  runtime::ServerConfig& s = base.server;
  s.name = "GameServer";
  s.bans.default_name = "game-server-bans.txt";
  s.port = 55901;
  s.connection.handshake = GameHandshake();
  s.connection.handshake.timeout = absl::Seconds(120);
  s.connection.max_frame_size = 8192;
  base.control.default_name = "game-server.sock";
}

void GameSettings::Describe(config::Schema& schema) {
  base.Describe(schema);
  game.Describe(schema);
  accounts.Describe(schema);
  cluster.Describe(schema, /*game=*/true);
  schema.OnLoaded([this](config::SettingsErrors& errors) {
    const size_t tracked = base.server.guard.max_tracked_ips;
    game.throttle.max_tracked_ips = tracked;
    game.throttle.max_tracked_accounts = tracked;
    game.max_frame_size = base.server.connection.max_frame_size;
    game.login_gate.slots = accounts.hasher.max_concurrent_hashes;
    accounts.url = cluster.url;
    accounts.db_timeout = cluster.db_timeout;
    if (cluster.heartbeat_timeout <= cluster.heartbeat_interval) {
      errors.Add(
          "cluster.heartbeat_timeout: must be longer than heartbeat_interval");
    }
  });
}

const config::Program& GameProgram() {
  static const config::Program* program = new config::Program{
      "game-server", "muwarden GameServer: join, login, game protocol", true};
  return *program;
}

}  // namespace muwarden::game
