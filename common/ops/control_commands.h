// ControlCommands: the commands of the [control] socket (SPEC section 12)
// run against a live Server: ban ADDR|CIDR [--for SECONDS] [--reason TEXT],
// unban ADDR|CIDR, bans, kick ADDR|CIDR, status, reload. A command line is
// words split on blanks; `--reason` takes the rest of the line. Bans are
// made durable (BanList::Add fsyncs) before they are logged, like autobans;
// a ban also kicks the block's live connections. Thread-safe as the Server
// is; one command at a time (the control thread).
#ifndef MUWARDEN_COMMON_OPS_CONTROL_COMMANDS_H_
#define MUWARDEN_COMMON_OPS_CONTROL_COMMANDS_H_

#include <string>

#include "common/base/clock.h"
#include "common/ops/control_server.h"
#include "common/runtime/server.h"

namespace muwarden::ops {

// Replies of a refused command start with "usage: " when the command line
// itself is wrong (muwarden-ctl exits 2 for those, 1 for other refusals).
inline constexpr char kUsagePrefix[] = "usage: ";

class ControlCommands {
 public:
  ControlCommands(runtime::Server& server, Clock& clock);

  ControlReply Run(const std::string& line);

 private:
  ControlReply Ban(const std::vector<std::string>& words,
                   const std::string& reason);
  ControlReply Unban(const std::string& target);
  ControlReply Bans();
  ControlReply Kick(const std::string& target);
  ControlReply Status();
  ControlReply Reload();

  runtime::Server& server_;
  Clock& clock_;
};

}  // namespace muwarden::ops

#endif  // MUWARDEN_COMMON_OPS_CONTROL_COMMANDS_H_
