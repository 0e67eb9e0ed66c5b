#include "common/config/command_line.h"

#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"

namespace muwarden::config {
namespace {

std::string DirectoryOf(const std::string& path) {
  char resolved[PATH_MAX];
  std::string absolute = path;
  if (realpath(path.c_str(), resolved) != nullptr) absolute = resolved;
  const size_t slash = absolute.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return absolute.substr(0, slash);
}

}  // namespace

std::string IniTitle(const Program& program) {
  return absl::StrCat(
      "muwarden ", program.name,
      " settings. Every key is listed with a one-line comment and its range.\n"
      "Durations are seconds (fractions allowed, e.g. 0.5).");
}

void LoadSettings(Schema& schema, const std::string& config_path,
                  const std::vector<std::string>& sets,
                  SettingsErrors& errors) {
  std::vector<Assignment> assignments;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) {
      errors.Add(absl::StrCat(config_path,
                              ": cannot be read: ", std::strerror(errno)));
      return;
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string dir = DirectoryOf(config_path);
    schema.SetConfigDir(dir);
    assignments = ParseIni(text.str(), config_path, dir, errors);
  }
  for (const std::string& set : sets) {
    Assignment a;
    if (ParseSetFlag(set, &a, errors)) assignments.push_back(std::move(a));
  }
  schema.Apply(assignments, errors);
  schema.Finish(errors);
}

CommandLine ParseCommandLine(const Program& program, Schema& schema, int argc,
                             const char* const* argv, std::ostream& out,
                             std::ostream& err) {
  CommandLine result;
  CLI::App app(program.description, program.name);
  std::string bind, log_file, ban_file;
  int port = 0;
  std::vector<std::string> sets;
  bool check = false, print = false, version = false;
  app.add_option("--config", result.config_path, "INI settings file");
  app.add_option("--bind", bind, "listen address (server.bind)");
  app.add_option("--port", port, "listen port (server.port)");
  app.add_option("--log-file", log_file, "log file (log.file)");
  app.add_option("--ban-file", ban_file, "ban file (security.ban_file)");
  app.add_option("--set", sets,
                 "override any key: SECTION.KEY=VALUE (repeatable)");
  app.add_flag("--check-config", check, "validate the settings and exit");
  app.add_flag("--print-config", print,
               "print the effective settings as INI and exit");
  app.add_flag("--version", version, "print the version and exit");
  CLI::App* account = nullptr;
  if (program.account_command) {
    account = app.add_subcommand(
        "account",
        "manage accounts: add NAME | passwd NAME | block NAME [--until TIME | "
        "--for SECONDS] | unblock NAME | list | show NAME (passwords are read "
        "from stdin)");
    account->prefix_command();
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    result.exit_code = kExitOk;
    return result;
  } catch (const CLI::ParseError& e) {
    err << program.name << ": " << e.what() << "\n";
    result.exit_code = kExitUsage;
    return result;
  }
  if (version) {
    out << program.name << " " << kVersion << "\n";
    result.exit_code = kExitOk;
    return result;
  }
  // Named flags are shorthands for --set and come before the --set list, so
  // an explicit --set of the same key wins.
  std::vector<std::string> all_sets;
  if (app.count("--bind")) all_sets.push_back("server.bind=" + bind);
  if (app.count("--port")) {
    all_sets.push_back(absl::StrCat("server.port=", port));
  }
  if (app.count("--log-file")) all_sets.push_back("log.file=" + log_file);
  if (app.count("--ban-file")) {
    all_sets.push_back("security.ban_file=" + ban_file);
  }
  all_sets.insert(all_sets.end(), sets.begin(), sets.end());

  SettingsErrors errors;
  LoadSettings(schema, result.config_path, all_sets, errors);
  if (!errors.empty()) {
    for (const std::string& message : errors.messages()) {
      err << program.name << ": " << message << "\n";
    }
    err << program.name << ": " << errors.messages().size()
        << " settings error(s); not starting\n";
    result.exit_code = kExitUsage;
    return result;
  }
  if (check) {
    out << program.name << ": settings OK\n";
    result.exit_code = kExitOk;
    return result;
  }
  if (print) {
    out << schema.PrintIni(IniTitle(program));
    result.exit_code = kExitOk;
    return result;
  }
  if (account != nullptr && account->parsed()) {
    result.mode = Mode::kAccount;
    result.account_args = account->remaining();
  }
  return result;
}

}  // namespace muwarden::config
