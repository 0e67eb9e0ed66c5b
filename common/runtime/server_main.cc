#include "common/runtime/server_main.h"

#include <signal.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/guard/security_log.h"

namespace muwarden::runtime {

void BlockServerSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool ConfigureLogging(const config::ServerSettings& settings) {
  LogConfig log;
  log.file = settings.log.file;
  log.level = settings.log.level;
  guard::SecurityLog::Get().Configure(guard::SecurityLogConfig{
      .burst = settings.security.log_burst,
      .max_tracked = static_cast<size_t>(settings.server.max_tracked_ips)});
  absl::Status status = Logger::Get().Configure(log);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return false;
  }
  return true;
}

int RunUntilSignalled(const config::ServerSettings& settings, Server& server) {
  absl::Status status = server.Start();
  if (!status.ok()) {
    LogError("server", std::string(status.message()));
    std::fprintf(stderr, "%s: %s\n", settings.server.name.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  LogInfo("server",
          absl::StrCat(settings.server.name, " listening on ",
                       settings.server.bind, " port ", server.port()));
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

}  // namespace muwarden::runtime
