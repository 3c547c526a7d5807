#include "store/sqlite.h"

#include <gtest/gtest.h>

#include <random>

#include "store/page_cache.h"
#include "store/test_util.h"

namespace jishi::store {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::fresh_db_path("sqlite");
    conn_ = std::move(open_sqlite(path_, OpenMode::read_write).value());
    ASSERT_TRUE(
        conn_->exec_script("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT UNIQUE, n BIGINT)"));
  }
  std::string path_;
  std::unique_ptr<Conn> conn_;
};

TEST_F(SqliteTest, BindsDollarParametersByNumberNotPosition) {
  ASSERT_TRUE(conn_->exec("INSERT INTO t (n, name, id) VALUES ($3, $2, $1)", {1, "a", 42}));
  std::int64_t n = 0;
  std::string name;
  ASSERT_TRUE(
      conn_->query("SELECT n, name FROM t WHERE id = $1 AND $1 > 0", {1}, [&](const Row& r) {
        n = r.i64(0);
        name = r.str(1);
        return true;
      }));
  EXPECT_EQ(n, 42);
  EXPECT_EQ(name, "a");
}

// Reads under a ReadSnapshot see one state of the database: a commit by another connection in
// between shows only after it ends. Inside a transaction already, it begins nothing.
TEST_F(SqliteTest, AReadSnapshotKeepsItsReadsOnOneState) {
  ASSERT_TRUE(conn_->exec_script("PRAGMA journal_mode=WAL"));
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name, n) VALUES (1, 'a', 1)", {}));
  auto reader = std::move(open_sqlite(path_, OpenMode::read_only).value());
  auto count = [&] {
    return reader->query_one("SELECT COUNT(*) FROM t", {}, [](const Row& r) { return r.i64(0); })
        .value()
        .value();
  };
  {
    auto snapshot = ReadSnapshot::begin(*reader);
    ASSERT_TRUE(snapshot);
    EXPECT_TRUE(reader->in_transaction());
    EXPECT_EQ(count(), 1);
    ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name, n) VALUES (2, 'b', 2)", {}));
    EXPECT_EQ(count(), 1);  // the state the first read saw
  }
  EXPECT_FALSE(reader->in_transaction());
  EXPECT_EQ(count(), 2);
  ASSERT_TRUE(conn_->begin());
  {
    auto inner = ReadSnapshot::begin(*conn_);
    ASSERT_TRUE(inner);
  }
  EXPECT_TRUE(conn_->in_transaction());  // the caller's transaction goes on
  ASSERT_TRUE(conn_->rollback());
}

// A watch says when a cache of a table's rows may be used and when it must be dropped: every
// write through this connection (for an UPDATE, of the watched columns), every rollback, and
// another connection's commit move its version; only inside begin() before a write is it
// usable.
TEST_F(SqliteTest, TableWatchesMoveOnWritesRollbacksAndOtherConnections) {
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name, n) VALUES (1, 'a', 0)"));
  auto watched = conn_->watch("t", "name");
  ASSERT_TRUE(watched);
  const TableWatch* w = *watched;
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(*conn_->watch("t", "name"), w);  // one watch per table
  EXPECT_FALSE(conn_->watch("t"));           // not for other columns
  EXPECT_FALSE(conn_->watch("t; DROP TABLE t"));
  EXPECT_FALSE(w->usable());  // outside a transaction
  auto moved = [&, last = w->version]() mutable {
    bool m = w->version != last;
    last = w->version;
    return m;
  };
  ASSERT_TRUE(conn_->begin());
  EXPECT_TRUE(w->usable());
  EXPECT_FALSE(moved());
  ASSERT_TRUE(conn_->exec("UPDATE t SET n = 5 WHERE id = 1"));  // not a watched column
  EXPECT_FALSE(moved());
  EXPECT_TRUE(w->usable());
  ASSERT_TRUE(conn_->exec("SAVEPOINT s"));
  ASSERT_TRUE(conn_->exec("UPDATE t SET name = 'b' WHERE id = 1"));
  EXPECT_TRUE(moved());
  EXPECT_FALSE(w->usable());  // written: nothing read now may be kept
  ASSERT_TRUE(conn_->exec("ROLLBACK TO s"));
  ASSERT_TRUE(conn_->exec("RELEASE s"));
  EXPECT_FALSE(w->usable());  // until the transaction ends
  ASSERT_TRUE(conn_->commit());
  EXPECT_FALSE(w->usable());
  // A transaction that wrote the table moves the version when it commits, even when a
  // savepoint undid the write: a cache brought up to date after the write must look again.
  EXPECT_TRUE(moved());
  ASSERT_TRUE(conn_->begin());
  ASSERT_TRUE(conn_->exec("UPDATE t SET n = 6 WHERE id = 1"));  // not a watched column
  ASSERT_TRUE(conn_->commit());
  EXPECT_FALSE(moved());
  // Inserts, deletes and rollbacks.
  ASSERT_TRUE(conn_->begin());
  EXPECT_TRUE(w->usable());
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name) VALUES (2, 'c')"));
  EXPECT_TRUE(moved());
  ASSERT_TRUE(conn_->rollback());
  EXPECT_TRUE(moved());
  ASSERT_TRUE(conn_->begin());
  ASSERT_TRUE(conn_->exec("DELETE FROM t WHERE id = 1"));
  EXPECT_TRUE(moved());
  ASSERT_TRUE(conn_->rollback());
  // A statement that fails inside begin() and a transaction SQLite ends by itself.
  ASSERT_TRUE(conn_->begin());
  EXPECT_TRUE(w->usable());
  ASSERT_TRUE(conn_->exec("ROLLBACK"));  // behind the connection's back: the hook sees it
  EXPECT_TRUE(moved());
  EXPECT_FALSE(w->usable());
  // Another connection's commit is seen at the next begin().
  auto other = std::move(open_sqlite(path_, OpenMode::read_write).value());
  ASSERT_TRUE(other->exec("UPDATE t SET n = 9 WHERE id = 1"));
  ASSERT_TRUE(conn_->begin());
  EXPECT_TRUE(moved());
  EXPECT_TRUE(w->usable());
  ASSERT_TRUE(conn_->commit());
  ASSERT_TRUE(conn_->begin());
  EXPECT_FALSE(moved());  // nobody else committed since
  // Not inside a transaction: a rollback would take the triggers back and leave the watch.
  EXPECT_FALSE(conn_->watch("u"));
  ASSERT_TRUE(conn_->commit());
  // A column the table does not have is refused. A watch whose triggers cannot all be made
  // (here the second's name is taken) leaves none behind: the next attempt, whose CREATEs
  // would fail on a leftover, succeeds.
  ASSERT_TRUE(conn_->exec_script(
      "CREATE TABLE u (id BIGINT PRIMARY KEY, v TEXT);"
      "CREATE TEMP TRIGGER jishi_watch_u_u AFTER UPDATE ON main.u BEGIN SELECT 1; END;"));
  EXPECT_FALSE(conn_->watch("u", "v, nosuchcolumn"));
  EXPECT_FALSE(conn_->watch("u", "v"));
  ASSERT_TRUE(conn_->exec_script("DROP TRIGGER temp.jishi_watch_u_u"));
  EXPECT_TRUE(conn_->exec("INSERT INTO u (id, v) VALUES (1, 'x')"));
  auto u = conn_->watch("u", "v");
  ASSERT_TRUE(u);
  ASSERT_TRUE(conn_->begin());
  std::uint64_t before = (*u)->version;
  ASSERT_TRUE(conn_->exec("UPDATE u SET v = 'y' WHERE id = 1"));
  EXPECT_EQ((*u)->version, before + 1);  // one trigger fired, not a leftover as well
  ASSERT_TRUE(conn_->commit());
}

TEST_F(SqliteTest, MapsUniqueViolationsToAlreadyExists) {
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name) VALUES ($1, $2)", {1, "x"}));
  auto r = conn_->exec("INSERT INTO t (id, name) VALUES ($1, $2)", {2, "x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::already_exists);
}

TEST_F(SqliteTest, ReportsMissingParametersInsteadOfBindingGarbage) {
  auto r = conn_->exec("INSERT INTO t (id, name) VALUES ($1, $2)", {1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::internal);
}

TEST_F(SqliteTest, NullsAndOptionalsRoundTrip) {
  std::optional<std::string> none;
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name) VALUES ($1, $2)", {7, none}));
  auto v = conn_->query_one("SELECT name FROM t WHERE id = $1", {7},
                            [](const Row& r) { return r.opt_str(0); });
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_FALSE(v->value().has_value());
}

TEST_F(SqliteTest, ReadersSeeOnlyCommittedState) {
  auto reader = std::move(open_sqlite(path_, OpenMode::read_only).value());
  ASSERT_TRUE(conn_->begin());
  ASSERT_TRUE(conn_->exec("INSERT INTO t (id) VALUES ($1)", {1}));
  auto count = [&] {
    return reader->query_one("SELECT COUNT(*) FROM t", {}, [](const Row& r) { return r.i64(0); })
        .value()
        .value();
  };
  EXPECT_EQ(count(), 0);
  ASSERT_TRUE(conn_->commit());
  EXPECT_EQ(count(), 1);
  EXPECT_FALSE(reader->exec("INSERT INTO t (id) VALUES ($1)", {2}));  // query_only
}

// The page-cache layer (page_cache.h). Splits in the middle of an index park a page under the
// lock-byte page's number for a moment, after which SQLite's own cache would scan all of itself
// at each COMMIT: with the layer, a COMMIT that drops no page does not reach it. A ROLLBACK of
// a transaction that grew the file drops pages, and goes through. The data stay whole.
TEST_F(SqliteTest, ThePageCacheLayerSkipsOnlyTruncationsThatDropNothing) {
  ASSERT_TRUE(install_page_cache_layer());  // open_sqlite did, before SQLite started
  std::mt19937_64 random(7);
  std::int64_t id = 0;
  auto insert = [&](int rows) {
    for (int i = 0; i < rows; ++i) {
      ++id;  // random names: the name index splits anywhere
      ASSERT_TRUE(conn_->exec("INSERT INTO t (id, name, n) VALUES ($1, $2, $1)",
                              {id, std::to_string(random())}));
    }
  };
  auto one = [&](const char* sql) {
    return conn_->query_one(sql, {}, [](const Row& r) { return r.i64(0); }).value().value();
  };
  auto before = page_cache_truncations();
  for (int batch = 0; batch < 100; ++batch) {
    ASSERT_TRUE(conn_->begin());
    insert(50);
    ASSERT_TRUE(conn_->commit());
  }
  auto committed = page_cache_truncations();
  EXPECT_EQ(committed.passed, before.passed);
  EXPECT_GE(committed.skipped - before.skipped, 100u);

  std::int64_t pages = one("PRAGMA page_count");
  ASSERT_TRUE(conn_->begin());
  insert(3000);
  EXPECT_GT(one("PRAGMA page_count"), pages);
  ASSERT_TRUE(conn_->rollback());
  EXPECT_EQ(one("PRAGMA page_count"), pages);
  EXPECT_GT(page_cache_truncations().passed, committed.passed);  // the new pages were dropped

  id = 5000;  // and the file grows again over the numbers they had
  ASSERT_TRUE(conn_->begin());
  insert(3000);
  ASSERT_TRUE(conn_->commit());
  EXPECT_EQ(one("SELECT COUNT(*) FROM t"), 8000);
  EXPECT_EQ(one("SELECT COUNT(*) FROM t WHERE id > 5000"), 3000);
  auto check =
      conn_->query_one("PRAGMA integrity_check", {}, [](const Row& r) { return r.str(0); });
  ASSERT_TRUE(check);
  EXPECT_EQ(check->value_or(""), "ok");
}

}  // namespace
}  // namespace jishi::store
