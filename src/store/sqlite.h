// The SQLite engine: WAL journal, synchronous=FULL (a COMMIT returns only once durable),
// foreign keys on, and a per-connection cache of prepared statements.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace jishi::store {

enum class OpenMode { read_write, read_only };

// Opens (creating if needed, in read_write mode) the database file at path.
Result<std::unique_ptr<Conn>> open_sqlite(const std::string& path, OpenMode mode);

}  // namespace jishi::store
