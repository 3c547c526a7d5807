#include "store/migrate.h"

#include <gtest/gtest.h>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

namespace jishi::store {
namespace {

TEST(Migrate, AppliesEveryMigrationOnceInOrder) {
  auto path = testing::fresh_db_path("migrate");
  auto conn = std::move(open_sqlite(path, OpenMode::read_write).value());
  auto first = migrate(*conn);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(first->from_version, 0);
  EXPECT_EQ(first->to_version, latest_schema_version());
  auto again = migrate(*conn);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->from_version, latest_schema_version());
  int last = 0;
  for (const auto& m : embedded_migrations()) {
    EXPECT_GT(m.version, last);
    last = m.version;
  }
}

TEST(Migrate, SqliteKeysAreRowids) {
  EXPECT_EQ(adapt_ddl("CREATE TABLE a (id BIGINT PRIMARY KEY, b BIGINT)", Engine::sqlite),
            "CREATE TABLE a (id INTEGER PRIMARY KEY, b BIGINT)");
  EXPECT_EQ(adapt_ddl("CREATE TABLE a (id BIGINT PRIMARY KEY)", Engine::postgresql),
            "CREATE TABLE a (id BIGINT PRIMARY KEY)");
  EXPECT_EQ(adapt_ddl("CREATE TABLE a (b BIGINT, c BIGINT, PRIMARY KEY (b, c)) WITHOUT ROWID;",
                      Engine::postgresql),
            "CREATE TABLE a (b BIGINT, c BIGINT, PRIMARY KEY (b, c));");
  EXPECT_EQ(adapt_ddl("CREATE TABLE a (b BIGINT PRIMARY KEY) WITHOUT ROWID", Engine::sqlite),
            "CREATE TABLE a (b INTEGER PRIMARY KEY) WITHOUT ROWID");
}

TEST(Migrate, RefusesADatabaseNewerThanTheBinary) {
  auto path = testing::fresh_db_path("migrate_newer");
  {
    auto conn = std::move(open_sqlite(path, OpenMode::read_write).value());
    ASSERT_TRUE(migrate(*conn));
    ASSERT_TRUE(conn->exec(
        "INSERT INTO schema_migrations (version, name, applied_at_us) VALUES ($1, 'future', 0)",
        {latest_schema_version() + 1}));
  }
  StoreOptions opts;
  opts.sqlite_path = path;
  auto s = Store::open(opts, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Code::invalid_state);
  EXPECT_NE(s.error().detail.find("newer jishi"), std::string::npos);
}

TEST(Migrate, StoreWithoutMigrateRefusesAnOutdatedDatabase) {
  StoreOptions opts;
  opts.sqlite_path = testing::fresh_db_path("migrate_old");
  opts.migrate = false;
  auto s = Store::open(opts, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("jishi migrate"), std::string::npos);
}

}  // namespace
}  // namespace jishi::store
