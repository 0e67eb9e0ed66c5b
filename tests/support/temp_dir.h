// Test support: a private directory under gtest's temp dir, removed with all
// it holds when the object dies, and whole-file write/read helpers for the
// tests that check files on disk. Header-only; each TempDir is owned by one
// test, the helpers are thread-safe.
#ifndef MUWARDEN_TESTS_SUPPORT_TEMP_DIR_H_
#define MUWARDEN_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace muwarden::testing {

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class TempDir {
 public:
  // `prefix` names the directory ("<prefix>_XXXXXX") so a leftover one says
  // which test made it.
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = ::testing::TempDir() + "/" + prefix + "_XXXXXX";
    const char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << tmpl;
    if (made != nullptr) dir_ = made;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& path() const { return dir_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `text` to the file `name` in this directory; its path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = Path(name);
    WriteFile(path, text);
    return path;
  }

 private:
  std::string dir_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_TEMP_DIR_H_
