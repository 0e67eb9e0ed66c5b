// An in-process server for integration tests that need the runtime's counters:
// the real accept thread, worker pool and ConnectServer session on 127.0.0.1
// port 0, with settings given as --set texts.
#ifndef MUWARDEN_TESTS_INTEGRATION_IN_PROCESS_H_
#define MUWARDEN_TESTS_INTEGRATION_IN_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/runtime/server.h"
#include "server/connect/connect_session.h"
#include "server/connect/connect_settings.h"

namespace muwarden::testing {

class InProcessConnectServer {
 public:
  // Starts on 127.0.0.1 (or `bind`) port 0; false with a message on failure.
  bool Start(std::vector<std::string> sets, connect::ConnectLimits limits = {},
             const std::string& bind = "127.0.0.1");
  void Stop();
  ~InProcessConnectServer() { Stop(); }
  // Before Start: false makes every greeted socket wait on a worker thread
  // (the path without the PendingWaiter), for comparisons.
  void set_park_silent(bool park) { park_silent_ = park; }

  int port() const { return server_->port(); }
  runtime::Server& server() { return *server_; }
  const connect::ConnectSettings& settings() const { return settings_; }

 private:
  connect::ConnectSettings settings_;
  connect::ConnectLimits limits_;
  std::unique_ptr<runtime::Server> server_;
  bool park_silent_ = true;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_INTEGRATION_IN_PROCESS_H_
