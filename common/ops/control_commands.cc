#include "common/ops/control_commands.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base/durable_file.h"
#include "common/base/log.h"
#include "common/guard/ban_line.h"

namespace muwarden::ops {
namespace {

constexpr char kCommands[] =
    "ban ADDR|CIDR [--for SECONDS] [--reason TEXT] | unban ADDR|CIDR | bans | "
    "kick ADDR|CIDR | status | reload";
// `bans` lists at most this many entries (the count is always exact).
constexpr size_t kMaxListed = 1000;

ControlReply Ok(std::string text) { return {true, std::move(text)}; }
ControlReply Refused(std::string text) { return {false, std::move(text)}; }
ControlReply Usage(absl::string_view why) {
  return {false, absl::StrCat(kUsagePrefix, why, " (commands: ", kCommands,
                              ")")};
}

// A bare address names the block one client controls (the IPv4 address, the
// IPv6 /64), as autobans do; a CIDR is taken as given.
absl::StatusOr<guard::Cidr> TargetBlock(const std::string& text) {
  if (text.find('/') == std::string::npos) {
    auto ip = guard::ParseIp(text);
    if (!ip.ok()) return ip.status();
    return guard::ClientBlock(*ip);
  }
  return guard::ParseCidr(text);
}

}  // namespace

ControlCommands::ControlCommands(runtime::Server& server, Clock& clock)
    : server_(server), clock_(clock) {}

ControlReply ControlCommands::Run(const std::string& line) {
  std::string head = line;
  std::string reason;
  bool has_reason = false;
  if (size_t at = line.find("--reason"); at != std::string::npos) {
    head = line.substr(0, at);
    reason = std::string(absl::StripAsciiWhitespace(line.substr(at + 8)));
    has_reason = true;
  }
  std::vector<std::string> words =
      absl::StrSplit(head, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.empty()) return Usage("empty command");
  const std::string& cmd = words[0];
  if (has_reason && cmd != "ban") return Usage("--reason is for ban only");
  if (cmd == "ban") {
    if (has_reason && reason.empty()) return Usage("--reason needs a text");
    return Ban(words, reason);
  }
  if (cmd == "unban" || cmd == "kick") {
    if (words.size() != 2) return Usage(absl::StrCat(cmd, " takes ADDR|CIDR"));
    return cmd == "unban" ? Unban(words[1]) : Kick(words[1]);
  }
  if (cmd == "bans" || cmd == "status" || cmd == "reload") {
    if (words.size() != 1) return Usage(absl::StrCat(cmd, " takes no argument"));
    if (cmd == "bans") return Bans();
    return cmd == "status" ? Status() : Reload();
  }
  return Usage(absl::StrCat("unknown command '", cmd.substr(0, 40), "'"));
}

ControlReply ControlCommands::Ban(const std::vector<std::string>& words,
                                  const std::string& reason) {
  if (words.size() != 2 && words.size() != 4) {
    return Usage("ban ADDR|CIDR [--for SECONDS] [--reason TEXT]");
  }
  auto block = TargetBlock(words[1]);
  if (!block.ok()) return Usage(block.status().message());
  std::optional<absl::Time> until;
  if (words.size() == 4) {
    int64_t seconds = 0;
    if (words[2] != "--for" || !absl::SimpleAtoi(words[3], &seconds) ||
        seconds < 1 || seconds > int64_t{100} * 365 * 86400) {
      return Usage("--for takes whole seconds, 1 or more");
    }
    until = clock_.WallNow() + absl::Seconds(seconds);
  }
  const std::string why = reason.empty() ? "operator ban" : reason;
  absl::Status status = server_.bans().Add(*block, until, why);
  if (absl::IsResourceExhausted(status)) {
    return Refused(absl::StrCat("ban list full: ", status.message()));
  }
  const std::string what = absl::StrCat(
      block->ToString(),
      until ? absl::StrCat(" until ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                                       *until,
                                                       absl::UTCTimeZone()))
            : " permanently",
      " (", guard::SanitiseBanReason(why), ")");
  if (!status.ok()) {
    LogError("control", absl::StrCat("banned ", what,
                                     " in memory only: ", status.message()));
    return Refused(absl::StrCat("banned ", what,
                                " in memory only, not persisted: ",
                                status.message()));
  }
  // Durable first, then the line, as for an autoban.
  LogWarn("control", absl::StrCat("Banned by operator: ", what));
  const int kicked = server_.Kick(*block);
  return Ok(absl::StrCat("banned ", what, "; kicked ", kicked));
}

// Un-bans exactly this block: BanList::Remove re-reads the file under its
// advisory lock, drops every line for the block and rewrites it, so an
// autoban appended meanwhile is kept.
ControlReply ControlCommands::Unban(const std::string& target) {
  auto block = TargetBlock(target);
  if (!block.ok()) return Usage(block.status().message());
  absl::Status status = server_.bans().Remove(*block);
  if (absl::IsNotFound(status)) {
    return Refused(absl::StrCat("not banned: ", block->ToString()));
  }
  if (!status.ok()) {
    LogError("control", absl::StrCat("unbanned ", block->ToString(),
                                     " in memory only: ", status.message()));
    return Refused(absl::StrCat("unbanned ", block->ToString(),
                                " in memory only, the ban file still has it: ",
                                status.message()));
  }
  LogWarn("control", absl::StrCat("Unbanned by operator: ", block->ToString()));
  return Ok(absl::StrCat("unbanned ", block->ToString()));
}

ControlReply ControlCommands::Bans() {
  const std::string& path = server_.config().bans.path;
  std::string out = absl::StrCat(server_.ban_count(), " blocks banned");
  if (path.empty()) return Ok(absl::StrCat(out, " (no ban file to list)"));
  auto text = ReadWholeFile(path, guard::kMaxBanFileBytes);
  if (!text.ok() && !absl::IsNotFound(text.status())) {
    return Refused(absl::StrCat(path, ": ", text.status().message()));
  }
  const absl::Time now = clock_.WallNow();
  size_t listed = 0;
  if (text.ok()) {
    for (absl::string_view l : absl::StrSplit(*text, '\n')) {
      auto entry = guard::ParseBanLine(l);
      if (!entry.ok() || !entry->has_value()) continue;
      if ((*entry)->until && *(*entry)->until <= now) continue;
      if (++listed > kMaxListed) {
        absl::StrAppend(&out, "\n...");
        break;
      }
      absl::StrAppend(&out, "\n", guard::FormatBanLine(**entry));
    }
  }
  return Ok(out);
}

ControlReply ControlCommands::Kick(const std::string& target) {
  auto block = TargetBlock(target);
  if (!block.ok()) return Usage(block.status().message());
  const int kicked = server_.Kick(*block);
  LogInfo("control", absl::StrCat("kicked ", kicked, " connections of ",
                                  block->ToString()));
  return Ok(absl::StrCat("kicked ", kicked, " connections of ",
                         block->ToString()));
}

ControlReply ControlCommands::Status() {
  const guard::ConnGuardCounters g = server_.guard().Counters();
  const runtime::WorkerCounters& w = server_.counters();
  const auto r = std::memory_order_relaxed;
  std::vector<std::string> lines = {
      absl::StrCat("server ", server_.config().name),
      absl::StrCat("port ", server_.port()),
      absl::StrCat("connections ", g.active),
      absl::StrCat("established ", w.connections_established.load(r)),
      absl::StrCat("admitted ", g.admitted),
      absl::StrCat("refused ", server_.refused()),
      absl::StrCat("bans ", server_.ban_count()),
      absl::StrCat("workers_busy ", server_.pool().busy()),
      absl::StrCat("workers ", server_.pool().threads()),
  };
  for (size_t i = 1; i < guard::kRejectReasonCount; ++i) {
    const auto reason = static_cast<guard::RejectReason>(i);
    lines.push_back(absl::StrCat("refused_", guard::RejectReasonName(reason),
                                 " ", g.Rejected(reason)));
  }
  return Ok(absl::StrCat("status\n", absl::StrJoin(lines, "\n")));
}

ControlReply ControlCommands::Reload() {
  server_.ReloadBans();
  return Ok(absl::StrCat("reloaded; ", server_.ban_count(), " blocks banned"));
}

}  // namespace muwarden::ops
