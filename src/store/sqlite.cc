#include "store/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/limits.h"
#include "store/page_cache.h"

namespace jishi::store {

namespace {

// The writer's WAL is checkpointed once it holds this many frames (~8 MiB of 4 KiB pages).
// With a background checkpointer, that one copies the log into the database while the writer
// goes on, again until fewer than kWalCatchUpFrames are left (the writer appends meanwhile) or
// after kWalCatchUpRounds; the writer then copies the remainder itself, which lets the log start
// over at its next transaction (SQLite restarts the log only once every frame is in the database).
// That copy, with its two fsyncs, is where the writer's slowest batches go: 2,000 frames a cycle
// made them shorter than 4,000 did (p99 over HTTP −15–35%, in-process −40%, throughput the same;
// 16,000 made them longer; docs/performance.md, session 22).
// If the log reaches kWalCheckpointFramesMax (~125 MiB), the background one has fallen behind
// and the writer checkpoints all of it itself.
constexpr int kWalCheckpointFrames = 2000;
constexpr int kWalCatchUpFrames = 400;
constexpr int kWalCatchUpRounds = 8;
constexpr int kWalCheckpointFramesMax = 32000;

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : stmt_(s) {}
  bool is_null(int c) const override { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::int64_t i64(int c) const override { return sqlite3_column_int64(stmt_, c); }
  std::string_view text(int c) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, c));
    int n = sqlite3_column_bytes(stmt_, c);
    return p ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view();
  }

 private:
  sqlite3_stmt* stmt_;
};

// A prepared statement and, for each SQLite parameter index, which $n it is (0-based).
struct Prepared {
  sqlite3_stmt* stmt = nullptr;
  std::vector<int> param_of_index;
};

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  ~SqliteConn() override {
    // The last connection to close checkpoints the log into the database and deletes it, at
    // this connection's synchronous (NORMAL after defer_sync(), which fsyncs the database
    // before the log goes).
    for (auto& [sql, p] : cache_) sqlite3_finalize(p.stmt);
    sqlite3_close_v2(db_);
  }
  Engine engine() const override { return Engine::sqlite; }

  Result<std::int64_t> exec(std::string_view sql, Params params) override {
    JISHI_ASSIGN_OR_RETURN(Prepared * p, prepare(sql));
    JISHI_TRY(bind(*p, params));
    int rc;
    while ((rc = sqlite3_step(p->stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(p->stmt);
    if (rc != SQLITE_DONE) return error(rc, sql);
    return sqlite3_changes64(db_);
  }

  Status query(std::string_view sql, Params params, FunctionRef<bool(const Row&)> on_row) override {
    JISHI_ASSIGN_OR_RETURN(Prepared * p, prepare(sql));
    JISHI_TRY(bind(*p, params));
    SqliteRow row(p->stmt);
    int rc;
    while ((rc = sqlite3_step(p->stmt)) == SQLITE_ROW) {
      if (!on_row(row)) {
        rc = SQLITE_DONE;
        break;
      }
    }
    sqlite3_reset(p->stmt);
    if (rc != SQLITE_DONE) return std::unexpected(error(rc, sql).error());
    return {};
  }

  Status exec_script(std::string_view sql) override {
    std::string s(sql);
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      std::string m = msg ? msg : sqlite3_errstr(rc);
      sqlite3_free(msg);
      return fail(Code::storage_failure, "sqlite: " + m);
    }
    return {};
  }

  std::int64_t total_changes() const override { return sqlite3_total_changes64(db_); }
  bool in_transaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  std::optional<std::uint64_t> others_committed() const override { return others_committed_; }

  Status begin() override {
    JISHI_TRY(simple("BEGIN IMMEDIATE"));
    // Under BEGIN IMMEDIATE no other connection can commit until this transaction ends, so
    // another connection's commit is looked for once here (PRAGMA data_version moves only
    // for theirs).
    std::int64_t version = 0;
    auto read = query("PRAGMA data_version", {}, [&](const Row& r) {
      version = r.i64(0);
      return false;
    });
    if (!read) {
      (void)simple("ROLLBACK");
      return read;
    }
    bool others = version != data_version_;
    if (others && data_version_ >= 0) ++others_committed_;
    data_version_ = version;
    for (auto& w : watches_) {
      if (others) ++w->state.version;
      w->state.in_transaction = true;
      w->state.written = false;
    }
    return {};
  }
  Status commit() override {
    Status done = simple("COMMIT");
    end_watched(!done);  // a failed COMMIT may have undone anything
    return done;
  }
  Status rollback() override {
    end_watched(true);
    if (sqlite3_get_autocommit(db_)) return {};  // SQLite may already have rolled back
    return simple("ROLLBACK");
  }

  Result<const TableWatch*> watch(std::string_view table, std::string_view columns) override {
    for (const auto& w : watches_)
      if (w->table == table) {
        if (w->columns != columns)
          return fail(Code::internal,
                      "table " + std::string(table) + " is already watched for other columns");
        return &w->state;
      }
    auto name_ok = [](std::string_view n, bool list) {
      for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
              (list && (c == ',' || c == ' '))))
          return false;
      return !n.empty();
    };
    if (!name_ok(table, false) || (!columns.empty() && !name_ok(columns, true)))
      return fail(Code::internal, "cannot watch " + std::string(table));
    // The triggers are TEMP schema, which a rollback would take back while the watch stayed.
    if (!sqlite3_get_autocommit(db_))
      return fail(Code::internal, "tables are watched outside any transaction");
    // Each listed column must be the table's (SQLite accepts any name after UPDATE OF, and a
    // misspelt one would never fire).
    std::string_view rest = columns;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view c = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
      bool found = false;
      std::string t_name(table), c_name(c);
      const Param params[] = {Param(t_name), Param(c_name)};
      JISHI_TRY(query("SELECT 1 FROM pragma_table_info($1) WHERE name = $2", Params(params),
                      [&](const Row&) {
                        found = true;
                        return false;
                      }));
      if (!found)
        return fail(Code::internal, "table " + std::string(table) + " has no column " +
                                        std::string(c) + " to watch");
    }
    if (watches_.empty()) {
      // The triggers call jishi_table_written(i) for watches_[i]; the hooks end transactions
      // (also those SQLite rolls back by itself, and COMMITs not made through commit()).
      int rc = sqlite3_create_function_v2(db_, "jishi_table_written", 1, SQLITE_UTF8, this,
                                          on_table_written, nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) return fail(Code::storage_failure, "cannot watch tables");
      sqlite3_commit_hook(db_, on_commit_hook, this);
      sqlite3_rollback_hook(db_, on_rollback_hook, this);
      // The version begin() compares with: only when no begin() has read one yet (replacing it
      // would hide another connection's commit since that begin() from others_committed()).
      if (data_version_ < 0)
        JISHI_TRY(query("PRAGMA data_version", {}, [&](const Row& r) {
          data_version_ = r.i64(0);
          return false;
        }));
    }
    std::string t(table), n = std::to_string(watches_.size());
    std::string update = columns.empty() ? "UPDATE" : "UPDATE OF " + std::string(columns);
    std::string sql = "BEGIN;";
    for (auto [suffix, event] : {std::pair<std::string_view, std::string_view>{"i", "INSERT"},
                                 {"u", update},
                                 {"d", "DELETE"}}) {
      std::string name = "jishi_watch_" + t + "_" + std::string(suffix);
      sql += "CREATE TEMP TRIGGER " + name + " AFTER " + std::string(event) + " ON main." + t +
             " BEGIN SELECT jishi_table_written(" + n + "); END;";
    }
    sql += "COMMIT;";
    // All three triggers or none (a failure part way rolls the script's transaction back).
    if (auto made = exec_script(sql); !made) {
      if (!sqlite3_get_autocommit(db_)) (void)simple("ROLLBACK");
      return std::unexpected(made.error());
    }
    auto w = std::make_unique<Watched>();
    w->table = t;
    w->columns = std::string(columns);
    watches_.push_back(std::move(w));
    return &watches_.back()->state;
  }

  // synchronous=NORMAL: in WAL mode COMMIT writes the transaction's WAL frames (into the page
  // cache) without fsync. The returned function fdatasyncs the WAL file, which makes every
  // frame written before it durable; SQLite's recovery stops at the first frame whose
  // cumulative checksum fails, so a crash can lose only a suffix of transactions none of which
  // was acknowledged. NORMAL, not OFF: when the log starts over after a checkpoint, NORMAL
  // fsyncs its new header before writing frames over the old ones. At OFF the new frames could
  // reach the disk before the header, and after a power loss recovery would replay the old
  // frames still behind the old header over newer pages in the database (SQLite ticket
  // ff5be73dee). NORMAL also fsyncs the log before a checkpoint copies it and the database
  // after. Checkpoints run from after_commit() and the background checkpointer, never
  // automatically.
  std::function<Status()> defer_sync() override {
    const char* file = sqlite3_db_filename(db_, "main");
    if (!file || !*file) return nullptr;  // in memory: nothing to make durable
    std::string wal = std::string(file) + "-wal";
    std::string dir = std::filesystem::path(file).parent_path().string();
    if (dir.empty()) dir = ".";
    if (!exec_script("PRAGMA synchronous=NORMAL")) return nullptr;
    sqlite3_wal_hook(db_, &SqliteConn::on_wal, this);  // replaces wal_autocheckpoint
    deferred_ = true;
    auto log = std::make_shared<LogFile>(std::move(wal), std::move(dir));
    return [log]() -> Status { return log->sync(); };
  }

  // A second connection to the same file, at synchronous=FULL (open_sqlite's default): its
  // PASSIVE checkpoint fsyncs the log, copies the frames every reader has passed into the
  // database, and fsyncs the database before the writer may start the log over. It never
  // writes a transaction, so it takes no lock the writer waits for.
  std::function<Result<std::int64_t>()> background_checkpoint() override {
    const char* file = sqlite3_db_filename(db_, "main");
    if (!deferred_ || !file || !*file) return nullptr;
    auto opened = open_sqlite(file, OpenMode::read_write);
    if (!opened) return nullptr;  // the writer keeps checkpointing itself
    std::shared_ptr<Conn> conn(std::move(*opened));
    background_ = true;
    // Frames of the log in the database after the last call (to count what each call copied).
    auto seen = std::make_shared<std::int64_t>(0);
    return [conn, caught_up = caught_up_, seen]() -> Result<std::int64_t> {
      struct Pass {
        bool busy;
        std::int64_t log, done;  // frames in the log, frames of it in the database
      };
      std::int64_t copied = 0;
      for (int round = 0; round < kWalCatchUpRounds; ++round) {
        JISHI_ASSIGN_OR_RETURN(
            auto pass, conn->query_one("PRAGMA wal_checkpoint(PASSIVE)", {}, [](const Row& r) {
              return Pass{r.i64(0) != 0, r.i64(1), r.i64(2)};
            }));
        // Another checkpoint (the writer's) holds the log: it copies what is there.
        if (!pass || pass->busy || pass->done < 0) return copied;
        copied += pass->done >= *seen ? pass->done - *seen : pass->done;  // smaller: started over
        *seen = pass->done;
        if (pass->log - pass->done < kWalCatchUpFrames) break;
      }
      // What the writer appended during the last round it copies itself (if the log has not
      // started over meanwhile), which lets the log start over.
      caught_up->store(true);
      return copied;
    };
  }

  // Checkpoints on this connection; at synchronous=NORMAL that fsyncs the log before copying
  // and the database after.
  Status checkpoint_here() { return exec_script("PRAGMA wal_checkpoint(PASSIVE)"); }

  Result<bool> after_commit() override {
    if (!deferred_) return false;
    if (wal_frames_ < requested_at_) requested_at_ = 0;  // the log started over
    if (background_ && wal_frames_ < kWalCheckpointFramesMax) {
      // The background checkpoint left a remainder: copy it, so the log can start over.
      if (caught_up_->exchange(false) && requested_at_ != 0) {
        JISHI_TRY(checkpoint_here());
        return false;
      }
      // Asked once per kWalCheckpointFrames of growth, not after every batch while it runs.
      if (wal_frames_ < kWalCheckpointFrames || wal_frames_ < requested_at_ + kWalCheckpointFrames)
        return false;
      requested_at_ = wal_frames_;
      return true;
    }
    if (wal_frames_ < kWalCheckpointFrames) return false;
    wal_frames_ = 0;
    requested_at_ = 0;
    JISHI_TRY(checkpoint_here());
    return false;
  }

 private:
  // A transaction ended: every watch leaves it. `undone` moves every version; a commit moves
  // the versions of the tables it wrote, since a cache may have been brought up to date after
  // a write that a ROLLBACK TO then undid (its `written` still set).
  void end_watched(bool undone) {
    for (auto& w : watches_) {
      if (undone || w->state.written) ++w->state.version;
      w->state.in_transaction = false;
      w->state.written = false;
    }
  }
  static void on_table_written(sqlite3_context* ctx, int, sqlite3_value** argv) {
    auto* self = static_cast<SqliteConn*>(sqlite3_user_data(ctx));
    auto i = static_cast<std::size_t>(sqlite3_value_int64(argv[0]));
    if (i < self->watches_.size()) {
      ++self->watches_[i]->state.version;
      self->watches_[i]->state.written = true;
    }
    sqlite3_result_null(ctx);
  }
  static int on_commit_hook(void* self) {
    static_cast<SqliteConn*>(self)->end_watched(false);
    return 0;
  }
  static void on_rollback_hook(void* self) { static_cast<SqliteConn*>(self)->end_watched(true); }

  Status simple(std::string_view sql) {
    auto r = exec(sql, Params{});
    if (!r) return std::unexpected(r.error());
    return {};
  }

  Result<std::int64_t> error(int rc, std::string_view sql) {
    int ext = sqlite3_extended_errcode(db_);
    std::string msg = sqlite3_errmsg(db_);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
      return fail(Code::already_exists, msg);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return fail(Code::conflict, msg);
    return fail(Code::storage_failure,
                "sqlite: " + msg + " in: " + std::string(sql.substr(0, 120)));
  }

  Result<Prepared*> prepare(std::string_view sql) {
    // Most SQL is a string literal, so the same text comes back at the same address: a slot
    // per address is checked first, and its text compared (memcmp, cheaper than hashing it).
    Recent& slot = recent_[(reinterpret_cast<std::uintptr_t>(sql.data()) >> 3) % recent_.size()];
    if (slot.prepared && slot.data == sql.data() && slot.sql->size() == sql.size() &&
        std::memcmp(slot.sql->data(), sql.data(), sql.size()) == 0)
      return slot.prepared;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      slot = {sql.data(), &it->first, &it->second};
      return &it->second;
    }
    if (cache_.size() >= limits::statement_cache_max) {
      for (auto& [k, p] : cache_) sqlite3_finalize(p.stmt);
      cache_.clear();
      recent_.fill({});
    }
    Prepared p;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &p.stmt, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db_);
      return fail(Code::storage_failure,
                  "sqlite prepare: " + msg + " in: " + std::string(sql.substr(0, 120)));
    }
    int n = sqlite3_bind_parameter_count(p.stmt);
    p.param_of_index.assign(static_cast<std::size_t>(n) + 1, -1);
    for (int i = 1; i <= n; ++i) {
      const char* name = sqlite3_bind_parameter_name(p.stmt, i);
      int k = 0;
      if (name && name[0] == '$') {
        std::string_view digits(name + 1);
        std::from_chars(digits.data(), digits.data() + digits.size(), k);
      }
      if (k <= 0) {
        sqlite3_finalize(p.stmt);
        return fail(Code::internal, "SQL parameters must be $1..$n: " + std::string(sql));
      }
      p.param_of_index[static_cast<std::size_t>(i)] = k - 1;
    }
    auto [pos, _] = cache_.emplace(std::string(sql), p);
    slot = {sql.data(), &pos->first, &pos->second};
    return &pos->second;
  }

  // Every parameter index is bound on every use (no sqlite3_clear_bindings needed).
  Status bind(Prepared& p, Params params) {
    for (std::size_t i = 1; i < p.param_of_index.size(); ++i) {
      auto k = static_cast<std::size_t>(p.param_of_index[i]);
      if (k >= params.size())
        return fail(Code::internal, "SQL parameter $" + std::to_string(k + 1) + " not bound");
      const Param& v = params[k];
      int idx = static_cast<int>(i);
      int rc = SQLITE_OK;
      switch (v.kind()) {
        case Param::Kind::null:
          rc = sqlite3_bind_null(p.stmt, idx);
          break;
        case Param::Kind::integer:
          rc = sqlite3_bind_int64(p.stmt, idx, v.integer());
          break;
        case Param::Kind::text:
          // An empty view may have no data pointer, which SQLite would bind as NULL.
          rc = sqlite3_bind_text64(p.stmt, idx, v.text().data() ? v.text().data() : "",
                                   v.text().size(), SQLITE_STATIC, SQLITE_UTF8);
          break;
        case Param::Kind::blob:
          rc = sqlite3_bind_blob64(p.stmt, idx, v.text().data() ? v.text().data() : "",
                                   v.text().size(), SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) return fail(Code::storage_failure, "sqlite bind failed");
    }
    return {};
  }

  static int on_wal(void* self, sqlite3*, const char*, int frames) {
    static_cast<SqliteConn*>(self)->wal_frames_ = frames;
    return SQLITE_OK;
  }

  // The log as the syncer sees it: its own descriptor (Linux flushes a file's dirty pages
  // whichever descriptor asks), opened at the first sync after the log exists and then kept,
  // instead of an open and a close, with a path lookup, around every sync. The kept descriptor
  // names the file this connection writes its frames to: SQLite removes the log only when the
  // last connection to the database closes, which takes an exclusive lock that this open
  // connection's shared lock prevents, and starting the log over or truncating it keeps the
  // same file (writer_test.cc checks it after many restarts). One thread syncs at a time (the
  // writer's syncer).
  class LogFile {
   public:
    LogFile(std::string path, std::string dir) : path_(std::move(path)), dir_(std::move(dir)) {}
    LogFile(const LogFile&) = delete;
    LogFile& operator=(const LogFile&) = delete;
    ~LogFile() {
      if (fd_ >= 0) ::close(fd_);
    }
    Status sync() {
      if (fd_ < 0) {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
          if (errno == ENOENT) return {};  // no log yet: nothing committed to sync
          return fail(Code::storage_failure, "open " + path_ + ": " + std::strerror(errno));
        }
      }
      // The directory entry of the log, once it exists: SQLite syncs it only at
      // synchronous=FULL.
      if (!synced_dir_) {
        JISHI_TRY(sync_directory(dir_));
        synced_dir_ = true;
      }
      if (::fdatasync(fd_) != 0)
        return fail(Code::storage_failure, "fsync " + path_ + ": " + std::strerror(errno));
      return {};
    }

   private:
    std::string path_, dir_;
    int fd_ = -1;
    bool synced_dir_ = false;
  };

  // fsync of a directory (its entries), through a descriptor of its own.
  static Status sync_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(Code::storage_failure, "open " + path + ": " + std::strerror(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail(Code::storage_failure, "fsync " + path + ": " + std::strerror(err));
    return {};
  }

  sqlite3* db_;
  bool deferred_ = false;
  bool background_ = false;  // background_checkpoint() was handed out
  int wal_frames_ = 0;
  int requested_at_ = 0;  // the log's frames when the background checkpoint was last asked for
  // Set by the background checkpoint after its rounds: the writer copies what is left.
  std::shared_ptr<std::atomic<bool>> caught_up_ = std::make_shared<std::atomic<bool>>(false);
  // Transparent hashing: lookups take the caller's string_view without building a string.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Prepared, SqlHash, std::equal_to<>> cache_;
  // Recently used statements by the address of their SQL text (entries of cache_, whose
  // nodes stay put until it is cleared).
  struct Recent {
    const char* data = nullptr;
    const std::string* sql = nullptr;
    Prepared* prepared = nullptr;
  };
  std::array<Recent, 128> recent_{};
  // Tables watched for the caches on this connection (watch()); their TableWatch addresses
  // stay put.
  struct Watched {
    std::string table, columns;
    TableWatch state;
  };
  std::vector<std::unique_ptr<Watched>> watches_;
  std::int64_t data_version_ = -1;  // PRAGMA data_version at the last begin()
  std::uint64_t others_committed_ = 0;
};

}  // namespace

Result<std::unique_ptr<Conn>> open_sqlite(const std::string& path, OpenMode mode) {
  // Before the library initialises: no global malloc statistics, whose mutex every allocation
  // would take (we never read them).
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
  // And no scan of the whole page cache at every COMMIT (page_cache.h).
  install_page_cache_layer();
  sqlite3* db = nullptr;
  // Readers open read-write too (WAL readers must be able to map the -shm file) and are
  // then fenced with query_only.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE |
              (mode == OpenMode::read_write ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return fail(Code::storage_failure, "cannot open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, static_cast<int>(limits::sqlite_busy_timeout_ms));
  sqlite3_extended_result_codes(db, 1);
  auto conn = std::make_unique<SqliteConn>(db);
  // WAL lets readers run beside the single writer; synchronous=FULL fsyncs the WAL at every
  // commit, so an acknowledged write survives power loss. temp_store=MEMORY keeps the writer's
  // TEMP tables (the offer cache's token and log; inventory's deferred reservations until
  // session 12), their journals and statement journals in memory: in files they cost a journal
  // write per page and a truncate per COMMIT (~12% of the writer's CPU under checkout load),
  // and nothing in them outlives the connection anyway.
  const char* pragmas = mode == OpenMode::read_only
                            ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                              "PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=4000; "
                              "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;";
  JISHI_TRY(conn->exec_script(pragmas));
  return std::unique_ptr<Conn>(std::move(conn));
}

}  // namespace jishi::store
