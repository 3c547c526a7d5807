#include "store/migrate.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

namespace jishi::store {
namespace {

// A new database with the migrations below `version` applied, as a binary of that time left it.
std::unique_ptr<Conn> database_before(const std::string& name, int version) {
  auto conn = std::move(open_sqlite(testing::fresh_db_path(name), OpenMode::read_write).value());
  EXPECT_TRUE(schema_version(*conn));
  for (const auto& m : embedded_migrations()) {
    if (m.version >= version) break;
    EXPECT_TRUE(conn->exec_script(adapt_ddl(m.sql, Engine::sqlite))) << m.name;
    EXPECT_TRUE(conn->exec(
        "INSERT INTO schema_migrations (version, name, applied_at_us) VALUES ($1, $2, 0)",
        {m.version, m.name}));
  }
  return conn;
}

// An unpaid order of buyer 5 and seller 7 as those versions stored it.
Status insert_old_order(Conn& conn, std::int64_t id, std::int64_t checkout, std::int64_t total) {
  JISHI_TRY(conn.exec(
      "INSERT INTO ord_orders (id, checkout_id, buyer_id, seller_id, status, payment_status, "
      "fulfillment_status, currency, items_total, freight, total, intent_id, recipient_enc, "
      "phone_enc, region_code, detail_enc, pay_deadline_us, created_at_us, updated_at_us) "
      "VALUES ($1, $2, 5, 7, 'pending_payment', 'unpaid', 'unfulfilled', 'CNY', $3, 0, $3, 9, "
      "'', '', '330106', '', 0, 0, 0)",
      {id, checkout, total}));
  return {};
}

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

TEST(Migrate, TheWritersConnectionKeepsItsTempStoreInMemoryAfterMigrating) {
  // Migrations run with temp_store=FILE (a sort of a whole table spills to disk); the writer
  // then needs its TEMP tables and journals back in memory (store/sqlite.cc).
  auto path = testing::fresh_db_path("migrate_temp_store");
  auto conn = std::move(open_sqlite(path, OpenMode::read_write).value());
  auto temp_store = [&] {
    return conn->query_one("PRAGMA temp_store", {}, [](const Row& r) { return r.i64(0); })
        .value()
        .value_or(-1);
  };
  ASSERT_EQ(temp_store(), 2);  // MEMORY
  ASSERT_TRUE(migrate(*conn));
  EXPECT_EQ(temp_store(), 2);
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
  EXPECT_EQ(adapt_ddl("SELECT group_concat(CAST(id AS TEXT), ',') FROM a", Engine::postgresql),
            "SELECT string_agg(CAST(id AS TEXT), ',') FROM a");
  EXPECT_EQ(adapt_ddl("SELECT group_concat(x, ',') FROM a", Engine::sqlite),
            "SELECT group_concat(x, ',') FROM a");
}

// 0017: checkouts written before it get their orders listed on their row, then the index by
// checkout goes.
TEST(Migrate, CheckoutsFromBeforeListTheirOrders) {
  auto conn = database_before("migrate_checkout_orders", 17);
  ASSERT_TRUE(conn->exec_script(
      "INSERT INTO ord_checkouts (id, buyer_id, token, intent_id, total, currency, "
      "created_at_us) VALUES (1, 5, 'tok-1', 9, 300, 'CNY', 0), (2, 5, 'tok-2', 9, 100, 'CNY', "
      "0);"));
  for (auto [order, checkout] : {std::pair{30, 1}, {10, 1}, {20, 2}})
    ASSERT_TRUE(insert_old_order(*conn, order, checkout, 100));
  auto report = migrate(*conn);
  ASSERT_TRUE(report) << report.error().detail;
  EXPECT_EQ(report->from_version, 16);
  std::vector<std::string> lists;
  ASSERT_TRUE(conn->query("SELECT order_ids FROM ord_checkouts ORDER BY id", {}, [&](const Row& r) {
    lists.push_back(r.str(0));
    return true;
  }));
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_TRUE(lists[0] == "10,30" || lists[0] == "30,10") << lists[0];
  EXPECT_EQ(lists[1], "20");
  std::int64_t indexes = -1;
  ASSERT_TRUE(conn->query("SELECT count(*) FROM sqlite_master WHERE name = 'ord_orders_checkout'",
                          {}, [&](const Row& r) {
                            indexes = r.i64(0);
                            return false;
                          }));
  EXPECT_EQ(indexes, 0);
}

// 0024: an order's lines move into its row (ord_orders.lines), in line order, their text kept
// as it was; the lines' table goes. 0023 set the implied intents' cutover above every id.
TEST(Migrate, OrderLinesMoveIntoTheirOrders) {
  auto conn = database_before("migrate_order_lines", 23);
  for (int order : {10, 20}) ASSERT_TRUE(insert_old_order(*conn, order, 1, 700));
  ASSERT_TRUE(conn->exec_script(
      "INSERT INTO ord_lines (order_id, line_no, sku_id, product_id, title, spec_text, category, "
      "unit_price, quantity, amount) VALUES (10, 2, 502, 602, '紫砂壶 \"宜兴\"', '{}', 'pots', "
      "100, 4, 400), (10, 1, 501, 601, '保温杯', '颜色: 白', 'cups', 300, 1, 300);"));
  auto report = migrate(*conn);
  ASSERT_TRUE(report) << report.error().detail;
  EXPECT_EQ(report->from_version, 22);
  std::vector<std::string> lines;
  ASSERT_TRUE(conn->query("SELECT lines FROM ord_orders ORDER BY id", {}, [&](const Row& r) {
    lines.push_back(r.str(0));
    return true;
  }));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "[[1,501,601,\"保温杯\",\"颜色: 白\",\"cups\",300,1,300],"
            "[2,502,602,\"紫砂壶 \\\"宜兴\\\"\",\"{}\",\"pots\",100,4,400]]");
  EXPECT_EQ(lines[1], "[]");
  std::int64_t tables = -1, implied_from = -1;
  ASSERT_TRUE(conn->query("SELECT count(*) FROM sqlite_master WHERE name = 'ord_lines'", {},
                          [&](const Row& r) {
                            tables = r.i64(0);
                            return false;
                          }));
  EXPECT_EQ(tables, 0);
  ASSERT_TRUE(conn->query("SELECT implied_from FROM ord_listed_intents", {}, [&](const Row& r) {
    implied_from = r.i64(0);
    return false;
  }));
  EXPECT_EQ(implied_from, 21);
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
