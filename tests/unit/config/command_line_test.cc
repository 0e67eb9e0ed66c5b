#include "common/config/command_line.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace muwarden::config {
namespace {

// The keys the named flags stand for, as the binaries describe them.
struct FlagKeys {
  std::string bind = "0.0.0.0";
  int port = 1;
  std::string log_file;
  std::string ban_file;
  int limit = 10;

  void Describe(Schema& s) {
    s.String("server", "bind", &bind, "listen address");
    s.Integer("server", "port", &port, 0, 65535, "port");
    s.Path("log", "file", &log_file, "log file");
    s.Path("security", "ban_file", &ban_file, "ban file", "bans.txt");
    s.Integer("ratelimit", "conn_rate_limit", &limit, 1, 100, "limit");
  }
};

const Program kProgram{"test-server", "a test", false};
const Program kWithAccounts{"test-server", "a test", true};

struct Parsed {
  CommandLine cl;
  FlagKeys keys;
  std::string out, err;
};

Parsed Parse(std::vector<const char*> args, const Program& program = kProgram) {
  Parsed r;
  Schema schema;
  r.keys.Describe(schema);
  args.insert(args.begin(), "test-server");
  std::ostringstream out, err;
  r.cl = ParseCommandLine(program, schema, static_cast<int>(args.size()),
                          args.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  char tmpl[] = "/tmp/muwarden-cmdline-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CommandLineTest, ExitCodes) {
  Parsed bad = Parse({"--set", "server.port=70000"});
  EXPECT_EQ(bad.cl.exit_code, kExitUsage);
  EXPECT_NE(bad.err.find("test-server: server.port: out of range: 70000 "
                         "(allowed 0..65535) [--set]"),
            std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("1 settings error(s); not starting"),
            std::string::npos);
  EXPECT_EQ(Parse({"--check-config"}).cl.exit_code, kExitOk);
  EXPECT_EQ(Parse({"--check-config"}).out, "test-server: settings OK\n");
  Parsed print = Parse({"--print-config", "--port", "1000"});
  EXPECT_EQ(print.cl.exit_code, kExitOk);
  EXPECT_NE(print.out.find("port = 1000"), std::string::npos);
  EXPECT_EQ(print.out.rfind("; muwarden test-server settings.", 0), 0u);
  EXPECT_EQ(Parse({"--version"}).out, "test-server 0.1.0\n");
  EXPECT_EQ(Parse({"--help"}).cl.exit_code, kExitOk);
  EXPECT_EQ(Parse({"--no-such-flag"}).cl.exit_code, kExitUsage);
  Parsed missing = Parse({"--config", "/nonexistent/x.ini"});
  EXPECT_EQ(missing.cl.exit_code, kExitUsage);
  EXPECT_NE(missing.err.find("/nonexistent/x.ini: cannot be read"),
            std::string::npos);
}

TEST(CommandLineTest, NamedFlagsAreShorthandsAndSetWins) {
  Parsed r = Parse({"--bind", "::1", "--port", "5", "--log-file", "/tmp/l.log",
                    "--ban-file", "/tmp/b.txt", "--set", "server.port=6",
                    "--set", "ratelimit.conn_rate_limit=5"});
  ASSERT_FALSE(r.cl.exit_code.has_value()) << r.err;
  EXPECT_EQ(r.keys.bind, "::1");
  EXPECT_EQ(r.keys.port, 6);
  EXPECT_EQ(r.keys.log_file, "/tmp/l.log");
  EXPECT_EQ(r.keys.ban_file, "/tmp/b.txt");
  EXPECT_EQ(r.keys.limit, 5);
}

TEST(CommandLineTest, ConfigFolderResolvesRelativePathsAndDefaults) {
  const std::string path = WriteFile("c.ini", "[log]\nfile = server.log\n");
  const std::string dir = path.substr(0, path.rfind('/'));
  Parsed r = Parse({"--config", path.c_str()});
  ASSERT_FALSE(r.cl.exit_code.has_value()) << r.err;
  EXPECT_EQ(r.cl.config_path, path);
  EXPECT_EQ(r.keys.log_file, dir + "/server.log");
  EXPECT_EQ(r.keys.ban_file, dir + "/bans.txt");
  // Without a file there is no ban file by default.
  EXPECT_EQ(Parse({}).keys.ban_file, "");
  // A file's errors carry its line.
  const std::string broken = WriteFile("b.ini", "[server]\nport = x\n");
  Parsed b = Parse({"--config", broken.c_str()});
  EXPECT_EQ(b.cl.exit_code, kExitUsage);
  EXPECT_NE(b.err.find("server.port: not a whole number: 'x' (allowed "
                       "0..65535) [" +
                       broken + "]"),
            std::string::npos)
      << b.err;
}

TEST(CommandLineTest, AccountSubcommandOnlyWhereTheProgramHasOne) {
  Parsed game = Parse({"account", "show", "bob"}, kWithAccounts);
  ASSERT_FALSE(game.cl.exit_code.has_value()) << game.err;
  EXPECT_EQ(game.cl.mode, Mode::kAccount);
  EXPECT_EQ(game.cl.account_args, (std::vector<std::string>{"show", "bob"}));
  EXPECT_EQ(Parse({"account", "show", "bob"}).cl.exit_code, kExitUsage);
  EXPECT_EQ(Parse({}, kWithAccounts).cl.mode, Mode::kRun);
}

}  // namespace
}  // namespace muwarden::config
