#include "store/migrate.h"

#include <optional>

#include "core/clock.h"

namespace jishi::store {

std::string adapt_ddl(std::string_view sql, Engine engine) {
  std::string out(sql);
  if (engine != Engine::sqlite) {
    // "WITHOUT ROWID" (a clustered table) is SQLite's; elsewhere the key is an index anyway.
    static constexpr std::string_view clause = " WITHOUT ROWID";
    for (std::size_t at = out.find(clause); at != std::string::npos; at = out.find(clause, at))
      out.erase(at, clause.size());
    // group_concat(x, sep) is string_agg(x, sep) there.
    static constexpr std::string_view concat = "group_concat(", agg = "string_agg(";
    for (std::size_t at = out.find(concat); at != std::string::npos; at = out.find(concat, at))
      out.replace(at, concat.size(), agg);
    return out;
  }
  // In SQLite only "INTEGER PRIMARY KEY" makes the key the rowid (64-bit there); "BIGINT
  // PRIMARY KEY" would add a second B-tree per table and double the work of every insert.
  static constexpr std::string_view from = "BIGINT PRIMARY KEY", to = "INTEGER PRIMARY KEY";
  for (std::size_t at = out.find(from); at != std::string::npos; at = out.find(from, at))
    out.replace(at, from.size(), to);
  return out;
}

int latest_schema_version() {
  auto all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

Result<int> schema_version(Conn& conn) {
  JISHI_TRY(conn.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at_us BIGINT NOT NULL)"));
  std::int64_t version = 0;
  JISHI_TRY(
      conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}, [&](const Row& r) {
        version = r.i64(0);
        return false;
      }));
  return static_cast<int>(version);
}

namespace {

// Applies the migrations after report.from_version, each in its own transaction.
Status apply(Conn& conn, MigrationReport& report) {
  SystemClock clock;
  for (const Migration& m : embedded_migrations()) {
    if (m.version <= report.from_version) continue;
    Status applied = run_in_transaction(conn, [&]() -> Status {
      JISHI_TRY(conn.exec_script(adapt_ddl(m.sql, conn.engine())));
      JISHI_TRY(conn.exec(
          "INSERT INTO schema_migrations (version, name, applied_at_us) VALUES ($1, $2, $3)",
          {m.version, m.name, clock.now_us()}));
      return {};
    });
    if (!applied)
      return fail(Code::storage_failure, "migration " + std::to_string(m.version) + " (" +
                                             std::string(m.name) +
                                             ") failed: " + applied.error().detail);
    report.to_version = m.version;
  }
  return {};
}
}  // namespace

Result<MigrationReport> migrate(Conn& conn) {
  MigrationReport report;
  JISHI_ASSIGN_OR_RETURN(report.from_version, schema_version(conn));
  report.to_version = report.from_version;
  if (report.from_version > latest_schema_version())
    return fail(Code::invalid_state,
                "the database is at schema version " + std::to_string(report.from_version) +
                    " but this jishi binary knows versions up to " +
                    std::to_string(latest_schema_version()) +
                    "; run a newer jishi (refusing to start rather than risk the data)");
  // Migrations may sort or rebuild whole tables. On SQLite let those spill to temporary files,
  // whatever the connection keeps in memory otherwise (temp_store=MEMORY on the writer's, see
  // store/sqlite.cc), and restore the setting after. No TEMP table exists yet: changing the
  // setting would drop them.
  std::optional<std::int64_t> temp_store;
  if (conn.engine() == Engine::sqlite && report.from_version < latest_schema_version()) {
    JISHI_ASSIGN_OR_RETURN(
        temp_store, conn.query_one("PRAGMA temp_store", {}, [](const Row& r) { return r.i64(0); }));
    JISHI_TRY(conn.exec_script("PRAGMA temp_store=FILE"));
  }
  auto applied_all = apply(conn, report);
  if (temp_store) JISHI_TRY(conn.exec_script("PRAGMA temp_store=" + std::to_string(*temp_store)));
  JISHI_TRY(applied_all);
  return report;
}

}  // namespace jishi::store
