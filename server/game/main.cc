// game-server: the muwarden GameServer, and `game-server account ...` for the
// operator's account commands.
#include <atomic>
#include <iostream>
#include <memory>

#include "common/base/clock.h"
#include "common/runtime/server_main.h"
#include "server/game/account/account_cli.h"
#include "server/game/account/account_store.h"
#include "server/game/game_config.h"
#include "server/game/game_session.h"
#include "server/game/game_world.h"

namespace muwarden::game {
namespace {

class GameProgram final : public runtime::ServerProgram {
 public:
  config::ServerKind kind() const override { return config::ServerKind::kGame; }
  std::string name() const override { return "game-server"; }
  runtime::HandshakeConfig handshake() const override {
    return GameHandshake();
  }

  std::optional<int> RunOtherMode(const config::CommandLine& cl) override {
    if (cl.mode != config::Mode::kAccount) return std::nullopt;
    return RunAccountCommand(cl.account_args,
                             AccountStoreConfigFromSettings(cl.settings),
                             std::cin, std::cout, std::cerr);
  }

  std::optional<int> Prepare(const config::ServerSettings& settings) override {
    auto accounts = AccountStore::Open(AccountStoreConfigFromSettings(settings),
                                       Clock::Real());
    if (!accounts.ok()) {
      std::cerr << "game-server: account database " << settings.game.database
                << ": " << accounts.status().message() << "\n";
      return config::kExitRuntime;
    }
    accounts_ = *std::move(accounts);
    world_ = std::make_unique<GameWorld>(GameConfigFromSettings(settings),
                                         *accounts_, Clock::Real());
    return std::nullopt;
  }

  // The Server owns the ban list and takes the session factory first; the
  // world gets the list before any connection can be accepted.
  void OnServerCreated(runtime::Server& server) override {
    world_->SetBanList(&server.bans());
  }

  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    const uint16_t id =
        static_cast<uint16_t>(next_player_.fetch_add(1) % 0x7FFF + 1);
    return std::make_unique<GameSession>(*world_, id);
  }

 private:
  std::unique_ptr<AccountStore> accounts_;
  std::unique_ptr<GameWorld> world_;
  std::atomic<uint32_t> next_player_{1};
};

}  // namespace
}  // namespace muwarden::game

int main(int argc, char** argv) {
  muwarden::game::GameProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
