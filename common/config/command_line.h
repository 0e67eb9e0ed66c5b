// Command line of both binaries (SPEC section 2) with CLI11: flags, --set
// overrides, the INI file, --check-config, --print-config, --version.
// Precedence: defaults < file < flags. Relative paths inside a config file are
// taken relative to that file's directory. Not thread-safe; called once from
// main().
#ifndef MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_
#define MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/types/optional.h"
#include "common/config/settings.h"

namespace muwarden::config {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

enum class Mode { kRun, kAccount };

struct CommandLine {
  // Set when the program must exit now with this code (help, version, check,
  // print, errors).
  absl::optional<int> exit_code;
  Mode mode = Mode::kRun;
  ServerSettings settings;
  std::string config_path;                // empty when no --config
  std::vector<std::string> account_args;  // game-server: `account ...`
};

// Parses argv; messages for help/version/print go to `out`, errors to `err`.
CommandLine ParseCommandLine(ServerKind kind, int argc, const char* const* argv,
                             std::ostream& out, std::ostream& err);

// Loads settings as the command line would, from a file path (may be empty) and
// --set texts. For tests and tools. Errors are collected in `errors`.
ServerSettings LoadSettings(ServerKind kind, const std::string& config_path,
                            const std::vector<std::string>& sets,
                            SettingsErrors& errors);

}  // namespace muwarden::config

#endif  // MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_
