// GameServerEntry: one game server the ConnectServer lists, as loaded from a
// `[gameserver.N]` section. Plain value.
#ifndef MUWARDEN_SERVER_CONNECT_GAME_SERVER_ENTRY_H_
#define MUWARDEN_SERVER_CONNECT_GAME_SERVER_ENTRY_H_

#include <memory>
#include <string>
#include <vector>

namespace muwarden::connect {

struct GameServerEntry {
  int section_index = 0;  // N of [gameserver.N]
  int id = 0;
  std::string name;
  std::string host = "127.0.0.1";  // sent to the client, at most 15 bytes
  int port = 55901;
  int load = 0;  // percent
};

// An immutable list shared by the connections that read it.
using ServerList = std::shared_ptr<const std::vector<GameServerEntry>>;

}  // namespace muwarden::connect

#endif  // MUWARDEN_SERVER_CONNECT_GAME_SERVER_ENTRY_H_
