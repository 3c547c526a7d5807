// Versioned schema migrations, embedded in the binary (src/store/migrations/NNNN_*.sql).
// Applied in order, each in its own transaction, at start and by `jishi migrate`. A database
// newer than the binary is refused with a clear message rather than risked.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "store/database.h"

namespace jishi::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> embedded_migrations();
// Migrations are written in the SQL both engines take; this adapts the DDL idioms that differ:
// SQLite gets "INTEGER PRIMARY KEY" (its rowid) for "BIGINT PRIMARY KEY", and other engines
// drop SQLite's "WITHOUT ROWID" (a table stored in its primary key's order).
std::string adapt_ddl(std::string_view sql, Engine engine);
int latest_schema_version();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
};

// Reads the database's schema version (0 for a new database).
Result<int> schema_version(Conn& conn);
// Applies every pending migration. Fails with Code::invalid_state when the database is newer.
Result<MigrationReport> migrate(Conn& conn);

}  // namespace jishi::store
