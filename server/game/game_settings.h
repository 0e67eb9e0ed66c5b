// GameSettings: what game-server loads: the shared server settings with the
// GameServer's defaults (port 55901, 120 s handshake, 8192-byte frames), its
// own GameConfig and the account store's. Plain values; thread-compatible.
#ifndef MUWARDEN_SERVER_GAME_GAME_SETTINGS_H_
#define MUWARDEN_SERVER_GAME_GAME_SETTINGS_H_

#include <string>
#include <vector>

#include "common/config/command_line.h"
#include "common/config/schema.h"
#include "common/db/cluster_config.h"
#include "common/runtime/server_config.h"
#include "server/game/account/account_store.h"
#include "server/game/game_config.h"

namespace muwarden::game {

struct GameSettings {
  GameSettings();  // the GameServer's defaults

  runtime::ServerSettings base;
  GameConfig game;
  AccountStoreConfig accounts;
  // [database] url and [cluster]: with a url, accounts live there too.
  db::ClusterConfig cluster;

  // Once loaded, the login throttle's tables are capped by
  // server.max_tracked_ips and the decryption buffer fits
  // server.max_packet_size.
  void Describe(config::Schema& schema);
};

// game-server's command line (with the `account` subcommand).
const config::Program& GameProgram();

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_GAME_SETTINGS_H_
