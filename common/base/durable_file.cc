#include "common/base/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace muwarden {
namespace {

// "<what> <path>: <errno text>", with the canonical code for the errno.
absl::Status ErrnoError(int err, absl::string_view what,
                        absl::string_view path) {
  absl::Status status = absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
  // kNotFound is promised for a missing path only; ENXIO, ENODEV and the like
  // are something else the operator must fix.
  if (absl::IsNotFound(status) && err != ENOENT) {
    return absl::FailedPreconditionError(status.message());
  }
  return status;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Syncs and closes fd; reports the first failure.
absl::Status SyncAndClose(int fd, const std::string& path) {
  absl::Status status;
  if (::fsync(fd) != 0) status = ErrnoError(errno, "cannot fsync", path);
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoError(errno, "cannot close", path);
  }
  return status;
}

}  // namespace

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(err, "cannot fsync directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents, bool* replaced) {
  if (replaced != nullptr) *replaced = false;
  const std::string tmp = path + ".tmp";
  mode_t mode = 0644;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "cannot create", tmp);
  absl::Status status = WriteAll(fd, contents, tmp);
  if (!status.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  }
  if (status = SyncAndClose(fd, tmp); !status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "cannot rename over", path);
  }
  if (replaced != nullptr) *replaced = true;
  return FsyncDir(DirOf(path));
}

absl::Status AppendLineDurably(const std::string& path,
                               absl::string_view line) {
  bool created = false;
  // Read access too: pread checks the last byte.
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
                0644);
    created = fd >= 0;
  }
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      data.push_back('\n');
    }
  }
  absl::StrAppend(&data, line, "\n");
  absl::Status status = WriteAll(fd, data, path);
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  status = SyncAndClose(fd, path);
  if (status.ok() && created) status = FsyncDir(DirOf(path));
  return status;
}

}  // namespace muwarden
