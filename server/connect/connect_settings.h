// ConnectSettings: what connect-server loads: the shared server settings with
// the ConnectServer's defaults (port 44405, 20 s handshake, 255-byte frames)
// and the game servers it lists, one `[gameserver.N]` section each. Plain
// values; thread-compatible.
#ifndef MUWARDEN_SERVER_CONNECT_CONNECT_SETTINGS_H_
#define MUWARDEN_SERVER_CONNECT_CONNECT_SETTINGS_H_

#include <string>
#include <vector>

#include "common/config/command_line.h"
#include "common/config/schema.h"
#include "common/db/cluster_config.h"
#include "common/runtime/server_config.h"
#include "server/connect/game_server_entry.h"

namespace muwarden::connect {

struct ConnectSettings {
  ConnectSettings();  // the ConnectServer's defaults

  runtime::ServerSettings base;
  // Built-in: one "GameServer" on 127.0.0.1:55901. Configured sections
  // replace it.
  std::vector<GameServerEntry> gameservers;
  // [database] url and the heartbeat timing: with a url, the live
  // GameServers are listed too (and, without a [gameserver.N] section, only
  // they).
  db::ClusterConfig cluster;
  // Accepted and printed, never used: the ConnectServer has no chat (see
  // runtime::DescribeChatWindows).
  guard::SlidingWindowConfig unused_chat{20, absl::Seconds(10)};
  guard::SlidingWindowConfig unused_whisper{4, absl::Seconds(1)};

  void Describe(config::Schema& schema);

 private:
  bool gameservers_from_config_ = false;
};

// connect-server's command line.
const config::Program& ConnectProgram();

}  // namespace muwarden::connect

#endif  // MUWARDEN_SERVER_CONNECT_CONNECT_SETTINGS_H_
