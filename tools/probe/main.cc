// muwarden-probe: health check for the Docker image, systemd and monitoring.
// Connects to each target and exits 0 when one greets like a MU server (the
// ConnectServer hello or the GameServer join) within the timeout, else 1;
// 2 for a usage error. Targets: the arguments, else $MUWARDEN_PROBE_TARGETS,
// else both servers' default ports on 127.0.0.1.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "common/base/clock.h"
#include "tools/probe/hello_probe.h"

namespace {

constexpr char kDefaultTargets[] = "127.0.0.1:44405,127.0.0.1:55901";
constexpr double kMaxTimeoutSeconds = 300;

const char* GreetingName(muwarden::probe::Greeting greeting) {
  switch (greeting) {
    case muwarden::probe::Greeting::kConnect:
      return "ConnectServer hello";
    case muwarden::probe::Greeting::kGame:
      return "GameServer join";
    default:
      return "greeting";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace muwarden;
  CLI::App app(
      "muwarden-probe: exits 0 when a target greets like a MU server (the "
      "ConnectServer hello C1 04 00 01 or the GameServer join C1 0C F1 00 01 "
      "...) within the timeout, else 1.",
      "muwarden-probe");
  std::vector<std::string> target_args;
  double timeout_seconds = 3;
  std::string expect_text = "any";
  bool all = false;
  bool quiet = false;
  app.add_option("targets", target_args,
                 "HOST:PORT or [IPv6]:PORT (default: $MUWARDEN_PROBE_TARGETS, "
                 "else 127.0.0.1:44405 and 127.0.0.1:55901)");
  app.add_option("--timeout", timeout_seconds,
                 "seconds for all targets together (default 3)");
  app.add_option("--expect", expect_text,
                 "any, connect or game: which greeting counts (default any)");
  app.add_flag("--all", all, "every target must pass, not just one");
  app.add_flag("-q,--quiet", quiet, "print nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "muwarden-probe: %s\n", e.what());
    return 2;
  }
  if (!(timeout_seconds > 0 && timeout_seconds <= kMaxTimeoutSeconds)) {
    std::fprintf(stderr, "muwarden-probe: --timeout must be in (0, %g]\n",
                 kMaxTimeoutSeconds);
    return 2;
  }
  auto expect = probe::ParseExpect(expect_text);
  if (!expect.ok()) {
    std::fprintf(stderr, "muwarden-probe: %s\n",
                 std::string(expect.status().message()).c_str());
    return 2;
  }
  std::string list;
  if (!target_args.empty()) {
    for (const std::string& t : target_args) absl::StrAppend(&list, t, ",");
  } else if (const char* env = std::getenv("MUWARDEN_PROBE_TARGETS");
             env != nullptr && *env != '\0') {
    list = env;
  } else {
    list = kDefaultTargets;
  }
  auto targets = probe::ParseTargetList(list);
  if (!targets.ok() || targets->empty()) {
    std::fprintf(stderr, "muwarden-probe: %s\n",
                 targets.ok()
                     ? "no target"
                     : std::string(targets.status().message()).c_str());
    return 2;
  }
  const auto results =
      probe::ProbeAll(*targets, *expect, absl::Seconds(timeout_seconds),
                      muwarden::Clock::Real());
  size_t passed = 0;
  for (const auto& r : results) {
    if (r.status.ok()) ++passed;
    if (quiet) continue;
    const std::string elapsed =
        absl::StrCat(absl::ToInt64Milliseconds(r.elapsed), " ms");
    if (r.status.ok()) {
      std::printf("%s: OK, %s in %s\n", r.target.ToString().c_str(),
                  GreetingName(r.greeting), elapsed.c_str());
    } else {
      std::printf("%s: FAIL, %s (%s)\n", r.target.ToString().c_str(),
                  std::string(r.status.message()).c_str(), elapsed.c_str());
    }
  }
  const bool ok = all ? passed == results.size() : passed > 0;
  return ok ? 0 : 1;
}
