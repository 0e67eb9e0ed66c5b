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

constexpr char kVersion[] = "0.1.0";

std::string DirectoryOf(const std::string& path) {
  char resolved[PATH_MAX];
  std::string absolute = path;
  if (realpath(path.c_str(), resolved) != nullptr) absolute = resolved;
  size_t slash = absolute.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return absolute.substr(0, slash);
}

bool IsPathKey(const Assignment& a) {
  return (a.section == "security" && a.key == "ban_file") ||
         (a.section == "log" && a.key == "file") ||
         (a.section == "game" && a.key == "database");
}

}  // namespace

ServerSettings LoadSettings(ServerKind kind, const std::string& config_path,
                            const std::vector<std::string>& sets,
                            SettingsErrors& errors) {
  ServerSettings settings = DefaultSettings(kind);
  std::vector<Assignment> assignments;
  bool ban_file_given = false;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) {
      errors.Add(absl::StrCat(config_path,
                              ": cannot be read: ", std::strerror(errno)));
      return settings;
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string dir = DirectoryOf(config_path);
    for (Assignment& a : ParseIni(text.str(), config_path, errors)) {
      if (IsPathKey(a) && !a.value.empty() && a.value[0] != '/') {
        a.value = absl::StrCat(dir, "/", a.value);
      }
      assignments.push_back(std::move(a));
    }
    // SPEC: the ban file defaults to bans.txt beside the config file.
    settings.security.ban_file = absl::StrCat(dir, "/bans.txt");
  }
  for (const std::string& set : sets) {
    Assignment a;
    if (ParseSetFlag(set, &a, errors)) assignments.push_back(std::move(a));
  }
  for (const Assignment& a : assignments) {
    if (a.section == "security" && a.key == "ban_file") ban_file_given = true;
  }
  (void)ban_file_given;
  Apply(assignments, settings, errors);
  ValidateWhole(settings, errors);
  return settings;
}

CommandLine ParseCommandLine(ServerKind kind, int argc, const char* const* argv,
                             std::ostream& out, std::ostream& err) {
  const std::string program =
      kind == ServerKind::kConnect ? "connect-server" : "game-server";
  CommandLine result;
  CLI::App app(kind == ServerKind::kConnect
                   ? "muwarden ConnectServer: hello, server list, server info"
                   : "muwarden GameServer: join, login, game protocol",
               program);
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
  if (kind == ServerKind::kGame) {
    account = app.add_subcommand(
        "account",
        "manage accounts: add NAME | passwd NAME | block NAME [--until TIME | "
        "--for SECONDS] | "
        "unblock NAME | list | show NAME (passwords are read from stdin)");
    account->prefix_command();
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    result.exit_code = kExitOk;
    return result;
  } catch (const CLI::ParseError& e) {
    err << program << ": " << e.what() << "\n";
    result.exit_code = kExitUsage;
    return result;
  }
  if (version) {
    out << program << " " << kVersion << "\n";
    result.exit_code = kExitOk;
    return result;
  }
  // Named flags are shorthands for --set and come before the --set list, so an
  // explicit
  // --set of the same key wins.
  std::vector<std::string> all_sets;
  if (app.count("--bind")) all_sets.push_back("server.bind=" + bind);
  if (app.count("--port"))
    all_sets.push_back(absl::StrCat("server.port=", port));
  if (app.count("--log-file")) all_sets.push_back("log.file=" + log_file);
  if (app.count("--ban-file"))
    all_sets.push_back("security.ban_file=" + ban_file);
  all_sets.insert(all_sets.end(), sets.begin(), sets.end());

  SettingsErrors errors;
  result.settings = LoadSettings(kind, result.config_path, all_sets, errors);
  if (!errors.empty()) {
    for (const std::string& message : errors.messages()) {
      err << program << ": " << message << "\n";
    }
    err << program << ": " << errors.messages().size()
        << " settings error(s); not starting\n";
    result.exit_code = kExitUsage;
    return result;
  }
  if (check) {
    out << program << ": settings OK\n";
    result.exit_code = kExitOk;
    return result;
  }
  if (print) {
    out << PrintIni(result.settings);
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
