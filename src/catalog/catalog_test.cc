#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>

#include "catalog/catalog.h"
#include "catalog/search.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::catalog {
namespace {

TEST(SearchTerms, CjkRunsBecomeUnigramsAndBigramsLatinBecomesLowerWords) {
  EXPECT_EQ(search_terms("华为手机 Mate60 Pro"), "华 华为 为 为手 手 手机 机 mate60 pro");
  EXPECT_EQ(search_terms("ＡＢＣ，鞋！"), "abc 鞋");
  EXPECT_EQ(search_terms("  "), "");
}

TEST(SearchTerms, QueriesQuoteEveryTermSoUserTextNeverIsSyntax) {
  EXPECT_EQ(match_expression("鞋").value(), "\"鞋\"");
  EXPECT_EQ(match_expression("手机壳").value(), "\"手机\" \"机壳\"");
  EXPECT_EQ(match_expression("iPhone 15").value(), "\"iphone\"* \"15\"*");
  EXPECT_EQ(match_expression("\"OR NEAR(x)* -").value(), "\"or\"* \"near\"* \"x\"*");
  EXPECT_FALSE(match_expression("*** ---"));
}

class CatalogTest : public ::testing::Test {
 protected:
  template <class F>
  auto tx(F f) {
    EXPECT_TRUE(db_->begin());
    auto r = f(*db_);
    if (r) {
      EXPECT_TRUE(db_->commit());
    } else {
      EXPECT_TRUE(db_->rollback());
    }
    return r;
  }
  template <class R>
  auto must(R r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return *r;
  }
  void SetUp() override {
    db_path_ = store::testing::fresh_db_path("catalog");
    db_ = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
    category_ = must(tx([&](store::Tx& t) {
                  return create_category(t, env_, NewCategory{{}, "shoes", "鞋靴", "Shoes", 0});
                })).id;
    auto sub = must(tx([&](store::Tx& t) {
      return create_category(t, env_, NewCategory{category_, "sneakers", "运动鞋", {}, 0});
    }));
    sneakers_ = sub.id;
    phones_ = must(tx([&](store::Tx& t) {
                return create_category(t, env_, NewCategory{{}, "digital", "数码", {}, 0});
              })).id;
  }
  Product listed(std::string title, CategoryId cat, std::int64_t price, OrgId seller = OrgId{10}) {
    ProductFields f{title, std::nullopt, std::nullopt, cat, {}};
    std::vector<NewSku> skus{NewSku{{{"颜色", "白色"}}, Money{price, cny_}, std::nullopt}};
    auto p = must(tx([&](store::Tx& t) { return create_product(t, env_, seller, f, skus); }));
    return must(tx([&](store::Tx& t) { return list_product(t, env_, p.id, UserId{1}); }));
  }
  std::vector<std::string> titles(SearchQuery q) {
    auto page = must(search(*db_, q));
    std::vector<std::string> out;
    for (const auto& h : page.items) out.push_back(h.title);
    return out;
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  Currency cny_;
  CategoryId category_, sneakers_, phones_;
  std::string db_path_;
  std::unique_ptr<store::Conn> db_;
};

TEST_F(CatalogTest, OneAndTwoCharacterChineseQueriesFindProducts) {
  listed("李宁 运动鞋 男款", sneakers_, 39900);
  listed("华为手机 Mate 60", phones_, 549900);
  listed("智能手表 运动版", phones_, 129900);
  EXPECT_EQ(titles({.q = "鞋"}), std::vector<std::string>{"李宁 运动鞋 男款"});
  EXPECT_EQ(titles({.q = "手机"}), std::vector<std::string>{"华为手机 Mate 60"});
  EXPECT_EQ(titles({.q = "mat"}), std::vector<std::string>{"华为手机 Mate 60"});
  EXPECT_EQ(titles({.q = "运动", .sort = Sort::price_asc}).size(), 2u);
  // Categories include their descendants; the category name is searchable too.
  EXPECT_EQ(titles({.categories = must(category_and_descendants(*db_, category_))}).size(), 1u);
  EXPECT_EQ(titles({.q = "鞋靴"}).size(), 1u);
}

TEST_F(CatalogTest, FiltersSortsAndPagesByCursor) {
  for (int i = 0; i < 7; ++i) listed("商品" + std::to_string(i), phones_, 1000 * (7 - i));
  SearchQuery q{.sort = Sort::price_asc, .limit = 3};
  auto p1 = must(search(*db_, q));
  ASSERT_EQ(p1.items.size(), 3u);
  EXPECT_EQ(p1.items[0].price_min, 1000);
  q.cursor = p1.next_cursor.value();
  auto p2 = must(search(*db_, q));
  EXPECT_EQ(p2.items[0].price_min, 4000);
  EXPECT_EQ(titles({.price_min = 2000, .price_max = 3000}).size(), 2u);
  EXPECT_TRUE(titles({.in_stock_only = true}).empty());
  q.cursor = "garbage";
  EXPECT_FALSE(search(*db_, q));
}

TEST_F(CatalogTest, TheIndexFollowsEditsDelistingAndTakedowns) {
  auto p = listed("帆布鞋", sneakers_, 5000);
  EXPECT_EQ(titles({.q = "帆布"}).size(), 1u);
  ProductFields f{"高帮帆布鞋", std::nullopt, std::nullopt, sneakers_, {}};
  must(tx([&](store::Tx& t) { return update_product(t, env_, p.id, f); }));
  EXPECT_EQ(titles({.q = "高帮"}).size(), 1u);
  must(tx([&](store::Tx& t) { return take_down(t, env_, p.id, UserId{2}, "regulator", "假冒"); }));
  EXPECT_TRUE(titles({.q = "帆布"}).empty());
  auto relist = tx([&](store::Tx& t) { return list_product(t, env_, p.id, UserId{1}); });
  EXPECT_FALSE(relist);
  must(tx([&](store::Tx& t) { return restore(t, env_, p.id, UserId{3}); }));
  must(tx([&](store::Tx& t) { return list_product(t, env_, p.id, UserId{1}); }));
  EXPECT_EQ(titles({.q = "帆布"}).size(), 1u);
  auto log = must(takedowns(*db_, 0, 10));
  ASSERT_EQ(log.items.size(), 2u);
  EXPECT_EQ(log.items[1].reason, "假冒");
}

TEST_F(CatalogTest, OffersTellCheckoutWhatIsSellableAtWhatPrice) {
  auto p = listed("凉鞋", sneakers_, 2500);
  SkuId sku = p.skus.front().id;
  std::vector<SkuId> ids{sku, SkuId{424242}};
  auto o = must(offers(*db_, ids));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_TRUE(o[0].sellable);
  EXPECT_EQ(o[0].price.minor, 2500);
  EXPECT_EQ(o[0].category_code, "sneakers");
  must(tx([&](store::Tx& t) { return delist_product(t, env_, p.id, UserId{1}); }));
  EXPECT_FALSE(must(offers(*db_, ids))[0].sellable);
  must(tx([&](store::Tx& t) -> Status { return set_in_stock(t, sku, true); }));
  EXPECT_TRUE(must(get_product(*db_, p.id)).in_stock);
}

TEST_F(CatalogTest, RenamingAParentCategoryReindexesProductsBelowIt) {
  listed("跑鞋", sneakers_, 29900);
  must(tx([&](store::Tx& t) {
    return update_category(t, env_, category_, std::string("鞋履"), std::nullopt, std::nullopt);
  }));
  EXPECT_EQ(titles({.q = "鞋履"}).size(), 1u);
  EXPECT_TRUE(titles({.q = "鞋靴"}).empty());
}

TEST_F(CatalogTest, DisablingTheLastActiveSkuDelistsTheProduct) {
  auto p = listed("拖鞋", sneakers_, 1500);
  SkuPatch off;
  off.status = "disabled";
  must(tx([&](store::Tx& t) { return update_sku(t, env_, p.skus.front().id, off); }));
  EXPECT_EQ(must(get_product(*db_, p.id)).status, "delisted");
  EXPECT_TRUE(titles({.q = "拖鞋"}).empty());
}

// The writer's offer cache (catalog.h): repeats come from memory, and no change, committed,
// rolled back or made by another connection, ever leaves a stale offer behind.
class OfferCacheTest : public CatalogTest {
 protected:
  void SetUp() override {
    CatalogTest::SetUp();
    ASSERT_TRUE(prepare_offer_cache(*db_));
    product_ = listed("凉鞋", sneakers_, 2500);
    sku_ = product_.skus.front().id;
  }
  SkuOffer offer_of(SkuId id) {
    std::vector<SkuId> ids{id};
    auto o = must(offers(*db_, ids));
    EXPECT_EQ(o.size(), 1u);
    return o.empty() ? SkuOffer{} : o.front();
  }
  SkuOffer offer() { return offer_of(sku_); }
  void set_price(std::int64_t minor) {
    SkuPatch p;
    p.price = Money{minor, cny_};
    ASSERT_TRUE(update_sku(*db_, env_, sku_, p));
  }
  // Another merchant's SKU, listed at 900.
  SkuId other_sku() { return listed("拖鞋", sneakers_, 900, OrgId{11}).skus.front().id; }
  // A transaction that changes the price, reads it (the cache holds it), then rolls back.
  void change_read_and_roll_back(std::int64_t minor) {
    ASSERT_TRUE(db_->begin());
    set_price(minor);
    EXPECT_EQ(offer().price.minor, minor);
    ASSERT_TRUE(db_->rollback());
  }
  // Inside a batch: a command's savepoint that changes the price, reads it, and is undone.
  void change_read_and_undo_command(std::int64_t minor) {
    ASSERT_TRUE(db_->exec("SAVEPOINT command"));
    set_price(minor);
    EXPECT_EQ(offer().price.minor, minor);
    ASSERT_TRUE(db_->exec("ROLLBACK TO command"));
    ASSERT_TRUE(db_->exec("RELEASE command"));
  }
  OfferCacheStats stats() { return offer_cache_stats(*db_).value(); }
  Product product_;
  SkuId sku_;
};

TEST_F(OfferCacheTest, RepeatsComeFromMemory) {
  EXPECT_EQ(offer().price.minor, 2500);
  EXPECT_EQ(offer().price.minor, 2500);
  EXPECT_EQ(offer().title, "凉鞋");
  EXPECT_EQ(stats().misses, 1u);
  EXPECT_EQ(stats().hits, 2u);
  EXPECT_EQ(stats().entries, 1u);
  // Columns no offer is made of (sales, stock flags) leave it alone.
  must(tx([&](store::Tx& t) -> Status { return add_sales(t, product_.id, 3); }));
  must(tx([&](store::Tx& t) -> Status { return set_in_stock(t, sku_, true); }));
  offer();
  EXPECT_EQ(stats().resets, 0u);
  EXPECT_EQ(stats().hits, 3u);
  // Another connection without the cache reads the same.
  EXPECT_FALSE(
      offer_cache_stats(*store::open_sqlite(db_path_, store::OpenMode::read_only).value()));
}

TEST_F(OfferCacheTest, EveryCommittedChangeToAnOfferIsSeen) {
  offer();
  ASSERT_TRUE(db_->begin());
  set_price(2600);
  ASSERT_TRUE(db_->commit());
  EXPECT_EQ(offer().price.minor, 2600);
  must(tx([&](store::Tx& t) { return delist_product(t, env_, product_.id, UserId{1}); }));
  EXPECT_FALSE(offer().sellable);
  must(tx([&](store::Tx& t) { return list_product(t, env_, product_.id, UserId{1}); }));
  EXPECT_TRUE(offer().sellable);
  // Whatever writes them: the columns themselves are watched, each read right after its change.
  struct Change {
    std::string sql;
    std::function<bool(const SkuOffer&)> seen;
  };
  const std::vector<Change> changes{
      {"UPDATE cat_skus SET price = 2650 WHERE product_id = $1",
       [](const SkuOffer& o) { return o.price.minor == 2650; }},
      {"UPDATE cat_skus SET currency = 'USD' WHERE product_id = $1",
       [](const SkuOffer& o) { return o.price.currency.code_view() == "USD"; }},
      {"UPDATE cat_skus SET spec_text = '颜色:黑色' WHERE product_id = $1",
       [](const SkuOffer& o) { return o.spec_text == "颜色:黑色"; }},
      {"UPDATE cat_skus SET status = 'disabled' WHERE product_id = $1",
       [](const SkuOffer& o) { return !o.sellable; }},
      {"UPDATE cat_skus SET status = 'active' WHERE product_id = $1",
       [](const SkuOffer& o) { return o.sellable; }},
      {"UPDATE cat_products SET title = '凉拖' WHERE id = $1",
       [](const SkuOffer& o) { return o.title == "凉拖"; }},
      {"UPDATE cat_products SET seller_id = 77 WHERE id = $1",
       [](const SkuOffer& o) { return o.seller.value == 77; }},
      {"UPDATE cat_products SET status = 'taken_down' WHERE id = $1",
       [](const SkuOffer& o) { return !o.sellable && o.product_status == "taken_down"; }},
      {"UPDATE cat_products SET status = 'listed' WHERE id = $1",
       [](const SkuOffer& o) { return o.sellable; }},
      {"UPDATE cat_products SET category_id = " + std::to_string(phones_.value) + " WHERE id = $1",
       [](const SkuOffer& o) { return o.category_code == "digital"; }},
      {"UPDATE cat_categories SET code = 'phones' WHERE id = (SELECT category_id FROM "
       "cat_products WHERE id = $1)",
       [](const SkuOffer& o) { return o.category_code == "phones"; }},
  };
  for (const auto& c : changes) {
    offer();  // cached before the change
    ASSERT_TRUE(db_->exec(c.sql, {product_.id.value})) << c.sql;
    EXPECT_TRUE(c.seen(offer())) << c.sql;
  }
  // A REPLACE deletes the old row without firing DELETE triggers; its insert is watched.
  offer();
  ASSERT_TRUE(db_->exec_script(
      "CREATE TEMP TABLE sku_copy AS SELECT * FROM cat_skus; UPDATE sku_copy SET price = 2700;"));
  ASSERT_TRUE(db_->exec("INSERT OR REPLACE INTO cat_skus SELECT * FROM temp.sku_copy"));
  EXPECT_EQ(offer().price.minor, 2700);
  ASSERT_TRUE(db_->exec("DELETE FROM cat_skus WHERE id = $1", {sku_.value}));
  std::vector<SkuId> ids{sku_};
  EXPECT_TRUE(must(offers(*db_, ids)).empty());
}

// Inside a transaction the check reads nothing while no offer table's watch has moved; another
// connection's commit is seen at the next transaction.
TEST_F(OfferCacheTest, AnotherConnectionsCommitIsSeenAtTheNextTransaction) {
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(offer().price.minor, 2500);
  EXPECT_EQ(offer().price.minor, 2500);
  ASSERT_TRUE(db_->commit());
  auto skipped = stats().unchanged;
  EXPECT_GE(skipped, 1u);
  auto other = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
  ASSERT_TRUE(other->exec("UPDATE cat_skus SET price = 2800 WHERE id = $1", {sku_.value}));
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(offer().price.minor, 2800);
  EXPECT_EQ(offer().price.minor, 2800);
  ASSERT_TRUE(db_->commit());
  EXPECT_GT(stats().unchanged, skipped);
}

// A read made after a write that a savepoint then undid, in a transaction that commits: the
// next transaction must not serve it from memory without looking (review of session 13).
TEST_F(OfferCacheTest, AReadUndoneByASavepointIsNotServedAfterTheCommit) {
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(offer().price.minor, 2500);
  change_read_and_undo_command(3100);
  ASSERT_TRUE(db_->commit());
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(offer().price.minor, 2500);
  EXPECT_EQ(offer().price.minor, 2500);
  ASSERT_TRUE(db_->commit());
  // And the checks go back to reading nothing once they have looked.
  auto skipped = stats().unchanged;
  ASSERT_TRUE(db_->begin());
  offer();
  offer();
  ASSERT_TRUE(db_->commit());
  EXPECT_GE(stats().unchanged, skipped + 1);
  // After a rollback too.
  ASSERT_TRUE(db_->begin());
  ASSERT_TRUE(db_->rollback());
  skipped = stats().unchanged;
  ASSERT_TRUE(db_->begin());
  offer();
  offer();
  offer();
  ASSERT_TRUE(db_->commit());
  EXPECT_GE(stats().unchanged, skipped + 2);
}

TEST_F(OfferCacheTest, RolledBackChangesAreNeverServed) {
  EXPECT_EQ(offer().price.minor, 2500);
  // A transaction that changed the price and read it, then rolled back.
  change_read_and_roll_back(3000);
  EXPECT_EQ(offer().price.minor, 2500);
  // A command's savepoint undone inside a batch that commits.
  ASSERT_TRUE(db_->begin());
  change_read_and_undo_command(3100);
  EXPECT_EQ(offer().price.minor, 2500);
  ASSERT_TRUE(db_->commit());
  // Rolled back with nothing read after it, then another change: the second change's token
  // differs from the first's (a counter would repeat it and serve 3200).
  ASSERT_TRUE(db_->begin());
  set_price(3200);
  EXPECT_EQ(offer().price.minor, 3200);
  ASSERT_TRUE(db_->rollback());
  ASSERT_TRUE(db_->begin());
  set_price(3300);
  EXPECT_EQ(offer().price.minor, 3300);
  ASSERT_TRUE(db_->commit());
  EXPECT_EQ(offer().price.minor, 3300);
}

TEST_F(OfferCacheTest, AMerchantsEditLeavesEveryoneElsesOffersCached) {
  SkuId other = other_sku();
  offer();
  offer_of(other);
  ASSERT_EQ(stats().misses, 2u);
  // A price: that SKU alone.
  set_price(2600);
  EXPECT_EQ(offer_of(other).price.minor, 900);
  EXPECT_EQ(stats().hits, 1u);
  EXPECT_EQ(offer().price.minor, 2600);
  EXPECT_EQ(stats().misses, 3u);
  // A product's title: that product's SKUs alone.
  ASSERT_TRUE(
      db_->exec("UPDATE cat_products SET title = '凉拖' WHERE id = $1", {product_.id.value}));
  EXPECT_EQ(offer_of(other).price.minor, 900);
  EXPECT_EQ(stats().hits, 2u);
  EXPECT_EQ(offer().title, "凉拖");
  // A new product (a listing elsewhere): nothing cached goes.
  listed("雨靴", sneakers_, 1900, OrgId{12});
  offer_of(other);
  offer();
  EXPECT_EQ(stats().hits, 4u);
  EXPECT_EQ(stats().resets, 0u);
  EXPECT_EQ(stats().evictions, 2u);
  // A category's code: everything goes.
  ASSERT_TRUE(db_->exec("UPDATE cat_categories SET code = 'sports-shoes' WHERE id = $1",
                        {sneakers_.value}));
  EXPECT_EQ(offer_of(other).category_code, "sports-shoes");
  EXPECT_EQ(stats().resets, 1u);
}

TEST_F(OfferCacheTest, AReadOfARolledBackChangeIsNeverServedAfterOtherChanges) {
  SkuId other = other_sku();
  auto price_other = [&](std::int64_t minor) {
    ASSERT_TRUE(db_->exec("UPDATE cat_skus SET price = $2 WHERE id = $1", {other.value, minor}));
  };
  EXPECT_EQ(offer().price.minor, 2500);
  // Changed and read (cached at 3000), then rolled back; then another SKU changes twice, which
  // the log records where the rolled-back change was and after it.
  change_read_and_roll_back(3000);
  price_other(950);
  price_other(951);
  EXPECT_EQ(offer().price.minor, 2500);
  // The same inside a batch: a command's savepoint undone, the batch goes on and commits.
  ASSERT_TRUE(db_->begin());
  change_read_and_undo_command(3100);
  price_other(960);
  price_other(961);
  EXPECT_EQ(offer().price.minor, 2500);
  ASSERT_TRUE(db_->commit());
  EXPECT_EQ(offer().price.minor, 2500);
}

TEST_F(OfferCacheTest, AReplaceThatDeletesAnotherSkuOfTheProductIsSeen) {
  offer();
  // A new SKU id with the cached SKU's product and spec: the REPLACE deletes the cached one
  // (UNIQUE (product_id, spec)) without a DELETE trigger.
  ASSERT_TRUE(db_->exec_script(
      "CREATE TEMP TABLE sku_copy AS SELECT * FROM cat_skus; UPDATE sku_copy SET id = id + 1;"));
  ASSERT_TRUE(db_->exec("INSERT OR REPLACE INTO cat_skus SELECT * FROM temp.sku_copy"));
  std::vector<SkuId> ids{sku_};
  EXPECT_TRUE(must(offers(*db_, ids)).empty());
}

TEST_F(OfferCacheTest, AnUpdateOrReplaceThatDeletesAnotherSkuIsSeen) {
  // Moved onto the cached SKU's product (every SKU here has the same spec): UNIQUE (product_id,
  // spec) makes the REPLACE delete the cached SKU, with no DELETE trigger.
  SkuId other = other_sku();
  EXPECT_EQ(offer().price.minor, 2500);
  ASSERT_TRUE(db_->exec("UPDATE OR REPLACE cat_skus SET product_id = $1 WHERE id = $2",
                        {product_.id.value, other.value}));
  std::vector<SkuId> ids{sku_};
  EXPECT_TRUE(must(offers(*db_, ids)).empty()) << "served a deleted SKU";
  // The same through a sibling's spec, with spec_text or alone.
  for (std::string also : {", spec_text = 'y'", ""}) {
    Product p = listed("凉鞋 " + also, sneakers_, 2500);
    SkuId a = p.skus.front().id;
    ASSERT_TRUE(db_->exec(
        "INSERT INTO cat_skus (id, product_id, spec, spec_text, price, currency, status, "
        "created_at_us, updated_at_us) SELECT id + 1, product_id, '{}', 'x', 700, currency, "
        "'active', 0, 0 FROM cat_skus WHERE id = $1",
        {a.value}));
    std::vector<SkuId> one{a};
    ASSERT_EQ(must(offers(*db_, one)).size(), 1u);
    ASSERT_TRUE(
        db_->exec("UPDATE OR REPLACE cat_skus SET spec = (SELECT spec FROM cat_skus "
                  "WHERE id = $1)" +
                      also + " WHERE id = $1 + 1",
                  {a.value}));
    EXPECT_TRUE(must(offers(*db_, one)).empty()) << "served a deleted SKU" << also;
  }
}

// Random writes to every table an offer is made of (REPLACEs on keys and unique columns, id
// changes, moves, deletions), savepoints, rollbacks and commits, with reads between: every
// offer read equals the join at that moment. (From a review of the keyed cache, which found
// the UPDATE OR REPLACE case above this way.)
TEST_F(OfferCacheTest, EveryReadEqualsTheJoinUnderRandomWritesAndRollbacks) {
  std::vector<std::int64_t> prods{product_.id.value};
  for (int i = 0; i < 5; ++i)
    prods.push_back(listed("p" + std::to_string(i), sneakers_, 100 + i).id.value);
  const std::int64_t base = sku_.value;
  std::mt19937_64 rng(12345);
  auto pick = [&](std::int64_t n) { return static_cast<std::int64_t>(rng() % n); };
  auto sku_id = [&] { return base + pick(20) - 3; };
  auto prod_id = [&] { return prods[static_cast<std::size_t>(pick(6))]; };
  auto joined = [&](std::int64_t id) {
    std::optional<std::pair<std::int64_t, std::string>> out;
    EXPECT_TRUE(
        db_->query("SELECT s.price, p.title || '|' || s.product_id || '|' || p.seller_id || '|' || "
                   "s.spec_text || '|' || c.code FROM cat_skus s JOIN cat_products p ON p.id = "
                   "s.product_id JOIN cat_categories c ON c.id = p.category_id WHERE s.id = $1",
                   {id}, [&](const store::Row& r) {
                     out = std::pair{r.i64(0), r.str(1)};
                     return false;
                   }));
    return out;
  };
  auto n = [](std::int64_t v) { return std::to_string(v); };
  bool in_tx = false;
  int savepoints = 0;
  for (int step = 0; step < 20'000; ++step) {
    std::int64_t op = pick(20), a = sku_id(), pr = prod_id();
    std::string spec = "'{\"k\":" + n(pick(3)) + "}'";
    std::string sql;
    switch (op) {
      case 0:
        sql = "UPDATE cat_skus SET price = " + n(pick(10000)) + " WHERE id = " + n(a);
        break;
      case 1:
        sql =
            "INSERT OR REPLACE INTO cat_skus (id, product_id, spec, spec_text, price, currency, "
            "status, created_at_us, updated_at_us) VALUES (" +
            n(a) + ", " + n(pr) + ", " + spec + ", 't" + n(pick(5)) + "', " + n(pick(10000)) +
            ", 'CNY', 'active', 0, 0)";
        break;
      case 2:
        sql = "UPDATE OR REPLACE cat_skus SET product_id = " + n(pr) + " WHERE id = " + n(a);
        break;
      case 3:
        sql = "UPDATE OR REPLACE cat_skus SET id = " + n(sku_id()) + " WHERE id = " + n(a);
        break;
      case 4:
        sql = "DELETE FROM cat_skus WHERE id = " + n(a);
        break;
      case 5:
        sql = "UPDATE cat_products SET title = 't" + n(pick(100)) + "' WHERE id = " + n(pr);
        break;
      case 6:
        sql = std::string("UPDATE cat_products SET status = '") +
              (pick(2) ? "listed" : "delisted") + "' WHERE id = " + n(pr);
        break;
      case 7:
        sql = "INSERT OR REPLACE INTO cat_products SELECT " + n(pr) +
              ", seller_id + 1, category_id, title || 'r', subtitle, brand, description, status, "
              "takedown_reason, currency, price_min, price_max, sales, rating_sum, rating_count, "
              "in_stock, created_at_us, updated_at_us, listed_at_us FROM cat_products WHERE id = " +
              n(prod_id());
        break;
      case 8:
        sql = "UPDATE cat_skus SET spec_text = 'u" + n(pick(50)) + "' WHERE product_id = " + n(pr);
        break;
      case 9:
        sql = "UPDATE OR REPLACE cat_skus SET spec = " + spec + " WHERE id = " + n(a);
        break;
      case 10:
        sql = "UPDATE cat_products SET category_id = " +
              n(pick(2) ? sneakers_.value : phones_.value) + " WHERE id = " + n(pr);
        break;
      default:
        break;
    }
    if (!sql.empty()) {
      (void)db_->exec(sql);  // a refused write (a constraint) changes nothing
    } else if (op == 11 || op == 12) {
      if (!in_tx) {
        ASSERT_TRUE(db_->begin());
        in_tx = true;
      } else {
        ASSERT_TRUE(db_->exec("SAVEPOINT s" + n(savepoints++)));
      }
    } else if (op == 13) {
      if (savepoints > 0) {
        ASSERT_TRUE(db_->exec("ROLLBACK TO s" + n(savepoints - 1)));
        if (pick(2)) {
          ASSERT_TRUE(db_->exec("RELEASE s" + n(--savepoints)));
        }
      } else if (in_tx) {
        ASSERT_TRUE(db_->rollback());
        in_tx = false;
      }
    } else if (op == 14) {
      if (savepoints > 0) {
        ASSERT_TRUE(db_->exec("RELEASE s" + n(--savepoints)));
      } else if (in_tx) {
        ASSERT_TRUE(db_->commit());
        in_tx = false;
      }
    } else {
      std::vector<SkuId> ids;
      for (int k = 0; k < 3; ++k) ids.push_back(SkuId{sku_id()});
      auto got = must(offers(*db_, ids));
      std::size_t j = 0;
      for (auto id : ids) {
        auto expected = joined(id.value);
        if (!expected) continue;
        ASSERT_LT(j, got.size()) << "step " << step << ": SKU " << id.value << " not served";
        ASSERT_EQ(got[j].sku.value, id.value) << "step " << step;
        ASSERT_EQ(got[j].price.minor, expected->first) << "step " << step;
        ASSERT_EQ(got[j].title + "|" + n(got[j].product.value) + "|" + n(got[j].seller.value) +
                      "|" + got[j].spec_text + "|" + got[j].category_code,
                  expected->second)
            << "step " << step;
        ++j;
      }
      ASSERT_EQ(j, got.size()) << "step " << step << ": served a SKU that does not exist";
    }
  }
  if (in_tx) {
    ASSERT_TRUE(db_->commit());
  }
  // The run went through every path: hits, single evictions and whole resets.
  EXPECT_GT(stats().hits, 1'000u);
  EXPECT_GT(stats().evictions, 100u);
  EXPECT_GT(stats().resets, 10u);
}

TEST_F(OfferCacheTest, TheChangeLogStaysShort) {
  for (int i = 0; i < 2'500; ++i) {
    set_price(2500 + i);
    ASSERT_EQ(offer().price.minor, 2500 + i);
  }
  auto rows = must(db_->query_one("SELECT COUNT(*) FROM temp.cat_offer_changes", {},
                                  [](const store::Row& r) { return r.i64(0); }));
  EXPECT_LE(rows.value_or(0), 2'100);  // two rows per update of a SKU; the triggers keep 1,000
  EXPECT_EQ(stats().resets, 0u);
  // Catalog writes with no checkout between (a bulk import): the triggers keep the last rows,
  // and the cache, whose last change applied went with the rest, empties.
  for (int i = 0; i < 6'000; ++i) set_price(9'000 + i);
  rows = must(db_->query_one("SELECT COUNT(*) FROM temp.cat_offer_changes", {},
                             [](const store::Row& r) { return r.i64(0); }));
  EXPECT_LE(rows.value_or(0), 10'000);
  EXPECT_EQ(offer().price.minor, 14'999);
  EXPECT_EQ(stats().resets, 1u);
}

TEST_F(OfferCacheTest, AnotherConnectionsCommitEmptiesIt) {
  EXPECT_EQ(offer().price.minor, 2500);
  auto other = store::open_sqlite(db_path_, store::OpenMode::read_write).value();
  ASSERT_TRUE(other->exec("UPDATE cat_skus SET price = 2700 WHERE id = $1", {sku_.value}));
  EXPECT_EQ(offer().price.minor, 2700);
  EXPECT_EQ(stats().resets, 1u);
}

// A writer that starts (again) has the offers of listed products' active SKUs in memory at
// once: its first checkouts read no offer, and what it loaded follows changes as any entry.
TEST_F(OfferCacheTest, AStartingWriterHasTheListedOffersLoaded) {
  SkuId other = other_sku();
  ProductFields draft{"草稿鞋", std::nullopt, std::nullopt, sneakers_, {}};
  std::vector<NewSku> draft_skus{NewSku{{{"颜色", "黑色"}}, Money{100, cny_}, std::nullopt}};
  Product unlisted =
      must(tx([&](store::Tx& t) { return create_product(t, env_, OrgId{10}, draft, draft_skus); }));
  auto restarted = store::open_sqlite(db_path_, store::OpenMode::read_write).value();
  ASSERT_TRUE(prepare_offer_cache(*restarted));
  auto loaded = offer_cache_stats(*restarted).value();
  EXPECT_EQ(loaded.loaded, 2u);  // the two listed ones, not the draft
  std::vector<SkuId> ids{sku_, other, unlisted.skus.front().id};
  auto got = must(offers(*restarted, ids));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].price.minor, 2500);
  EXPECT_EQ(got[0].title, "凉鞋");
  EXPECT_EQ(got[1].price.minor, 900);
  EXPECT_FALSE(got[2].sellable);
  auto after = offer_cache_stats(*restarted).value();
  EXPECT_EQ(after.hits, 2u);
  EXPECT_EQ(after.misses, 1u);
  // A change through the writer's connection replaces the loaded entry.
  ASSERT_TRUE(restarted->begin());
  SkuPatch p;
  p.price = Money{2600, cny_};
  ASSERT_TRUE(update_sku(*restarted, env_, sku_, p));
  ASSERT_TRUE(restarted->commit());
  std::vector<SkuId> one{sku_};
  EXPECT_EQ(must(offers(*restarted, one)).front().price.minor, 2600);
}

}  // namespace
}  // namespace jishi::catalog
