// game-server: the muwarden GameServer, and `game-server account ...` for the
// operator's account commands.
#include <atomic>
#include <iostream>
#include <memory>

#include "common/base/clock.h"
#include "common/runtime/server_main.h"
#include "server/game/account/account_cli.h"
#include "server/game/account/account_store.h"
#include "server/game/game_session.h"
#include "server/game/game_settings.h"
#include "server/game/player_registry.h"

namespace muwarden::game {
namespace {

class GameServerProgram final : public runtime::ServerProgram {
 public:
  const config::Program& program() const override { return GameProgram(); }
  void Describe(config::Schema& schema) override { settings_.Describe(schema); }
  const runtime::ServerSettings& server_settings() const override {
    return settings_.base;
  }

  std::optional<int> RunOtherMode(const config::CommandLine& cl) override {
    if (cl.mode != config::Mode::kAccount) return std::nullopt;
    return RunAccountCommand(cl.account_args, settings_.accounts, std::cin,
                             std::cout, std::cerr);
  }

  std::optional<int> Prepare() override {
    auto accounts = AccountStore::Open(settings_.accounts, Clock::Real());
    if (!accounts.ok()) {
      std::cerr << "game-server: account database " << settings_.accounts.path
                << ": " << accounts.status().message() << "\n";
      return config::kExitRuntime;
    }
    accounts_ = *std::move(accounts);
    registry_ = std::make_unique<PlayerRegistry>(settings_.game, *accounts_,
                                                 Clock::Real());
    return std::nullopt;
  }

  // The Server owns the ban list and takes the session factory first; the
  // registry gets the list before any connection can be accepted.
  void OnServerCreated(runtime::Server& server) override {
    registry_->SetBanList(&server.bans());
  }

  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    return std::make_unique<GameSession>(*registry_);
  }

 private:
  GameSettings settings_;
  std::unique_ptr<AccountStore> accounts_;
  std::unique_ptr<PlayerRegistry> registry_;
};

}  // namespace
}  // namespace muwarden::game

int main(int argc, char** argv) {
  muwarden::game::GameServerProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
