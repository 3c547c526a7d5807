// The engine-neutral database interface every module writes against. SQL uses the subset
// SQLite and PostgreSQL share ($n parameters, ON CONFLICT, RETURNING, BIGINT time), so the
// same statements run on both engines. A Conn inside the writer's transaction is a `Tx`.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/function_ref.h"
#include "core/result.h"

namespace jishi::store {

// A value bound to a $n parameter. Borrows text; the caller keeps it alive for the call.
class Param {
 public:
  enum class Kind { null, integer, text, blob };
  Param(std::nullptr_t) : kind_(Kind::null) {}                  // NOLINT
  Param(std::int64_t v) : kind_(Kind::integer), int_(v) {}      // NOLINT
  Param(int v) : kind_(Kind::integer), int_(v) {}               // NOLINT
  Param(bool v) : kind_(Kind::integer), int_(v ? 1 : 0) {}      // NOLINT
  Param(std::string_view v) : kind_(Kind::text), text_(v) {}    // NOLINT
  Param(const std::string& v) : kind_(Kind::text), text_(v) {}  // NOLINT
  Param(const char* v) : kind_(Kind::text), text_(v) {}         // NOLINT
  template <class T>
  Param(const std::optional<T>& v) : Param(nullptr) {  // NOLINT
    if (v) *this = Param(*v);
  }
  static Param blob(std::string_view bytes) {
    Param p(bytes);
    p.kind_ = Kind::blob;
    return p;
  }

  Kind kind() const { return kind_; }
  std::int64_t integer() const { return int_; }
  std::string_view text() const { return text_; }

 private:
  Kind kind_;
  std::int64_t int_ = 0;
  std::string_view text_;
};

using Params = std::span<const Param>;

// One result row; valid only inside the row callback.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int column) const = 0;
  virtual std::int64_t i64(int column) const = 0;
  virtual std::string_view text(int column) const = 0;
  std::string str(int column) const { return std::string(text(column)); }
  std::optional<std::int64_t> opt_i64(int column) const {
    return is_null(column) ? std::nullopt : std::optional(i64(column));
  }
  std::optional<std::string> opt_str(int column) const {
    return is_null(column) ? std::nullopt : std::optional(str(column));
  }
};

enum class Engine { sqlite, postgresql };

// What a cache of a table's rows on one connection needs to stay exact (Conn::watch). The
// writer's caches (a payee's organisation, a seller's webhooks) use it; the rule for a cache:
// - drop every entry when `version` differs from the version the entries were read at;
// - use an entry, and keep a value just read, only while usable() says so.
// `version` moves on every write to the table through this connection (a TEMP trigger), on
// every rollback of a transaction (whatever it undid), and at begin() when another connection
// has committed since the last one. usable() holds inside a transaction opened with begin()
// (BEGIN IMMEDIATE: no other connection can commit until it ends) in which this connection has
// not written to the table: what is read then is the committed state, and stays so until the
// version moves. (A value read after a write could be undone by a rollback of a savepoint, so
// none is kept until the transaction ends, and the COMMIT of a transaction that wrote the
// table moves the version too: a cache brought up to date after such a write must look again.)
struct TableWatch {
  std::uint64_t version = 0;
  bool in_transaction = false;  // inside a transaction begin() opened, not yet ended
  bool written = false;         // this connection wrote to the table in that transaction
  bool usable() const { return in_transaction && !written; }
};

class Conn {
 public:
  virtual ~Conn() = default;
  virtual Engine engine() const = 0;

  // Runs one statement and returns the number of rows it changed. A unique-constraint
  // violation is Code::already_exists; other constraint failures Code::conflict.
  virtual Result<std::int64_t> exec(std::string_view sql, Params params) = 0;
  // Runs a query, calling on_row per row until it returns false.
  virtual Status query(std::string_view sql, Params params,
                       FunctionRef<bool(const Row&)> on_row) = 0;
  // Runs several ;-separated statements without parameters (migrations).
  virtual Status exec_script(std::string_view sql) = 0;

  // Rows inserted, updated or deleted through this connection since it was opened. The writer
  // uses it to tell a command that failed before writing from one that must be undone.
  virtual std::int64_t total_changes() const = 0;
  // Whether a transaction is open. SQLite may roll back a whole transaction by itself on some
  // errors (I/O, disk full, out of memory); the writer checks this after every command.
  virtual bool in_transaction() const = 0;

  virtual Status begin() = 0;  // a write transaction (SQLite: BEGIN IMMEDIATE)
  // How many of this connection's begin()s found that another connection had committed since
  // its previous transaction (SQLite: PRAGMA data_version). Memory a module keeps of rows
  // through this connection is exact while it has not moved; nullopt on an engine that cannot
  // tell, where such memory must not be kept.
  virtual std::optional<std::uint64_t> others_committed() const { return std::nullopt; }
  virtual Status commit() = 0;
  virtual Status rollback() = 0;

  // Pipelined durability, for the writer's connection. After defer_sync(), COMMIT no longer
  // waits for the disk: the returned function (thread-safe, callable from another thread)
  // makes every transaction committed before the call durable, and after_commit() must run on
  // this connection's thread after each COMMIT (it keeps the log bounded, durably). Returns
  // nullptr when the engine or the database (in memory) cannot defer, and nothing changes.
  virtual std::function<Status()> defer_sync() { return nullptr; }
  // After defer_sync(): a function that checkpoints the log into the database from a
  // connection of its own, durably, for a thread beside the writer (the writer then spends no
  // time copying pages or waiting for the database file's fsync). Once it has been handed out,
  // after_commit() returns true when it is due, and checkpoints on this connection itself
  // only when the log has grown far beyond that (the background one falling behind). The
  // function returns the frames it copied. nullptr when the engine has no log to checkpoint.
  virtual std::function<Result<std::int64_t>()> background_checkpoint() { return nullptr; }
  // Returns whether the background checkpoint is due (always false without one).
  virtual Result<bool> after_commit() { return false; }

  // Watches writes to `table` (INSERT, DELETE, and UPDATE of `update_columns`, a
  // comma-separated list, or of any column when empty) for a cache of its rows (TableWatch).
  // The list must hold every column the cache reads, the key and every UNIQUE column: a
  // REPLACE that deletes a conflicting row fires no DELETE trigger, only the UPDATE or INSERT
  // of the row that replaced it. Calling it again for a table with the same list returns the
  // same watch (another list is an error). nullptr when the engine cannot watch (PostgreSQL):
  // the caller then reads every time. Outside any transaction (an error inside one).
  virtual Result<const TableWatch*> watch(std::string_view /*table*/,
                                          std::string_view /*update_columns*/ = {}) {
    return nullptr;
  }

  // State a module keeps with this connection once it has prepared it for itself (inventory's
  // deferred units and catalog's offer cache on the writer's connection), found by name with
  // attachment<T>(), so that the module's functions can tell without a query.
  void attach(std::string_view feature, std::shared_ptr<void> state) {
    for (auto& a : attached_)
      if (a.first == feature) {
        a.second = std::move(state);
        return;
      }
    attached_.emplace_back(std::string(feature), std::move(state));
  }
  template <class T>
  T* attachment(std::string_view feature) const {
    for (const auto& a : attached_)
      if (a.first == feature) return static_cast<T*>(a.second.get());
    return nullptr;
  }

  Result<std::int64_t> exec(std::string_view sql, std::initializer_list<Param> params = {}) {
    return exec(sql, Params(params.begin(), params.size()));
  }
  Status query(std::string_view sql, std::initializer_list<Param> params,
               FunctionRef<bool(const Row&)> on_row) {
    return query(sql, Params(params.begin(), params.size()), on_row);
  }
  // The first row mapped through f, or nullopt when there is none.
  template <class F>
  auto query_one(std::string_view sql, std::initializer_list<Param> params, F&& f)
      -> Result<std::optional<decltype(f(std::declval<const Row&>()))>> {
    std::optional<decltype(f(std::declval<const Row&>()))> out;
    JISHI_TRY(query(sql, params, [&](const Row& r) {
      out.emplace(f(r));
      return false;
    }));
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<void>>> attached_;
};

// The connection a write command gets: inside the writer's batch transaction, under the
// command's own savepoint.
using Tx = Conn;

// Runs `body` in a begin() transaction of its own (outside the writer's batches: migrations,
// what a module loads or restores on the writer's connection before the writer starts). Its
// COMMIT when it succeeds; a ROLLBACK when it or the COMMIT fails, with that error returned.
inline Status run_in_transaction(Conn& conn, FunctionRef<Status()> body) {
  JISHI_TRY(conn.begin());
  Status done = body();
  if (done) done = conn.commit();
  if (!done) (void)conn.rollback();
  return done;
}

// Several reads on one snapshot of a read connection: a read transaction (SQLite: a deferred
// BEGIN, which takes no write lock and never blocks the writer; PostgreSQL: REPEATABLE READ),
// ended when this goes out of scope. Inside a transaction already (a writer's Tx), the reads
// share that one and nothing is begun.
class ReadSnapshot {
 public:
  static Result<ReadSnapshot> begin(Conn& conn) {
    if (conn.in_transaction()) return ReadSnapshot(nullptr);
    JISHI_TRY(conn.exec_script(
        conn.engine() == Engine::postgresql ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN"));
    return ReadSnapshot(&conn);
  }
  ReadSnapshot(ReadSnapshot&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  ReadSnapshot& operator=(ReadSnapshot&&) = delete;
  ~ReadSnapshot() {
    if (conn_) (void)conn_->exec_script("COMMIT");  // nothing was written: nothing to lose
  }

 private:
  explicit ReadSnapshot(Conn* conn) : conn_(conn) {}
  Conn* conn_;
};

}  // namespace jishi::store
