// Checks shared by both binaries' settings tests: the shipped INI file holds
// every described key in its section, with the description's comment as the
// first comment line above it; and the loader's messages as one text.
#ifndef MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_
#define MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_

#include <fstream>
#include <map>
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

// "section.key" -> the first comment line above it in an INI file.
inline std::map<std::string, std::string> CommentedKeys(
    const std::string& path) {
  std::map<std::string, std::string> keys;
  std::ifstream in(path);
  std::string line, section, first_comment;
  bool in_comments = false;
  while (std::getline(in, line)) {
    if (line.empty()) {
      in_comments = false;
      continue;
    }
    if (line[0] == ';' || line[0] == '#') {
      if (!in_comments)
        first_comment = line.substr(line.find_first_not_of("; #"));
      in_comments = true;
      continue;
    }
    in_comments = false;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    keys[section + "." + line.substr(0, line.find(" ="))] = first_comment;
  }
  return keys;
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

// Every key the schema describes is in the file with the schema's comment.
inline void ExpectShippedFileDocumentsEveryKey(const config::Schema& schema,
                                               const std::string& path) {
  const auto in_file = CommentedKeys(path);
  for (const std::string& name : schema.KeyNames()) {
    auto it = in_file.find(name);
    ASSERT_NE(it, in_file.end()) << path << " lacks " << name;
    const size_t dot = name.find('.');
    EXPECT_EQ(it->second,
              schema.HelpOf(name.substr(0, dot), name.substr(dot + 1)))
        << path << ": comment of " << name;
  }
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_UNIT_SERVER_SETTINGS_TEST_UTIL_H_
