#include "common/base/durable_file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace muwarden {
namespace {

using ::muwarden::testing::ReadAll;
using ::muwarden::testing::TempDir;
using ::muwarden::testing::WriteFile;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(DirOfTest, Folders) {
  EXPECT_EQ(DirOf("bans.txt"), ".");
  EXPECT_EQ(DirOf("/bans.txt"), "/");
  EXPECT_EQ(DirOf("/var/lib/muwarden/bans.txt"), "/var/lib/muwarden");
  EXPECT_EQ(DirOf("state/bans.txt"), "state");
}

TEST(ReadWholeFileTest, ReadsMissingIsNotFoundOverCapIsExhausted) {
  TempDir dir("durable");
  const std::string path = dir.Path("f.txt");
  absl::StatusOr<std::string> read = ReadWholeFile(path, 100);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(read.status().message(), path))
      << read.status();
  EXPECT_TRUE(absl::StrContains(read.status().message(), "No such file"))
      << read.status();

  WriteFile(path, std::string("a\0b\n", 4));
  read = ReadWholeFile(path, 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string("a\0b\n", 4));

  EXPECT_TRUE(ReadWholeFile(path, 4).ok());
  read = ReadWholeFile(path, 3);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(read.status().message(), path));
}

TEST(ReadWholeFileTest, AFolderIsAnErrorNotAMissingFile) {
  TempDir dir("durable");
  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  absl::StatusOr<std::string> read = ReadWholeFile(dir.Path("sub"), 100);
  EXPECT_FALSE(read.ok());
  EXPECT_NE(read.status().code(), absl::StatusCode::kNotFound);
}

TEST(WriteFileAtomicallyTest, CreatesAndReplacesLeavingNoTempFile) {
  TempDir dir("durable");
  const std::string path = dir.Path("f.txt");
  bool replaced = false;
  ASSERT_TRUE(WriteFileAtomically(path, "one\n", &replaced).ok());
  EXPECT_TRUE(replaced);
  EXPECT_EQ(ReadAll(path), "one\n");
  EXPECT_FALSE(Exists(path + ".tmp"));

  ASSERT_TRUE(WriteFileAtomically(path, "two\nlines\n").ok());
  EXPECT_EQ(ReadAll(path), "two\nlines\n");
  EXPECT_FALSE(Exists(path + ".tmp"));

  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadAll(path), "");
}

TEST(WriteFileAtomicallyTest, KeepsTheModeOfTheFileItReplaces) {
  TempDir dir("durable");
  const std::string path = dir.Write("f.txt", "old\n");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "new\n").ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ReadAll(path), "new\n");
}

TEST(WriteFileAtomicallyTest, AFailureLeavesTheOldFileAndNamesThePath) {
  TempDir dir("durable");
  // The temp sibling cannot be created inside a folder that does not exist.
  const std::string path = dir.Path("sub/f.txt");
  bool replaced = true;
  absl::Status status = WriteFileAtomically(path, "x\n", &replaced);
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(replaced);
  EXPECT_TRUE(absl::StrContains(status.message(), path + ".tmp")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "No such file")) << status;

  // A rename over a folder fails after the temp file was written: the folder
  // stays, the temp file is removed.
  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  status = WriteFileAtomically(dir.Path("sub"), "x\n", &replaced);
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(replaced);
  EXPECT_TRUE(absl::StrContains(status.message(), "cannot rename over"))
      << status;
  EXPECT_FALSE(Exists(dir.Path("sub.tmp")));
  ::unlink(dir.Path("sub.tmp").c_str());
}

TEST(AppendLineDurablyTest, CreatesThenAppends) {
  TempDir dir("durable");
  const std::string path = dir.Path("f.txt");
  const mode_t old_mask = ::umask(022);
  ASSERT_TRUE(AppendLineDurably(path, "first").ok());
  ::umask(old_mask);
  EXPECT_EQ(ModeOf(path), 0644u);
  ASSERT_TRUE(AppendLineDurably(path, "second").ok());
  EXPECT_EQ(ReadAll(path), "first\nsecond\n");
}

TEST(AppendLineDurablyTest, ALastLineWithoutNewlineStaysItsOwnLine) {
  TempDir dir("durable");
  const std::string path = dir.Write("f.txt", "# edited by hand\n1.2.3.4");
  ASSERT_TRUE(AppendLineDurably(path, "5.6.7.8").ok());
  EXPECT_EQ(ReadAll(path), "# edited by hand\n1.2.3.4\n5.6.7.8\n");
}

TEST(AppendLineDurablyTest, AFailureNamesThePathAndTheErrno) {
  TempDir dir("durable");
  const std::string path = dir.Path("sub/f.txt");
  absl::Status status = AppendLineDurably(path, "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(status.message(), "cannot open " + path))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "No such file")) << status;
}

TEST(FsyncDirTest, SyncsAFolderAndReportsAMissingOne) {
  TempDir dir("durable");
  EXPECT_TRUE(FsyncDir(dir.Path("")).ok());
  absl::Status status = FsyncDir(dir.Path("sub"));
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "cannot open directory"))
      << status;
}

}  // namespace
}  // namespace muwarden
