// Test support: a real PostgreSQL 15 server of the test's own (never a mock):
// initdb on a private data folder, pg_ctl start on a free loopback port with
// its Unix socket in the same folder, one database created; Stop() and
// Start() stop (immediate mode, as a crash would) and restart the same
// instance mid-test; the destructor stops it and deletes the folder. The
// tools run as the `postgres` user when the test runs as root (initdb refuses
// root). Header-only; one instance is owned by one test (thread-compatible).
#ifndef MUWARDEN_TESTS_SUPPORT_POSTGRES_INSTANCE_H_
#define MUWARDEN_TESTS_SUPPORT_POSTGRES_INSTANCE_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace muwarden::testing {

inline constexpr char kPostgresBinDir[] = "/usr/lib/postgresql/15/bin";

class PostgresInstance {
 public:
  // Does nothing; Init() does the work so a failure can be reported.
  PostgresInstance() = default;
  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;
  ~PostgresInstance() {
    if (dir_.empty()) return;
    Stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Whether the PostgreSQL 15 server binaries are installed (scripts/setup).
  static bool Available() {
    return access((std::string(kPostgresBinDir) + "/initdb").c_str(), X_OK) ==
           0;
  }

  // initdb, start, create database `db`. Returns "" or what failed (with the
  // server log's tail).
  std::string Init(const std::string& db = "muwarden") {
    db_ = db;
    std::string tmpl = "/tmp/mw_pg_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    as_postgres_ = geteuid() == 0;
    if (as_postgres_) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) return "no postgres user";
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "chown";
    }
    port_ = FreePort();
    if (port_ == 0) return "no free port";
    if (!Run(Tool("initdb") + " -D " + data() +
             " -A trust -U postgres -E UTF8 --no-sync --no-instructions" +
             " >" + dir_ + "/initdb.log 2>&1")) {
      return "initdb failed: " + Tail(dir_ + "/initdb.log");
    }
    {
      std::ofstream conf(data() + "/postgresql.conf", std::ios::app);
      conf << "listen_addresses = '127.0.0.1'\n"
           << "port = " << port_ << "\n"
           << "unix_socket_directories = '" << dir_ << "'\n"
           // fsync off: the tests crash the server, never the machine. Commits
           // stay synchronous: an immediate stop must not lose them.
           << "fsync = off\nfull_page_writes = off\n"
           << "max_connections = 100\nshared_buffers = 16MB\n";
    }
    if (std::string e = Start(); !e.empty()) return e;
    if (!Run(Tool("createdb") + " -h 127.0.0.1 -p " + std::to_string(port_) +
             " -U postgres " + db_ + " >>" + dir_ + "/initdb.log 2>&1")) {
      return "createdb failed: " + Tail(dir_ + "/initdb.log");
    }
    return "";
  }

  // Starts (again) the stopped server on the same port; "" or the failure.
  std::string Start() {
    if (!Run(Tool("pg_ctl") + " -D " + data() + " -l " + dir_ +
             "/server.log -w -t 60 start >/dev/null 2>&1")) {
      return "pg_ctl start failed: " + Tail(dir_ + "/server.log");
    }
    running_ = true;
    return "";
  }

  // Stops the server at once (immediate mode: clients see their connection
  // drop, as in a crash). Returns once it is down.
  void Stop() {
    if (!running_) return;
    Run(Tool("pg_ctl") + " -D " + data() +
        " -m immediate -w -t 60 stop >/dev/null 2>&1");
    running_ = false;
  }

  // Runs one SQL command with psql as the superuser; its output (trimmed).
  std::string Psql(const std::string& sql) {
    const std::string out = dir_ + "/psql.out";
    const std::string file = dir_ + "/psql.sql";
    {
      std::ofstream f(file, std::ios::trunc);
      f << sql;
    }
    if (as_postgres_) chmod(file.c_str(), 0644);
    Run(Tool("psql") + " -X -q -t -A -h 127.0.0.1 -p " +
        std::to_string(port_) + " -U postgres -d " + db_ + " -f " + file +
        " >" + out + " 2>&1");
    std::string text = Tail(out, 1 << 16);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    return text;
  }

  int port() const { return port_; }
  bool running() const { return running_; }
  // A libpq URL for the database (superuser, trust authentication).
  std::string url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" +
           db_;
  }
  // The same as a key=value conninfo string, the other form [database] url
  // accepts.
  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=postgres dbname=" + db_;
  }

 private:
  std::string data() const { return dir_ + "/data"; }

  std::string Tool(const std::string& name) const {
    const std::string path = std::string(kPostgresBinDir) + "/" + name;
    // runuser keeps our stdio; the redirections are the shell's (as root).
    return as_postgres_ ? "runuser -u postgres -- " + path : path;
  }

  static bool Run(const std::string& command) {
    return std::system(command.c_str()) == 0;
  }

  static std::string Tail(const std::string& path, size_t max = 2000) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    return text.size() > max ? text.substr(text.size() - max) : text;
  }

  // A port nothing listens on now (the kernel's pick for a bind to :0).
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  std::string dir_;
  std::string db_;
  int port_ = 0;
  bool as_postgres_ = false;
  bool running_ = false;
};

}  // namespace muwarden::testing

#endif  // MUWARDEN_TESTS_SUPPORT_POSTGRES_INSTANCE_H_
