// ServerMain: the start-up both binaries share. It loads the program's
// settings through their descriptions and the command line (help, --version,
// --check-config and --print-config exit there), lets the program handle a
// mode other than serving, blocks signals for every thread, configures the
// logger, lets the program prepare its sessions' shared state, starts the
// Server with its metrics endpoint and control socket when configured, then waits in the main thread for SIGHUP (reload bans) and
// SIGINT/SIGTERM (stop accepting, close clients, exit 0). Called once from
// main(); not reentrant.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_

#include <memory>
#include <optional>

#include "common/config/command_line.h"
#include "common/config/schema.h"
#include "common/ops/metrics.h"
#include "common/runtime/server.h"
#include "common/runtime/server_config.h"
#include "common/runtime/session.h"

namespace muwarden::runtime {

// What differs between the binaries. Lives in main() for the whole run and
// owns the program's settings.
class ServerProgram {
 public:
  virtual ~ServerProgram() = default;

  // Name, --help text and subcommands of the command line.
  virtual const config::Program& program() const = 0;
  // Describes every key of the program's settings (defaults already set).
  virtual void Describe(config::Schema& schema) = 0;
  // The part of the loaded settings the runtime and the logger read.
  virtual const ServerSettings& server_settings() const = 0;

  // A mode other than serving (the game server's `account`): its exit code, or
  // nullopt to serve. Runs before signals and logging are set up.
  virtual std::optional<int> RunOtherMode(const config::CommandLine& cl) {
    (void)cl;
    return std::nullopt;
  }
  // Builds what the sessions share, once logging is configured: nullopt to go
  // on, or the exit code (the message already on stderr).
  virtual std::optional<int> Prepare() { return std::nullopt; }
  // The Server exists and accepts nothing yet.
  virtual void OnServerCreated(Server& server) { (void)server; }
  // The Server listens (its port is known): what needs the bound address
  // starts here. An error stops the server with exit 1.
  virtual absl::Status OnServerStarted(Server& server) {
    (void)server;
    return absl::OkStatus();
  }
  // The Server has stopped (it still exists): what holds on to it stops here.
  virtual void OnServerStopped() {}
  // Series the program adds to /metrics (read at scrape time).
  virtual void AddMetrics(std::vector<ops::FamilySource>& sources) {
    (void)sources;
  }
  // One per connection, on its worker thread.
  virtual std::unique_ptr<Session> NewSession(Connection& connection) = 0;
};

// Runs the program; returns the process exit code.
int ServerMain(int argc, char** argv, ServerProgram& program);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_
