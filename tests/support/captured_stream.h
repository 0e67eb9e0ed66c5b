// Test support: a temp FILE* for a Logger to write into (SetStreamForTest), and
// what has been written to it so far. Header-only; one owner, not thread-safe
// (the Logger writing into it serialises its own writes).
#ifndef MUWARDEN_TESTS_SUPPORT_CAPTURED_STREAM_H_
#define MUWARDEN_TESTS_SUPPORT_CAPTURED_STREAM_H_

#include <algorithm>
#include <cstdio>
#include <string>

namespace muwarden::testing {

class CapturedStream {
 public:
  CapturedStream() : file_(std::tmpfile()) {}
  CapturedStream(const CapturedStream&) = delete;
  CapturedStream& operator=(const CapturedStream&) = delete;
  ~CapturedStream() { std::fclose(file_); }

  std::FILE* file() { return file_; }
  // Everything written so far.
  std::string Text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) out.append(buf, n);
    return out;
  }
  int Lines() {
    const std::string t = Text();
    return static_cast<int>(std::count(t.begin(), t.end(), '\n'));
  }

 private:
  std::FILE* file_;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_CAPTURED_STREAM_H_
