#include "store/sqlite.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace jishi::store
