#include "server/game/account/account_cli.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace muwarden::game {

const char kAccountUsage[] =
    "usage: game-server [--config FILE] account COMMAND\n"
    "  add NAME        create an account; password = first line of stdin\n"
    "  passwd NAME     set a new password, read the same way\n"
    "  block NAME [--until YYYY-MM-DDTHH:MM:SSZ | --for SECONDS]\n"
    "                  block for good, until a UTC time, or for a while\n"
    "  unblock NAME    lift a block\n"
    "  list            every account\n"
    "  show NAME       one account\n"
    "NAME: 4 to 10 characters of A-Z a-z 0-9 _ (case-insensitive).\n"
    "Password: 1 to 20 printable ASCII characters.\n";

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
// Longest stdin line read as a password; anything longer is refused without
// being buffered (a piped file must not be slurped into memory).
constexpr size_t kMaxPasswordLine = 1024;
// --for cap: a century, far beyond any sane block, and no overflow in Time.
constexpr int64_t kMaxBlockSeconds = int64_t{100} * 365 * 24 * 3600;

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Wipes the password from memory when it goes out of scope.
class SecretString {
 public:
  SecretString() = default;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() {
    if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
  }
  std::string& value() { return value_; }

 private:
  std::string value_;
};

// Switches terminal echo off for its lifetime when stdin is a terminal.
class EchoOff {
 public:
  EchoOff() {
    if (isatty(STDIN_FILENO) != 1) return;
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

struct Failure {
  int code;
  std::string message;
};

// Reads the first line of `in` (without "\n" or "\r\n") into *password.
std::optional<Failure> ReadPassword(std::istream& in, std::ostream& err,
                                    absl::string_view name,
                                    std::string* password) {
  std::optional<EchoOff> echo_off;
  if (&in == &std::cin) {
    echo_off.emplace();
    if (echo_off->active())
      err << "password for " << name << ": " << std::flush;
  }
  bool got_any = false;
  bool too_long = false;
  for (;;) {
    int c = in.get();
    if (c == std::char_traits<char>::eof()) break;
    got_any = true;
    if (c == '\n') break;
    if (password->size() >= kMaxPasswordLine) {
      too_long = true;
      continue;  // drain the rest of the line, keeping nothing
    }
    password->push_back(static_cast<char>(c));
  }
  if (echo_off.has_value() && echo_off->active()) err << "\n";
  if (!password->empty() && password->back() == '\r') password->pop_back();
  if (!got_any) {
    return Failure{kExitUsage, "no password on standard input"};
  }
  if (password->empty() && !too_long) {
    return Failure{kExitUsage, "password is empty"};
  }
  if (too_long) {
    return Failure{kExitUsage, std::string(ValidatePassword("").message())};
  }
  if (absl::Status s = ValidatePassword(*password); !s.ok()) {
    return Failure{kExitUsage, std::string(s.message())};
  }
  return std::nullopt;
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
      return kExitUsage;
    default:
      return kExitRuntime;
  }
}

int Fail(std::ostream& err, int code, absl::string_view message) {
  err << message << "\n";
  return code;
}

int Fail(std::ostream& err, const absl::Status& status) {
  return Fail(err, ExitCodeFor(status), status.message());
}

std::string StateText(const AccountInfo& info, absl::Time now) {
  return info.IsBlockedAt(now) ? "blocked" : "active";
}

std::string BlockedUntilText(const AccountInfo& info, absl::Time now) {
  if (!info.IsBlockedAt(now)) return "-";
  if (!info.blocked_until.has_value()) return "permanent";
  return FormatUtc(*info.blocked_until);
}

std::string LastLoginText(const AccountInfo& info) {
  return info.last_login.has_value() ? FormatUtc(*info.last_login) : "never";
}

std::string Pad(absl::string_view text, size_t width) {
  std::string padded(text);
  if (padded.size() < width) padded.append(width - padded.size(), ' ');
  return padded;
}

// Parses `block NAME [--until T | --for S]` into name and until.
std::optional<Failure> ParseBlock(const std::vector<std::string>& args,
                                  absl::Time now, std::string* name,
                                  std::optional<absl::Time>* until) {
  std::optional<std::string> until_text;
  std::optional<std::string> for_text;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::optional<std::string>* target = nullptr;
    std::string flag;
    std::optional<std::string> inline_value;
    if (arg == "--until" || absl::StartsWith(arg, "--until=")) {
      target = &until_text;
      flag = "--until";
    } else if (arg == "--for" || absl::StartsWith(arg, "--for=")) {
      target = &for_text;
      flag = "--for";
    } else if (absl::StartsWith(arg, "-")) {
      return Failure{kExitUsage, absl::StrCat("block: unknown option '",
                                              absl::CHexEscape(arg),
                                              "' (use --until or --for)")};
    } else {
      positional.push_back(arg);
      continue;
    }
    if (arg.size() > flag.size()) {
      inline_value = arg.substr(flag.size() + 1);
    } else if (i + 1 < args.size()) {
      inline_value = args[++i];
    } else {
      return Failure{kExitUsage,
                     absl::StrCat("block: ", flag, " needs a value")};
    }
    if (target->has_value()) {
      return Failure{kExitUsage, absl::StrCat("block: ", flag, " given twice")};
    }
    *target = *inline_value;
  }
  if (positional.size() != 1) {
    return Failure{kExitUsage,
                   "usage: block NAME [--until YYYY-MM-DDTHH:MM:SSZ | --for "
                   "SECONDS]"};
  }
  *name = positional[0];
  if (until_text.has_value() && for_text.has_value()) {
    return Failure{kExitUsage, "block: give --until or --for, not both"};
  }
  if (until_text.has_value()) {
    absl::Time t;
    std::string parse_error;
    if (!absl::ParseTime(absl::RFC3339_full, *until_text, &t, &parse_error)) {
      return Failure{kExitUsage, absl::StrCat("block: --until '",
                                              absl::CHexEscape(*until_text),
                                              "' is not a UTC time like "
                                              "2026-01-31T18:00:00Z")};
    }
    if (absl::FromUnixSeconds(absl::ToUnixSeconds(t)) <= now) {
      return Failure{kExitUsage, absl::StrCat("block end ", FormatUtc(t),
                                              " is not in the future")};
    }
    *until = t;
  } else if (for_text.has_value()) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(*for_text, &seconds) || seconds < 1 ||
        seconds > kMaxBlockSeconds) {
      return Failure{kExitUsage,
                     absl::StrCat("block: --for '", absl::CHexEscape(*for_text),
                                  "' is not a number of seconds from 1 to ",
                                  kMaxBlockSeconds)};
    }
    *until = now + absl::Seconds(seconds);
  }
  return std::nullopt;
}

}  // namespace

int RunAccountCommand(const std::vector<std::string>& args,
                      const AccountStoreConfig& config, std::istream& in,
                      std::ostream& out, std::ostream& err) {
  return RunAccountCommand(args, config, Clock::Real(), in, out, err);
}

int RunAccountCommand(const std::vector<std::string>& args,
                      const AccountStoreConfig& config, Clock& clock,
                      std::istream& in, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    return Fail(err, kExitUsage,
                "account: missing command (add, passwd, block, unblock, "
                "list, show; 'help' explains them)");
  }
  const std::string& command = args[0];
  if (command == "help" || command == "--help" || command == "-h") {
    out << kAccountUsage;
    return kExitOk;
  }

  // Everything the operator typed is checked before the database is opened,
  // so a typo never creates an empty database file.
  std::string name;
  std::optional<absl::Time> until;
  SecretString password;
  if (command == "list") {
    if (args.size() != 1) return Fail(err, kExitUsage, "usage: list");
  } else if (command == "add" || command == "passwd" || command == "unblock" ||
             command == "show") {
    if (args.size() != 2) {
      return Fail(err, kExitUsage, absl::StrCat("usage: ", command, " NAME"));
    }
    name = args[1];
  } else if (command == "block") {
    if (std::optional<Failure> f =
            ParseBlock(args, clock.WallNow(), &name, &until)) {
      return Fail(err, f->code, f->message);
    }
  } else {
    return Fail(
        err, kExitUsage,
        absl::StrCat("account: unknown command '", absl::CHexEscape(command),
                     "' (add, passwd, block, unblock, list, show)"));
  }
  if (command != "list") {
    if (absl::Status s = ValidateAccountName(name); !s.ok()) {
      return Fail(err, s);
    }
  }
  if (command == "add" || command == "passwd") {
    if (std::optional<Failure> f =
            ReadPassword(in, err, name, &password.value())) {
      return Fail(err, f->code, f->message);
    }
  }

  absl::StatusOr<std::unique_ptr<AccountStore>> opened =
      AccountStore::Open(config, clock);
  if (!opened.ok()) return Fail(err, opened.status());
  AccountStore& store = **opened;
  absl::Time now = clock.WallNow();

  if (command == "add") {
    if (absl::Status s = store.AddAccount(name, password.value()); !s.ok()) {
      return Fail(err, s);
    }
    out << "account '" << name << "' added\n";
  } else if (command == "passwd") {
    if (absl::Status s = store.SetPassword(name, password.value()); !s.ok()) {
      return Fail(err, s);
    }
    out << "password of '" << name << "' changed\n";
  } else if (command == "block") {
    if (absl::Status s = store.Block(name, until); !s.ok()) return Fail(err, s);
    out << "account '" << name << "' blocked";
    if (until.has_value()) {
      // The store keeps whole seconds; report what it kept.
      out << " until "
          << FormatUtc(absl::FromUnixSeconds(absl::ToUnixSeconds(*until)));
    }
    out << "\n";
  } else if (command == "unblock") {
    if (absl::Status s = store.Unblock(name); !s.ok()) return Fail(err, s);
    out << "account '" << name << "' unblocked\n";
  } else if (command == "show") {
    absl::StatusOr<AccountInfo> info = store.Get(name);
    if (!info.ok()) return Fail(err, info.status());
    out << "name: " << info->name << "\n"
        << "state: " << StateText(*info, now) << "\n"
        << "blocked_until: " << BlockedUntilText(*info, now) << "\n"
        << "created_at: " << FormatUtc(info->created_at) << "\n"
        << "last_login: " << LastLoginText(*info) << "\n";
  } else {  // list
    absl::StatusOr<std::vector<AccountInfo>> accounts = store.List();
    if (!accounts.ok()) return Fail(err, accounts.status());
    out << Pad("NAME", 12) << Pad("STATE", 9) << Pad("BLOCKED_UNTIL", 22)
        << Pad("CREATED_AT", 22) << "LAST_LOGIN\n";
    for (const AccountInfo& info : *accounts) {
      out << Pad(info.name, 12) << Pad(StateText(info, now), 9)
          << Pad(BlockedUntilText(info, now), 22)
          << Pad(FormatUtc(info.created_at), 22) << LastLoginText(info) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace muwarden::game
