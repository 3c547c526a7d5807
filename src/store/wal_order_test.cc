// The order in which the pipelined writer's log reaches the disk, seen through a VFS that
// records every write and sync SQLite makes to the -wal file (the syncer's own fdatasync goes
// around SQLite and is not seen). When the log starts over after a checkpoint, its new header
// must be synced before frames are written over the old ones: otherwise, after a power loss,
// recovery could find the old header with some old frames intact and replay them over newer
// pages in the database (SQLite ticket ff5be73dee; it happens at synchronous=OFF).
// The same VFS also records which files SQLite opens: the writer's connection keeps its
// temporary tables and journals in memory, so its transactions open no temporary files.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite.h"
#include "store/test_util.h"
#include "store/writer.h"

namespace jishi::store {
namespace {

struct LogOp {
  char kind;  // 'w' a write, 's' a sync
  sqlite3_int64 offset;
  std::thread::id thread;
};

std::mutex g_mutex;
std::vector<LogOp> g_ops;
std::vector<int> g_open_flags;  // of every file opened
sqlite3_vfs* g_base = nullptr;

// A file of the tracing VFS: its methods, then the real file it forwards to.
struct TracedFile {
  sqlite3_file file;
  bool wal;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
TracedFile* traced(sqlite3_file* f) {
  return reinterpret_cast<TracedFile*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return traced(f)->real();
}

void record(sqlite3_file* f, char kind, sqlite3_int64 offset) {
  if (!traced(f)->wal) return;
  std::lock_guard lock(g_mutex);
  g_ops.push_back({kind, offset, std::this_thread::get_id()});
}

int x_close(sqlite3_file* f) {
  return real(f)->pMethods->xClose(real(f));
}
int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return real(f)->pMethods->xRead(real(f), b, n, o);
}
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  record(f, 'w', o);
  return real(f)->pMethods->xWrite(real(f), b, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) {
  return real(f)->pMethods->xTruncate(real(f), n);
}
int x_sync(sqlite3_file* f, int flags) {
  record(f, 's', 0);
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* n) {
  return real(f)->pMethods->xFileSize(real(f), n);
}
int x_lock(sqlite3_file* f, int l) {
  return real(f)->pMethods->xLock(real(f), l);
}
int x_unlock(sqlite3_file* f, int l) {
  return real(f)->pMethods->xUnlock(real(f), l);
}
int x_check_reserved(sqlite3_file* f, int* r) {
  return real(f)->pMethods->xCheckReservedLock(real(f), r);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int x_device(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int i, int sz, int extend, void volatile** p) {
  return real(f)->pMethods->xShmMap(real(f), i, sz, extend, p);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int del) {
  return real(f)->pMethods->xShmUnmap(real(f), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
  return real(f)->pMethods->xFetch(real(f), o, n, p);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), o, p);
}

const sqlite3_io_methods kMethods = {3,           x_close,          x_read,         x_write,
                                     x_truncate,  x_sync,           x_file_size,    x_lock,
                                     x_unlock,    x_check_reserved, x_file_control, x_sector_size,
                                     x_device,    x_shm_map,        x_shm_lock,     x_shm_barrier,
                                     x_shm_unmap, x_fetch,          x_unfetch};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  auto* t = traced(f);
  t->file.pMethods = nullptr;
  {
    std::lock_guard lock(g_mutex);
    g_open_flags.push_back(flags);
  }
  int rc = g_base->xOpen(g_base, name, t->real(), flags, out);
  if (rc != SQLITE_OK || !t->real()->pMethods) return rc;
  t->wal = (flags & SQLITE_OPEN_WAL) != 0;
  t->file.pMethods = &kMethods;
  return SQLITE_OK;
}

sqlite3_vfs g_vfs;

// Installs the tracing VFS as the default for the test's lifetime.
struct TracingVfs {
  TracingVfs() {
    g_base = sqlite3_vfs_find(nullptr);
    g_vfs = *g_base;
    g_vfs.zName = "jishi-trace";
    g_vfs.szOsFile = static_cast<int>(sizeof(TracedFile)) + g_base->szOsFile;
    g_vfs.xOpen = x_open;
    sqlite3_vfs_register(&g_vfs, 1);
    std::lock_guard lock(g_mutex);
    g_ops.clear();
    g_open_flags.clear();
  }
  ~TracingVfs() { sqlite3_vfs_unregister(&g_vfs); }
};

TEST(WalOrder, TheLogsNewHeaderIsSyncedBeforeFramesOverwriteTheOldOnes) {
  TracingVfs vfs;
  auto path = testing::fresh_db_path("wal_order");
  {
    auto conn = std::move(open_sqlite(path, OpenMode::read_write).value());
    ASSERT_TRUE(conn->exec_script("CREATE TABLE pad (id BIGINT PRIMARY KEY, b TEXT NOT NULL)"));
    WriterOptions opts;
    opts.pipelined_sync = true;
    opts.batch_commands_max = 50;
    Writer w(std::move(conn), opts, nullptr);
    ASSERT_TRUE(w.pipelined());
    std::string pad(3000, 'z');  // ~1 page per row: 10,000 rows pass the threshold twice
    constexpr int kRows = 10'000;
    std::vector<std::promise<Outcome>> done(kRows);
    for (int i = 0; i < kRows; ++i) {
      w.submit(make_command(
          [i, &pad](Tx& tx) {
            return tx.exec("INSERT INTO pad (id, b) VALUES ($1, $2)", {std::int64_t{i}, pad})
                .has_value();
          },
          [&done, i](Outcome o) { done[static_cast<std::size_t>(i)].set_value(o); }));
      if (i % 1000 != 999) continue;
      for (int j = i - 999; j <= i; ++j)  // a thousand at a time: within the queue's bound
        ASSERT_EQ(done[static_cast<std::size_t>(j)].get_future().get(), Outcome::committed);
    }
    w.stop();
  }
  std::lock_guard lock(g_mutex);
  // Each write of the header (offset 0) after the first starts the log over; the frames that
  // follow it on the same thread overwrite the previous generation's.
  int restarts = 0;
  bool first_header = true;
  for (std::size_t i = 0; i < g_ops.size(); ++i) {
    if (g_ops[i].kind != 'w' || g_ops[i].offset != 0) continue;
    if (first_header) {
      first_header = false;
      continue;
    }
    ++restarts;
    bool synced = false;
    for (std::size_t j = i + 1; j < g_ops.size(); ++j) {
      if (g_ops[j].thread != g_ops[i].thread) continue;
      if (g_ops[j].kind == 's') synced = true;
      if (g_ops[j].kind == 'w' && g_ops[j].offset > 0) {
        EXPECT_TRUE(synced) << "restart " << restarts
                            << ": frames written over the old log before its new header was synced";
        break;
      }
    }
  }
  EXPECT_GE(restarts, 1) << "the log never started over: the test saw nothing";
}

// The temporary files SQLite opens for a workload like the writer's on a fresh read-write
// connection, after `setup` (a pragma, or nothing).
int temporary_files_opened(const std::string& name, const std::string& setup) {
  auto path = testing::fresh_db_path(name);
  auto conn = std::move(open_sqlite(path, OpenMode::read_write).value());
  if (!setup.empty()) {
    EXPECT_TRUE(conn->exec_script(setup));
  }
  EXPECT_TRUE(conn->exec_script(
      "CREATE TABLE stock (sku BIGINT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0));"
      "CREATE TEMP TABLE holding (sku INTEGER PRIMARY KEY, n BIGINT NOT NULL);"));
  {
    std::lock_guard lock(g_mutex);
    g_open_flags.clear();
  }
  // Each batch touches every page of both tables: their journals outgrow the 64 KiB SQLite
  // keeps in memory before it spills a journal to a file.
  const std::string skus =
      "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 19999) ";
  for (int batch = 0; batch < 3; ++batch) {
    EXPECT_TRUE(conn->exec_script("BEGIN IMMEDIATE"));
    EXPECT_TRUE(conn->exec(skus + "INSERT INTO stock (sku, n) SELECT x, 10 FROM c WHERE true ON "
                                  "CONFLICT (sku) DO UPDATE SET n = n + 1"));
    EXPECT_TRUE(conn->exec(skus + "INSERT INTO temp.holding (sku, n) SELECT x, 1 FROM c WHERE "
                                  "true ON CONFLICT (sku) DO UPDATE SET n = n + 1"));
    // A statement that changes many rows and then fails needs a statement journal to undo it.
    auto refused = conn->exec("UPDATE stock SET n = n - 1000 + 2000 * (sku < 15000)");
    EXPECT_FALSE(refused);
    if (!refused) {
      EXPECT_NE(refused.error().detail.find("CHECK"), std::string::npos) << refused.error().detail;
    }
    EXPECT_TRUE(conn->exec_script("COMMIT"));
  }
  std::lock_guard lock(g_mutex);
  constexpr int kTemporary = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL |
                             SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_SUBJOURNAL;
  int temporary = 0;
  for (int flags : g_open_flags) temporary += (flags & kTemporary) != 0;
  return temporary;
}

// A TEMP table in a file costs a journal write (pwrite) per page a transaction first touches
// and a truncate per COMMIT: under checkout load that was 12% of the writer's CPU and 4 KB of
// disk writes per checkout (inventory's deferred reservations lived in a TEMP table then; the
// offer cache's token and change log still do).
TEST(WriterFiles, TheWritersTransactionsOpenNoTemporaryFiles) {
  TracingVfs vfs;
  // The control: with temporary files allowed, this workload does spill.
  EXPECT_GE(temporary_files_opened("writer_files_control", "PRAGMA temp_store=FILE"), 1)
      << "the workload no longer spills its journals: the test would see nothing";
  EXPECT_EQ(temporary_files_opened("writer_files", ""), 0)
      << "temporary files opened by the writer's connection";
}

}  // namespace
}  // namespace jishi::store
