// Durable files: the state the server must not lose in a crash (the ban file
// now, the known-blocks file and others later). A whole file is replaced
// through a temp sibling, fsync, rename and an fsync of its folder, so a crash
// leaves the old file or the new one, never a mix; an appended line is on disk
// when the call returns. Errors name the path and the errno text.
// Thread-compatible: callers serialise access to one path.
#ifndef MUWARDEN_COMMON_BASE_DURABLE_FILE_H_
#define MUWARDEN_COMMON_BASE_DURABLE_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace muwarden {

// The whole file. kNotFound exactly when the path does not exist (ENOENT);
// kResourceExhausted, and nothing more read, once it passes max_bytes.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          size_t max_bytes);

// Replaces `path` with `contents`: writes `path`.tmp, fsyncs and renames it
// over `path`, then fsyncs the folder. A new file gets mode 0644 (less the
// umask); a replaced one keeps its mode. On a failure before the rename
// `path` is untouched and the temp file removed. `*replaced` (when given)
// says whether the rename happened, so a caller that tracks the file's
// contents knows which version is in place even when the folder's fsync
// failed.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents,
                                 bool* replaced = nullptr);

// Appends `line` and a newline and fsyncs before returning. A file whose last
// byte is not a newline (an operator's edit) gets one first, so the line
// stands alone. A missing file is created (0644 less the umask) and its folder
// fsynced, so the new name survives a crash too.
absl::Status AppendLineDurably(const std::string& path, absl::string_view line);

// The folder holding `path`: "." for a bare name, "/" for a file in the root.
std::string DirOf(const std::string& path);

// fsyncs the folder `dir`, which makes a created or renamed name in it durable.
absl::Status FsyncDir(const std::string& dir);

}  // namespace muwarden

#endif  // MUWARDEN_COMMON_BASE_DURABLE_FILE_H_
