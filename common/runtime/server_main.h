// ServerMain: what both binaries do after their settings are loaded: configure
// the logger, block signals for every thread, start the Server, then wait in
// the main thread for SIGHUP (reload bans) and SIGINT/SIGTERM (stop accepting,
// close clients, exit 0). Called once from main(); not reentrant.
#ifndef MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_
#define MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_

#include "common/base/log.h"
#include "common/runtime/server.h"

namespace muwarden::runtime {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (inherited by every
// thread started afterwards) and ignores SIGPIPE. Call before any thread is
// created.
void BlockServerSignals();

// Applies the loaded [log] settings and the security log's burst to the
// process logger. False (with a message on stderr) when the log file cannot be
// opened.
bool ConfigureLogging(const LogConfig& log);

// Runs `server` until SIGINT/SIGTERM; returns the exit code (0 clean, 1 runtime
// failure).
int RunUntilSignalled(const ServerConfig& config, Server& server);

}  // namespace muwarden::runtime

#endif  // MUWARDEN_COMMON_RUNTIME_SERVER_MAIN_H_
