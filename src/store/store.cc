#include "store/store.h"

#include "store/migrate.h"
#include "store/sqlite.h"

namespace jishi::store {

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options,
                                           metrics::Registry* registry) {
  JISHI_ASSIGN_OR_RETURN(auto conn, open_sqlite(options.sqlite_path, OpenMode::read_write));
  if (options.migrate) {
    JISHI_TRY(migrate(*conn));
  } else {
    JISHI_ASSIGN_OR_RETURN(int version, schema_version(*conn));
    if (version != latest_schema_version())
      return fail(Code::invalid_state, "the database is at schema version " +
                                           std::to_string(version) + ", this jishi expects " +
                                           std::to_string(latest_schema_version()) +
                                           "; run `jishi migrate`");
  }
  for (const auto& prepare : options.prepare_writer) JISHI_TRY(prepare(*conn));
  if (options.writer.hook) JISHI_TRY(options.writer.hook->prepare(*conn));
  std::vector<std::unique_ptr<Conn>> readers;
  for (std::size_t i = 0; i < options.read_connections; ++i) {
    JISHI_ASSIGN_OR_RETURN(auto r, open_sqlite(options.sqlite_path, OpenMode::read_only));
    readers.push_back(std::move(r));
  }
  auto s = std::unique_ptr<Store>(new Store());
  s->reads_ = std::make_unique<ReadPool>(std::move(readers));
  s->writer_ = std::make_unique<Writer>(std::move(conn), options.writer, registry);
  return s;
}

}  // namespace jishi::store
