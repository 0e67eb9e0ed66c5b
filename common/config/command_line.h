// Command line of both binaries (SPEC section 2) with CLI11: flags, --set
// overrides, the INI file, --check-config, --print-config, --version.
// Precedence: defaults < file < flags. Settings are loaded through the
// binary's Schema, so every key is parsed once, by its unit's description.
// Relative paths inside a config file are taken relative to that file's
// folder. Not thread-safe; called once from main().
#ifndef MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_
#define MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/types/optional.h"
#include "common/config/schema.h"

namespace muwarden::config {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

inline constexpr char kVersion[] = "0.1.0";

// What differs between the two binaries' command lines.
struct Program {
  std::string name;              // "connect-server"
  std::string description;       // first line of --help
  bool account_command = false;  // game-server: `account ...`
};

enum class Mode { kRun, kAccount };

struct CommandLine {
  // Set when the program must exit now with this code (help, version, check,
  // print, errors).
  absl::optional<int> exit_code;
  Mode mode = Mode::kRun;
  std::string config_path;                // empty when no --config
  std::vector<std::string> account_args;  // game-server: `account ...`
};

// Parses argv and loads the settings into what `schema` describes; messages
// for help/version/print go to `out`, errors to `err`.
CommandLine ParseCommandLine(const Program& program, Schema& schema, int argc,
                             const char* const* argv, std::ostream& out,
                             std::ostream& err);

// Loads settings as the command line would, from a file path (may be empty) and
// --set texts, into what `schema` describes. For tests and tools; errors are
// collected in `errors`.
void LoadSettings(Schema& schema, const std::string& config_path,
                  const std::vector<std::string>& sets, SettingsErrors& errors);

// LoadSettings into a fresh `Settings` (any struct with
// `void Describe(Schema&)` and its defaults in its constructor).
template <typename Settings>
Settings Load(const std::string& config_path,
              const std::vector<std::string>& sets, SettingsErrors& errors) {
  Settings settings;
  Schema schema;
  settings.Describe(schema);
  LoadSettings(schema, config_path, sets, errors);
  return settings;
}

// The first comment lines of --print-config.
std::string IniTitle(const Program& program);

}  // namespace muwarden::config

#endif  // MUWARDEN_COMMON_CONFIG_COMMAND_LINE_H_
