// The database as the server sees it: one writer (the batched single writer over its own
// connection) and a pool of read connections, opened on one SQLite file and migrated.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "store/read_pool.h"
#include "store/writer.h"

namespace jishi::store {

struct StoreOptions {
  std::string sqlite_path;
  std::size_t read_connections = 4;
  WriterOptions writer;
  bool migrate = true;  // apply pending migrations on open
  // Further preparation of the writer's connection by modules (catalog's offer cache), at
  // open, after migrations and before the writer hook's prepare. A failure fails the open.
  std::vector<std::function<Status(Conn&)>> prepare_writer;
};

class Store {
 public:
  // Opens the database, applies (or, with migrate=false, checks) migrations, starts the
  // writer. Fails with Code::invalid_state when the schema is newer than this binary, or
  // is behind and migrate=false.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options,
                                             metrics::Registry* registry);

  Writer& writer() { return *writer_; }
  ReadPool& reads() { return *reads_; }
  // Drains and stops the writer; reads remain possible.
  void stop_writer() { writer_->stop(); }

 private:
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ReadPool> reads_;
};

}  // namespace jishi::store
