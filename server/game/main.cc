// game-server: the muwarden GameServer, and `game-server account ...` for the
// operator's account commands.
#include <atomic>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/db/ban_sync.h"
#include "common/runtime/server_main.h"
#include "server/game/account/account_cli.h"
#include "server/game/account/account_store.h"
#include "server/game/cluster_presence.h"
#include "server/game/game_session.h"
#include "server/game/game_settings.h"
#include "server/game/player_registry.h"

namespace muwarden::game {
namespace {

class GameServerProgram final : public runtime::ServerProgram {
 public:
  // The renew thread reads the registry: it stops first.
  ~GameServerProgram() override {
    ban_sync_.reset();
    if (registry_ != nullptr) registry_->SetPresence(nullptr);
    presence_.reset();
  }
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
      if (settings_.cluster.enabled()) {
        std::cerr << "game-server: " << accounts.status().message() << "\n";
      } else {
        std::cerr << "game-server: account database " << settings_.accounts.path
                  << ": " << accounts.status().message() << "\n";
      }
      return config::kExitRuntime;
    }
    accounts_ = *std::move(accounts);
    // The prefix lengths and known_days of SPEC section 4a are the
    // connection guard's keys ([ratelimit] prefix_v4 / prefix_v6, [security]
    // known_days): the login throttle groups blocks as Layer 1 does.
    const runtime::ServerConfig& server = settings_.base.server;
    registry_ = std::make_unique<PlayerRegistry>(
        settings_.game, *accounts_, Clock::Real(),
        LoginGrouping{{server.guard.prefix_v4, server.guard.prefix_v6},
                      absl::Hours(24) * server.known.keep_days});
    if (settings_.cluster.enabled()) registry_->RequirePresence();
    return std::nullopt;
  }

  // The Server owns the ban list and takes the session factory first; the
  // registry gets the list before any connection can be accepted.
  void OnServerCreated(runtime::Server& server) override {
    registry_->SetBanList(&server.bans());
    registry_->SetKnownBlocks(&server.known());
  }

  // With a shared database: the session leases and this server's row in the
  // server list, told the public address (default: the bound one).
  absl::Status OnServerStarted(runtime::Server& server) override {
    const db::ClusterConfig& cluster = settings_.cluster;
    if (!cluster.enabled()) return absl::OkStatus();
    PresenceConfig config;
    config.cluster = cluster;
    config.host = cluster.public_host.empty() ? settings_.base.server.bind
                                              : cluster.public_host;
    if (config.host == "0.0.0.0" || config.host == "::") {
      LogWarn("cluster",
              absl::StrCat("the server list tells clients to connect to ",
                           config.host, " (the bind address): set [cluster] "
                           "public_host to the address players reach"));
    }
    config.port = cluster.public_port != 0 ? cluster.public_port : server.port();
    config.max_players = settings_.game.max_players;
    PlayerRegistry* registry = registry_.get();
    auto presence = ClusterPresence::Start(
        std::move(config), [registry] { return registry->HeldKeys(); });
    if (!presence.ok()) return presence.status();
    presence_ = *std::move(presence);
    registry_->SetPresence(presence_.get());
    auto bans = db::StartBanSync(cluster, settings_.base.server.name,
                                 server.bans(), &server.known());
    if (!bans.ok()) return bans.status();
    ban_sync_ = *std::move(bans);
    return absl::OkStatus();
  }

  // Before the Server (and its ban list) goes; the presence leaves the list.
  void OnServerStopped() override {
    ban_sync_.reset();
    if (registry_ != nullptr) registry_->SetPresence(nullptr);
    presence_.reset();
  }

  // muwarden_players_online and muwarden_logins_total{result}, the result
  // named for the login answer.
  void AddMetrics(std::vector<ops::FamilySource>& sources) override {
    sources.push_back([this] {
      const GameCounters& c = registry_->counters();
      const auto r = std::memory_order_relaxed;
      ops::Family players{"muwarden_players_online", "players logged in",
                          ops::Family::Type::kGauge, {}};
      players.samples.push_back({{}, static_cast<double>(registry_->players())});
      ops::Family logins{"muwarden_logins_total", "login answers, by result",
                         ops::Family::Type::kCounter, {}};
      const std::pair<const char*, const std::atomic<uint64_t>*> results[] = {
          {"ok", &c.logins_ok},
          {"failed", &c.logins_failed},
          {"locked", &c.logins_locked},
          {"blocked", &c.logins_blocked},
          {"wrong_client", &c.logins_wrong_client},
          {"server_full", &c.logins_server_full},
          {"already_connected", &c.logins_already_connected},
          {"unavailable", &c.logins_unavailable},
      };
      for (const auto& [name, counter] : results) {
        logins.samples.push_back(
            {{{"result", name}}, static_cast<double>(counter->load(r))});
      }
      return std::vector<ops::Family>{std::move(players), std::move(logins)};
    });
  }

  std::unique_ptr<runtime::Session> NewSession(runtime::Connection&) override {
    return std::make_unique<GameSession>(*registry_);
  }

 private:
  GameSettings settings_;
  std::unique_ptr<AccountStore> accounts_;
  // Stopped before the registry goes (see the destructor).
  std::unique_ptr<ClusterPresence> presence_;
  std::unique_ptr<db::BanSync> ban_sync_;
  std::unique_ptr<PlayerRegistry> registry_;
};

}  // namespace
}  // namespace muwarden::game

int main(int argc, char** argv) {
  muwarden::game::GameServerProgram program;
  return muwarden::runtime::ServerMain(argc, argv, program);
}
