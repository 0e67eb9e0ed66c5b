#include "tests/integration/in_process.h"

#include <signal.h>

#include <cstdio>

#include "common/base/log.h"
#include "common/guard/security_log.h"
#include "tests/integration/harness.h"

namespace muwarden::testing {

bool InProcessConnectServer::Start(std::vector<std::string> sets,
                                   connect::ConnectLimits limits,
                                   const std::string& bind) {
  ::signal(SIGPIPE, SIG_IGN);
  sets.insert(sets.begin(), {"server.bind=" + bind, "server.port=0"});
  config::SettingsErrors errors;
  settings_ = config::Load<connect::ConnectSettings>("", sets, errors);
  if (!errors.empty()) {
    for (const auto& m : errors.messages())
      std::fprintf(stderr, "%s\n", m.c_str());
    return false;
  }
  // The server's log goes to a file, as in production: a flood's security lines
  // written to the test runner's pipe could block the accept thread on a slow
  // reader of that pipe.
  LogConfig log;
  log.file = MakeTempDir() + "/server.log";
  guard::SecurityLog::Get().Configure(settings_.base.security_log);
  Logger::Get().Configure(log).IgnoreError();
  limits_ = limits;
  runtime::ServerConfig config = settings_.base.server;
  config.park_silent = park_silent_;
  server_ = std::make_unique<runtime::Server>(
      config, [this](runtime::Connection&) {
        return std::make_unique<connect::ConnectSession>(settings_.gameservers,
                                                         limits_);
      });
  absl::Status status = server_->Start();
  if (!status.ok()) {
    std::fprintf(stderr, "start: %s\n", status.ToString().c_str());
    return false;
  }
  return true;
}

void InProcessConnectServer::Stop() {
  if (server_) server_->Stop();
}

}  // namespace muwarden::testing
