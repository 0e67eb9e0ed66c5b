#include "common/db/pg.h"

#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace muwarden::pg {
namespace {

// libpq's messages end in a newline; a status message reads better without.
std::string Clean(const char* message) {
  if (message == nullptr) return "unknown error";
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (absl::StartsWith(state, "23")) return absl::StatusCode::kFailedPrecondition;
  // Class 08 connection exception, 57P0x shutdown, 57014 statement timeout,
  // 53 insufficient resources: the database is not answering for now.
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57") ||
      absl::StartsWith(state, "53")) {
    return absl::StatusCode::kUnavailable;
  }
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  return absl::StatusCode::kInternal;
}

}  // namespace

bool IsPostgresUrl(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") ||
         absl::StartsWith(url, "postgres://") ||
         absl::StrContains(url, '=');
}

std::string HidePassword(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return url;  // not libpq's: nothing to hide
  std::string password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (absl::string_view(o->keyword) == "password" && o->val != nullptr) {
      password = o->val;
    }
  }
  PQconninfoFree(options);
  if (password.empty()) return url;
  // The password as written once, or (percent-encoded, quoted, repeated)
  // the whole url hidden.
  const size_t at = url.find(password);
  if (at == std::string::npos || url.find(password, at + 1) != std::string::npos) {
    return "<hidden: the url holds a password>";
  }
  return absl::StrCat(url.substr(0, at), "********",
                      url.substr(at + password.size()));
}

std::optional<std::string> SqlState(const absl::Status& status) {
  auto p = status.GetPayload(kSqlStatePayload);
  if (!p.has_value()) return std::nullopt;
  return std::string(*p);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const ConnectionConfig& config) {
  auto conn = std::make_unique<Connection>(config);
  if (absl::Status s = conn->EnsureConnected(); !s.ok()) return s;
  return conn;
}

Connection::Connection(ConnectionConfig config) : config_(std::move(config)) {}

Connection::~Connection() { Drop(); }

bool Connection::connected() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void Connection::Drop() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

absl::Status Connection::EnsureConnected() {
  if (connected()) {
    // An idle connection whose server went away (a restart, a failover) has
    // its close waiting on the socket: seen here, it is replaced before a
    // statement is sent on it, instead of failing that statement.
    // A server that stops sends a FATAL message, then closes: read both
    // (bounded; a LISTEN connection's notifications stay queued for
    // PQnotifies).
    for (int i = 0; i < 4 && conn_ != nullptr; ++i) {
      pollfd pfd{PQsocket(conn_), POLLIN, 0};
      if (poll(&pfd, 1, 0) <= 0) break;
      if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
        Drop();
      }
    }
  }
  if (connected()) return absl::OkStatus();
  Drop();
  const int64_t connect_s =
      std::max<int64_t>(2, absl::ToInt64Seconds(config_.connect_timeout +
                                                absl::Milliseconds(999)));
  const std::string connect_timeout = absl::StrCat(connect_s);
  const std::string options =
      absl::StrCat("-c statement_timeout=",
                   absl::ToInt64Milliseconds(config_.statement_timeout),
                   " -c lock_timeout=",
                   absl::ToInt64Milliseconds(config_.statement_timeout));
  // The URL comes last so what it sets overrides these defaults.
  const char* keywords[] = {"connect_timeout", "options", "application_name",
                            "client_encoding", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), options.c_str(), "muwarden",
                          "UTF8", config_.url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) {
    return absl::UnavailableError("cannot connect to PostgreSQL: out of memory");
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", Clean(PQerrorMessage(conn_))));
    Drop();
    return s;
  }
  // Notices (CREATE ... IF NOT EXISTS skipping) are not worth stderr lines.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  ++connects_;
  return absl::OkStatus();
}

bool Connection::WaitReadable(absl::Time deadline) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
    const int n = poll(&pfd, 1, ms);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

absl::StatusOr<Result> Connection::Finish(absl::string_view what) {
  const absl::Time deadline =
      absl::Now() + config_.statement_timeout + absl::Seconds(1);
  Result last;
  absl::Status error;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (!WaitReadable(deadline)) {
        Drop();
        return absl::UnavailableError(
            absl::StrCat(what, ": PostgreSQL did not answer in time"));
      }
      if (PQconsumeInput(conn_) == 0) {
        absl::Status s = absl::UnavailableError(
            absl::StrCat(what, ": ", Clean(PQerrorMessage(conn_))));
        Drop();
        return s;
      }
    }
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    Result r(raw);
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
        st == PGRES_NONFATAL_ERROR) {
      if (error.ok()) {
        const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
        const std::string sqlstate = state == nullptr ? "" : state;
        error = absl::Status(
            sqlstate.empty() ? absl::StatusCode::kUnavailable
                             : CodeForSqlState(sqlstate),
            absl::StrCat(what, ": ", Clean(PQresultErrorMessage(r.get()))));
        if (!sqlstate.empty()) {
          error.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
        }
      }
    } else {
      last = std::move(r);
    }
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    Drop();
    if (error.ok()) {
      error = absl::UnavailableError(absl::StrCat(what, ": connection lost"));
    }
  }
  if (!error.ok()) return error;
  return last;
}

absl::StatusOr<Result> Connection::Exec(const Statement& stmt,
                                        std::initializer_list<Param> params) {
  return Exec(stmt, std::vector<Param>(params));
}

absl::StatusOr<Result> Connection::Exec(const Statement& stmt,
                                        const std::vector<Param>& params) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  if (!prepared_.contains(stmt.name)) {
    if (PQsendPrepare(conn_, stmt.name, stmt.sql, 0, nullptr) == 0) {
      absl::Status s = absl::UnavailableError(
          absl::StrCat(stmt.name, ": ", Clean(PQerrorMessage(conn_))));
      Drop();
      return s;
    }
    absl::StatusOr<Result> r = Finish(stmt.name);
    if (!r.ok()) return r.status();
    prepared_.insert(stmt.name);
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) {
    values.push_back(p.value().has_value() ? p.value()->c_str() : nullptr);
  }
  if (PQsendQueryPrepared(conn_, stmt.name, static_cast<int>(values.size()),
                          values.data(), nullptr, nullptr, 0) == 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat(stmt.name, ": ", Clean(PQerrorMessage(conn_))));
    Drop();
    return s;
  }
  return Finish(stmt.name);
}

absl::StatusOr<Result> Connection::ExecScript(const char* sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  if (PQsendQuery(conn_, sql) == 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("script: ", Clean(PQerrorMessage(conn_))));
    Drop();
    return s;
  }
  return Finish("script");
}

Pool::Pool(ConnectionConfig config, int size) : config_(std::move(config)) {
  MutexLock lock(&mu_);
  for (int i = 0; i < size; ++i) {
    free_.push_back(std::make_unique<Connection>(config_));
  }
}

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<Pool::Lease> Pool::Acquire(absl::Duration wait) {
  MutexLock lock(&mu_);
  if (!cv_.WaitWithTimeout(&mu_, wait, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !free_.empty();
      })) {
    return absl::UnavailableError("every PostgreSQL connection is busy");
  }
  std::unique_ptr<Connection> conn = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(conn));
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  MutexLock lock(&mu_);
  free_.push_back(std::move(conn));
  cv_.Signal();
}

std::string Text(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return "";
  return std::string(PQgetvalue(r, row, col),
                     static_cast<size_t>(PQgetlength(r, row, col)));
}

int64_t Int(const PGresult* r, int row, int col) {
  int64_t v = 0;
  if (PQgetisnull(r, row, col)) return 0;
  if (!absl::SimpleAtoi(PQgetvalue(r, row, col), &v)) return 0;
  return v;
}

bool IsNull(const PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) != 0;
}

int64_t Affected(const PGresult* r) {
  int64_t v = 0;
  if (r == nullptr) return 0;
  if (!absl::SimpleAtoi(PQcmdTuples(const_cast<PGresult*>(r)), &v)) return 0;
  return v;
}

}  // namespace muwarden::pg
