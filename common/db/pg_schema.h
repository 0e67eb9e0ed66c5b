// PgSchema: the shared PostgreSQL schema of every muwarden server on one
// database (SPEC section 11): accounts, characters, known client blocks,
// online sessions (one lease row per account), the GameServers' heartbeat
// rows, shared bans; created and migrated by whichever server starts first, under a
// transaction-scoped advisory lock so two servers starting at once cannot
// both migrate, with a schema_version row as in the SQLite file. Names are
// case-insensitive through a lower-case key column beside the spelling kept.
// Thread-compatible (takes the caller's connection).
#ifndef MUWARDEN_COMMON_DB_PG_SCHEMA_H_
#define MUWARDEN_COMMON_DB_PG_SCHEMA_H_

#include "absl/status/status.h"
#include "common/db/pg.h"

namespace muwarden::pg {

// The version this build writes and understands.
int SchemaVersion();

// Creates the schema or brings it forward; FailedPrecondition naming both
// versions for a database made by a newer build, kUnavailable when the
// database cannot be reached.
absl::Status MigrateSchema(Connection& conn);

}  // namespace muwarden::pg

#endif  // MUWARDEN_COMMON_DB_PG_SCHEMA_H_
