#include "common/runtime/server_main.h"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {
namespace {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (inherited by every
// thread started afterwards) and ignores SIGPIPE. Call before any thread is
// created.
void BlockServerSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Applies the loaded [log] settings to the process logger and the security
// log's budgets. False (with a message on stderr) when the log file cannot be
// opened.
bool ConfigureLogging(const ServerSettings& settings) {
  const LogConfig& log = settings.log;
  guard::SecurityLog::Get().Configure(settings.security_log);
  absl::Status status = Logger::Get().Configure(log);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return false;
  }
  return true;
}

// Runs `server` until SIGINT/SIGTERM; returns the exit code (0 clean, 1 runtime
// failure).
int RunUntilSignalled(const ServerConfig& config, Server& server) {
  absl::Status status = server.Start();
  if (!status.ok()) {
    LogError("server", std::string(status.message()));
    std::fprintf(stderr, "%s: %s\n", config.name.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  LogInfo("server", absl::StrCat(config.name, " listening on ", config.bind,
                                 " port ", server.port()));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      server.ReloadBans();
      continue;
    }
    LogInfo("server", absl::StrCat("signal ", sig, ": stopping"));
    break;
  }
  server.Stop();
  LogInfo("server", "stopped");
  return 0;
}

}  // namespace

int ServerMain(int argc, char** argv, ServerProgram& program) {
  config::CommandLine cl;
  {
    config::Schema schema;  // points into the program's settings
    program.Describe(schema);
    cl = config::ParseCommandLine(program.program(), schema, argc, argv,
                                  std::cout, std::cerr);
  }
  if (cl.exit_code.has_value()) return *cl.exit_code;
  if (auto code = program.RunOtherMode(cl)) return *code;
  BlockServerSignals();
  const ServerSettings& settings = program.server_settings();
  if (!ConfigureLogging(settings)) return config::kExitRuntime;
  if (auto code = program.Prepare()) return *code;
  Server server(settings.server, [&program](Connection& connection) {
    return program.NewSession(connection);
  });
  program.OnServerCreated(server);
  return RunUntilSignalled(settings.server, server);
}

}  // namespace muwarden::runtime
