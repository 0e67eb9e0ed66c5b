// pg: a small libpq wrapper. Connection holds one PostgreSQL connection,
// runs statements with parameters only (each named statement is prepared once
// per connection with PQprepare, then PQsendQueryPrepared; values never go
// into SQL text), waits for every answer on the socket with a deadline so no
// call hangs on a server that went away, and reconnects on the next call
// after a broken connection. Results are RAII (Result frees its PGresult).
// Pool hands out a fixed number of Connections. Connection is thread-
// compatible; Pool is thread-safe.
#ifndef MUWARDEN_COMMON_DB_PG_H_
#define MUWARDEN_COMMON_DB_PG_H_

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/base/mutex.h"

namespace muwarden::pg {

// Whether `url` names PostgreSQL ([database] url): a postgresql:// or
// postgres:// URI or a libpq key=value string.
bool IsPostgresUrl(absl::string_view url);
// `url` with its password (if any) replaced by ********, for printing.
std::string HidePassword(const std::string& url);

struct ConnectionConfig {
  // A libpq URI or key=value string; its own connect_timeout, options etc.
  // win over the defaults below.
  std::string url;
  // Time to establish a connection (libpq rounds up to whole seconds, at
  // least 2).
  absl::Duration connect_timeout = absl::Seconds(2);
  // The server's statement_timeout, and (plus one second) how long a call
  // waits for an answer on the socket before it gives the connection up.
  absl::Duration statement_timeout = absl::Seconds(2);
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// One parameter in text format; nullopt = SQL NULL.
class Param {
 public:
  Param(absl::string_view text) : value_(std::string(text)) {}  // NOLINT
  Param(const std::string& text) : value_(text) {}              // NOLINT
  Param(const char* text) : value_(std::string(text)) {}        // NOLINT
  Param(int64_t n) : value_(std::to_string(n)) {}               // NOLINT
  Param(int n) : value_(std::to_string(n)) {}                   // NOLINT
  Param(std::nullopt_t) {}                                      // NOLINT
  const std::optional<std::string>& value() const { return value_; }

 private:
  std::optional<std::string> value_;
};

// A statement known by name: `name` must be unique in the process and `sql`
// fixed text with $1.. placeholders.
struct Statement {
  const char* name;
  const char* sql;
};

// The SQLSTATE of a failed statement's error, when it came from the server
// (e.g. "23505" unique violation), carried as the status payload.
inline constexpr char kSqlStatePayload[] = "muwarden.pg/sqlstate";
std::optional<std::string> SqlState(const absl::Status& status);

class Connection {
 public:
  // Connects; kUnavailable with libpq's reason when it cannot.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const ConnectionConfig& config);
  // Not connected yet; the first call connects.
  explicit Connection(ConnectionConfig config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects if not connected (or the connection broke). kUnavailable.
  absl::Status EnsureConnected();
  // Runs `stmt` with `params`: the result of a command or query that
  // succeeded; kUnavailable when the server cannot be reached or did not
  // answer in time (the connection is dropped), another code for an error
  // the server reported (kAlreadyExists for a unique violation), with the
  // SQLSTATE as payload.
  absl::StatusOr<Result> Exec(const Statement& stmt,
                              std::initializer_list<Param> params);
  absl::StatusOr<Result> Exec(const Statement& stmt,
                              const std::vector<Param>& params);
  // Runs fixed SQL without parameters (schema scripts, BEGIN/COMMIT).
  absl::StatusOr<Result> ExecScript(const char* sql);

  bool connected() const;
  // The raw connection, for LISTEN/NOTIFY; null when not connected.
  PGconn* raw() { return conn_; }
  // Drops the connection; the next call reconnects.
  void Drop();
  // Times a fresh connection was made.
  uint64_t connects() const { return connects_; }

 private:
  absl::StatusOr<Result> Finish(absl::string_view what);
  // Waits until the socket is readable or the deadline passes.
  bool WaitReadable(absl::Time deadline);

  ConnectionConfig config_;
  PGconn* conn_ = nullptr;
  absl::flat_hash_set<std::string> prepared_;
  uint64_t connects_ = 0;
};

// A fixed number of lazily made connections to one database.
class Pool {
 public:
  Pool(ConnectionConfig config, int size);

  // A connection for the caller alone until the lease dies; waits at most
  // `wait` for one to come free (kUnavailable after).
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };
  absl::StatusOr<Lease> Acquire(absl::Duration wait = absl::Seconds(2));

  const ConnectionConfig& config() const { return config_; }

 private:
  void Release(std::unique_ptr<Connection> conn);

  const ConnectionConfig config_;
  Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<Connection>> free_ ABSL_GUARDED_BY(mu_);
};

// Column helpers: the text of (row, col), "" for NULL; the integer value, 0
// for NULL or unparsable.
std::string Text(const PGresult* r, int row, int col);
int64_t Int(const PGresult* r, int row, int col);
bool IsNull(const PGresult* r, int row, int col);

// Affected rows of a command result (PQcmdTuples), 0 when none.
int64_t Affected(const PGresult* r);

}  // namespace muwarden::pg

#endif  // MUWARDEN_COMMON_DB_PG_H_
