#include "common/runtime/server_main.h"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"
#include "common/ops/control_commands.h"
#include "common/ops/control_server.h"
#include "common/ops/metrics.h"

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

int StartFailed(const ServerConfig& config, const absl::Status& status) {
  LogError("server", std::string(status.message()));
  std::fprintf(stderr, "%s: %s\n", config.name.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// The operators' endpoints of a started server (either may be off).
struct OpsEndpoints {
  std::unique_ptr<ops::MetricsExporter> metrics;
  std::unique_ptr<ops::ControlCommands> commands;
  std::unique_ptr<ops::ControlServer> control;
};

absl::Status StartOps(const ServerSettings& settings, Server& server,
                      ServerProgram& program, OpsEndpoints& out) {
  if (!settings.metrics.listen.empty()) {
    std::vector<ops::FamilySource> sources = {
        [&server] { return ops::ServerFamilies(server); }};
    program.AddMetrics(sources);
    auto exporter = ops::MetricsExporter::Start(
        settings.metrics, settings.server.name, std::move(sources));
    if (!exporter.ok()) return exporter.status();
    out.metrics = *std::move(exporter);
    LogInfo("server", absl::StrCat("metrics on ", settings.metrics.listen,
                                   " port ", out.metrics->port()));
  }
  if (!settings.control.socket.empty()) {
    out.commands = std::make_unique<ops::ControlCommands>(server, Clock::Real());
    auto control = ops::ControlServer::Start(
        settings.control.socket, [commands = out.commands.get()](
                                     const std::string& line) {
          return commands->Run(line);
        });
    if (!control.ok()) return control.status();
    out.control = *std::move(control);
    LogInfo("server",
            absl::StrCat("control socket ", settings.control.socket));
  }
  return absl::OkStatus();
}

// Runs `server` until SIGINT/SIGTERM; returns the exit code (0 clean, 1 runtime
// failure).
int RunUntilSignalled(const ServerSettings& settings, Server& server,
                      ServerProgram& program) {
  const ServerConfig& config = settings.server;
  absl::Status status = server.Start();
  if (!status.ok()) return StartFailed(config, status);
  OpsEndpoints endpoints;
  status = StartOps(settings, server, program, endpoints);
  if (status.ok()) status = program.OnServerStarted(server);
  if (!status.ok()) {
    endpoints.control.reset();
    endpoints.metrics.reset();
    server.Stop();
    program.OnServerStopped();
    return StartFailed(config, status);
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
  endpoints.control.reset();
  endpoints.metrics.reset();
  server.Stop();
  program.OnServerStopped();
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
  return RunUntilSignalled(settings, server, program);
}

}  // namespace muwarden::runtime
