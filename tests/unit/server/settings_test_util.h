// Checks shared by both binaries' settings tests: the shipped INI file is what
// the key descriptions print for it, and the loader's messages as one text.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_
#define MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_

#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/config/command_line.h"
#include "common/config/schema.h"
#include "gtest/gtest.h"

namespace muwarden::testing {

// Every message, each on its own line.
inline std::string Joined(const config::SettingsErrors& errors) {
  std::string out;
  for (const auto& m : errors.messages()) out += m + "\n";
  return out;
}

// A settings struct loaded with its schema kept, so a test can print it.
template <typename Settings>
struct Loaded {
  Loaded(const std::string& config_path, const std::vector<std::string>& sets) {
    settings.Describe(schema);
    config::LoadSettings(schema, config_path, sets, errors);
  }
  Loaded(const Loaded&) = delete;  // the schema points into `settings`

  std::string Errors() const { return Joined(errors); }
  std::string Printed() const { return schema.PrintIni("t"); }
  // Prints, writes the text to a file and loads it again.
  std::string ReloadedPrint() const {
    const std::string path = ::testing::TempDir() + "/printed.ini";
    std::ofstream(path) << Printed();
    Loaded again(path, {});
    EXPECT_TRUE(again.errors.empty()) << again.Errors();
    return again.Printed();
  }

  Settings settings;
  config::Schema schema;
  config::SettingsErrors errors;
};

// The shipped file is what the descriptions print for it (the order of keys,
// every comment and range; `scripts/update-configs` writes it), plus the notes
// it adds: comment lines after a key's first comment line.
inline void ExpectShippedFileIsWhatTheDescriptionsPrint(
    const config::Schema& shipped_schema, const config::Program& program,
    const std::string& path) {
  std::ifstream in(path);
  std::string line, without_notes;
  bool in_section = false, after_comment = false;
  while (std::getline(in, line)) {
    const bool comment = !line.empty() && (line[0] == ';' || line[0] == '#');
    if (!line.empty() && line[0] == '[') in_section = true;
    if (!(comment && after_comment && in_section)) without_notes += line + "\n";
    after_comment = comment;
  }
  std::string printed = shipped_schema.PrintIni(config::IniTitle(program));
  // Paths are printed resolved; the file holds them relative to its folder.
  char resolved[PATH_MAX];
  const std::string real =
      realpath(path.c_str(), resolved) != nullptr ? resolved : path;
  const std::string dir = real.substr(0, real.rfind('/') + 1);
  for (size_t at; (at = printed.find(dir)) != std::string::npos;) {
    printed.erase(at, dir.size());
  }
  EXPECT_EQ(without_notes, printed)
      << path << " is not what the key descriptions print: run "
      << "scripts/update-configs after building";
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_
