#include "common/db/pg_schema.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace muwarden::pg {
namespace {

// kMigrations[i] takes the database from version i to i + 1; a shipped step is
// never edited, a change is a new step. Times the game code compares with its
// own clock are UTC unix seconds (0 = none), as in the SQLite file; lease and
// heartbeat times are the database's own now(), one clock for every host.
constexpr const char* kMigrations[] = {
    // 1: accounts, characters, known blocks, sessions, servers.
    R"sql(
CREATE TABLE accounts (
  name_key TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  state INTEGER NOT NULL,
  blocked_until BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_login BIGINT NOT NULL,
  security_code TEXT NOT NULL DEFAULT ''
);
CREATE TABLE characters (
  name_key TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  account_key TEXT NOT NULL,
  account TEXT NOT NULL,
  slot INTEGER NOT NULL,
  class INTEGER NOT NULL,
  level INTEGER NOT NULL,
  experience BIGINT NOT NULL,
  level_up_points INTEGER NOT NULL,
  strength INTEGER NOT NULL,
  agility INTEGER NOT NULL,
  vitality INTEGER NOT NULL,
  energy INTEGER NOT NULL,
  leadership INTEGER NOT NULL,
  health INTEGER NOT NULL,
  max_health INTEGER NOT NULL,
  mana INTEGER NOT NULL,
  max_mana INTEGER NOT NULL,
  zen BIGINT NOT NULL,
  map INTEGER NOT NULL,
  x INTEGER NOT NULL,
  y INTEGER NOT NULL,
  direction INTEGER NOT NULL,
  status INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (account_key, slot)
);
CREATE TABLE known_devices (
  account_key TEXT NOT NULL,
  block TEXT NOT NULL,
  last_login BIGINT NOT NULL,
  PRIMARY KEY (account_key, block)
);
CREATE TABLE sessions (
  account_key TEXT NOT NULL PRIMARY KEY,
  server_id INTEGER NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_by_server ON sessions (server_id);
CREATE TABLE servers (
  server_id INTEGER NOT NULL PRIMARY KEY,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  players INTEGER NOT NULL,
  max_players INTEGER NOT NULL,
  seen_at TIMESTAMPTZ NOT NULL
);
)sql",
    // 2: bans shared by every server (until: UTC unix seconds, 0 =
    // permanent; origin: the process that made it).
    R"sql(
CREATE TABLE bans (
  id BIGSERIAL PRIMARY KEY,
  cidr TEXT NOT NULL,
  until BIGINT NOT NULL,
  reason TEXT NOT NULL,
  origin TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
)sql",
    // 3: unbans travel as rows of their own (unban = true), so a listener
    // applies bans and unbans in id order; the known blocks of SPEC 4a, one
    // row per block, re-stamped from a sequence on every visit shared so a
    // listener reads what changed since the last stamp it saw.
    R"sql(
ALTER TABLE bans ADD COLUMN unban BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX bans_by_created_at ON bans (created_at);
CREATE SEQUENCE known_blocks_seq;
CREATE TABLE known_blocks (
  block TEXT NOT NULL PRIMARY KEY,
  last_visit BIGINT NOT NULL,
  seq BIGINT NOT NULL DEFAULT nextval('known_blocks_seq'),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX known_blocks_by_seq ON known_blocks (seq);
)sql",
};
constexpr int kVersion =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// Any constant shared by every muwarden build: the advisory lock's key.
constexpr char kLockSql[] = "SELECT pg_advisory_xact_lock(7135930001)";

}  // namespace

int SchemaVersion() { return kVersion; }

absl::Status MigrateSchema(Connection& conn) {
  // Up to date: nothing to do, and nothing that needs CREATE on the schema,
  // so a server's role can be one without it (SECURITY.md).
  absl::StatusOr<Result> exists = conn.ExecScript(
      "SELECT to_regclass('schema_version') IS NOT NULL");
  if (!exists.ok()) return exists.status();
  if (Text(exists->get(), 0, 0) == "t") {
    absl::StatusOr<Result> current = conn.ExecScript(
        "SELECT coalesce(max(version), 0) FROM schema_version");
    if (!current.ok()) return current.status();
    const int64_t have = Int(current->get(), 0, 0);
    if (have == kVersion) return absl::OkStatus();
    if (have > kVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "schema version ", have, " is newer than this build understands (",
          kVersion, ")"));
    }
  }
  auto fail = [&](const absl::Status& s) {
    conn.ExecScript("ROLLBACK").IgnoreError();
    return s;
  };
  if (absl::StatusOr<Result> r = conn.ExecScript("BEGIN"); !r.ok()) {
    return r.status();
  }
  if (absl::StatusOr<Result> r = conn.ExecScript(kLockSql); !r.ok()) {
    return fail(r.status());
  }
  absl::StatusOr<Result> version = conn.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
      "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version.ok()) return fail(version.status());
  const int64_t have = Int(version->get(), 0, 0);
  if (have < 0 || have > kVersion) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "schema version ", have, " is newer than this build understands (",
        kVersion, ")")));
  }
  for (int64_t v = have; v < kVersion; ++v) {
    if (absl::StatusOr<Result> r = conn.ExecScript(kMigrations[v]); !r.ok()) {
      return fail(absl::Status(
          r.status().code(),
          absl::StrCat("migrate to ", v + 1, ": ", r.status().message())));
    }
  }
  if (have != kVersion) {
    const std::string row = absl::StrCat(
        "DELETE FROM schema_version; INSERT INTO schema_version VALUES (",
        kVersion, ")");
    if (absl::StatusOr<Result> r = conn.ExecScript(row.c_str()); !r.ok()) {
      return fail(r.status());
    }
  }
  if (absl::StatusOr<Result> r = conn.ExecScript("COMMIT"); !r.ok()) {
    return fail(r.status());
  }
  return absl::OkStatus();
}

}  // namespace muwarden::pg
