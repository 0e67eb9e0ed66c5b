// The operator command `game-server account ...`: add, passwd, block,
// unblock, list and show on the account database, passwords read from stdin.
// Each call opens the store, runs one command and closes it; thread-compatible.
#ifndef MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_CLI_H_
#define MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_CLI_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "server/game/account/account_store.h"

namespace muwarden::game {

// `args` are the words after `account`, e.g. {"block", "test0", "--for",
// "3600"}. Passwords (add, passwd) are the first line of `in` without its line
// end; when `in` is std::cin on a terminal, echo is switched off while typing.
// Results go to `out`, one-line errors to `err`. Returns the exit code: 0 done,
// 2 bad usage or input (invalid name or password, no such account, name
// taken, bad settings), 1 runtime failure (database cannot be opened or
// written). No password is ever written anywhere.
int RunAccountCommand(const std::vector<std::string>& args,
                      const AccountStoreConfig& config, std::istream& in,
                      std::ostream& out, std::ostream& err);

// Same with an explicit clock (tests; block --for and expiry use WallNow()).
int RunAccountCommand(const std::vector<std::string>& args,
                      const AccountStoreConfig& config, Clock& clock,
                      std::istream& in, std::ostream& out, std::ostream& err);

// The usage text printed by `account help`.
extern const char kAccountUsage[];

}  // namespace muwarden::game

#endif  // MUWARDEN_SERVER_GAME_ACCOUNT_ACCOUNT_CLI_H_
