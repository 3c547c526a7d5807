#include "inventory/inventory.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::inventory {
namespace {

// The tests play the holder's part (flows does it for orders): a table of the units each
// unpaid "order" holds, and each stock call made once, on that order's own transition.
class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("inventory"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
    ASSERT_TRUE(db_->exec_script(
        "CREATE TABLE test_holds (order_id BIGINT NOT NULL, sku_id BIGINT NOT NULL, "
        "quantity BIGINT NOT NULL)"));
  }
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
  void stock(std::int64_t sku, std::int64_t units) {
    auto r =
        tx([&](store::Tx& t) { return set_on_hand(t, env_, sku, seller_, units, actor_, ""); });
    ASSERT_TRUE(r) << r.error().detail;
  }
  // An unpaid order takes the units and holds them.
  Result<std::vector<StockChange>> hold(std::int64_t order, std::vector<Want> wants) {
    return tx([&](store::Tx& t) -> Result<std::vector<StockChange>> {
      JISHI_ASSIGN_OR_RETURN(auto changes, reserve(t, env_, wants));
      for (const auto& w : wants)
        JISHI_TRY(
            t.exec("INSERT INTO test_holds VALUES ($1, $2, $3)", {order, w.sku_id, w.quantity}));
      held_[order] = wants;
      return changes;
    });
  }
  // The order leaves "unpaid": paid (convert) or closed (release).
  Result<std::vector<StockChange>> settle(std::int64_t order, bool paid) {
    auto wants = held_.at(order);
    return tx([&](store::Tx& t) -> Result<std::vector<StockChange>> {
      JISHI_TRY(t.exec("DELETE FROM test_holds WHERE order_id = $1", {order}));
      held_.erase(order);
      if (paid) sold_[order] = wants;
      return paid ? convert(t, env_, order, wants) : release(t, env_, wants);
    });
  }
  Result<std::vector<StockChange>> refund(std::int64_t order) {
    auto wants = sold_.at(order);
    sold_.erase(order);
    return tx([&](store::Tx& t) { return restock(t, env_, order, wants); });
  }
  Stock get(std::int64_t sku) { return get_stock(*db_, sku).value().value(); }
  Result<VerifyReport> check() { return verify(*db_, "SELECT sku_id, quantity FROM test_holds"); }
  void expect_verified() {
    auto v = check();
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->problems.empty()) << v->problems.front();
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  OrgId seller_{10};
  UserId actor_{1};
  std::unique_ptr<store::Conn> db_;
  std::map<std::int64_t, std::vector<Want>> held_, sold_;
};

TEST_F(InventoryTest, ReservationIsAllOrNothingAndSumsLinesOfOneSku) {
  stock(1, 5);
  stock(2, 5);
  auto r = hold(100, {{1, 3}, {2, 1}, {1, 3}});  // 6 of SKU 1 > 5
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::insufficient_stock);
  EXPECT_NE(r.error().detail.find("SKU 1"), std::string::npos);
  EXPECT_EQ(get(1).reserved, 0);
  EXPECT_EQ(get(2).reserved, 0);  // the SKU that had enough was not reserved either
  auto changes = hold(101, {{1, 2}, {1, 3}});
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_TRUE((*changes)[0].crossed_zero());
  EXPECT_EQ(get(1).available(), 0);
  expect_verified();
}

TEST_F(InventoryTest, PaymentConvertsCloseReleasesAndARefundRestocks) {
  stock(1, 10);
  ASSERT_TRUE(hold(200, {{1, 4}}));
  ASSERT_TRUE(hold(201, {{1, 4}}));
  EXPECT_EQ(get(1).available(), 2);
  ASSERT_TRUE(settle(200, true));
  ASSERT_TRUE(settle(201, false));
  EXPECT_EQ(get(1).on_hand, 6);
  EXPECT_EQ(get(1).reserved, 0);
  expect_verified();
  // A refund before shipment puts the sold units back.
  ASSERT_TRUE(refund(200));
  EXPECT_EQ(get(1).on_hand, 10);
  expect_verified();
}

TEST_F(InventoryTest, UnitsNotReservedCannotBeConvertedOrReleased) {
  stock(1, 10);
  ASSERT_TRUE(hold(250, {{1, 2}}));
  std::vector<Want> more{{1, 3}};
  auto c = tx([&](store::Tx& t) { return convert(t, env_, 250, more); });
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Code::insufficient_stock);
  auto r = tx([&](store::Tx& t) { return release(t, env_, more); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::insufficient_stock);
  EXPECT_EQ(get(1).on_hand, 10);
  EXPECT_EQ(get(1).reserved, 2);
  expect_verified();
}

TEST_F(InventoryTest, TheJournalRecordsOnHandChangesOnly) {
  stock(1, 10);
  ASSERT_TRUE(hold(500, {{1, 4}}));
  ASSERT_TRUE(hold(501, {{1, 4}}));
  ASSERT_TRUE(settle(501, false));
  ASSERT_TRUE(settle(500, true));
  auto page = movements(*db_, 1, 0, 10);
  ASSERT_TRUE(page);
  std::vector<std::string> kinds;
  for (const auto& m : page->items) kinds.push_back(m.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"convert", "adjust"}));
  EXPECT_EQ(page->items[0].delta_on_hand, -4);
  EXPECT_EQ(page->items[0].reference, "500");
  EXPECT_EQ(get(1).on_hand, 6);
  EXPECT_EQ(get(1).reserved, 0);
  expect_verified();
}

TEST_F(InventoryTest, VerifyFindsReservedUnitsThatNoHolderHolds) {
  stock(1, 10);
  ASSERT_TRUE(hold(600, {{1, 3}}));
  expect_verified();
  ASSERT_TRUE(db_->exec("UPDATE inv_stock SET reserved = 5 WHERE sku_id = 1"));
  auto v = check();
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("unpaid orders hold 3 units, the stock says 5 are reserved"),
            std::string::npos);
}

TEST_F(InventoryTest, CountBelowReservedUnitsIsRefused) {
  stock(1, 10);
  ASSERT_TRUE(hold(300, {{1, 7}}));
  auto r = tx([&](store::Tx& t) { return set_on_hand(t, env_, 1, seller_, 6, actor_, "count"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_state);
  auto other = tx([&](store::Tx& t) { return set_on_hand(t, env_, 1, OrgId{11}, 20, actor_, ""); });
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Code::forbidden);
  EXPECT_EQ(get(1).on_hand, 10);
}

TEST_F(InventoryTest, VerifyFindsATamperedCounter) {
  stock(1, 10);
  ASSERT_TRUE(db_->exec("UPDATE inv_stock SET on_hand = 11 WHERE sku_id = 1"));
  auto v = check();
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("journal sums to 10"), std::string::npos);
}

// Random holds, payments, closes, refunds and recounts; the invariants hold after every step
// and stock is never negative. The seed is printed so a failure can be replayed.
TEST_F(InventoryTest, RandomOperationsKeepTheJournalAndCountersEqual) {
  std::random_device rd;
  unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (std::int64_t sku = 1; sku <= 3; ++sku) stock(sku, 20);
  std::int64_t next_order = 1000;
  auto any_of = [&](const auto& m) {
    auto it = m.begin();
    std::advance(it, static_cast<long>(rng() % m.size()));
    return it->first;
  };
  for (int step = 0; step < 300; ++step) {
    int op = static_cast<int>(rng() % 5);
    if (op == 0) {
      std::vector<Want> w{
          {1 + static_cast<std::int64_t>(rng() % 3), 1 + static_cast<std::int64_t>(rng() % 6)}};
      (void)hold(next_order++, w);
    } else if (op == 4) {
      std::int64_t sku = 1 + static_cast<std::int64_t>(rng() % 3);
      std::int64_t target = static_cast<std::int64_t>(rng() % 30);
      (void)tx(
          [&](store::Tx& t) { return set_on_hand(t, env_, sku, seller_, target, actor_, ""); });
    } else if (op == 3) {
      if (!sold_.empty()) {
        ASSERT_TRUE(refund(any_of(sold_)));
      }
    } else if (!held_.empty()) {
      ASSERT_TRUE(settle(any_of(held_), op == 1));
    }
    for (std::int64_t sku = 1; sku <= 3; ++sku) {
      auto s = get(sku);
      ASSERT_GE(s.available(), 0);
      ASSERT_GE(s.reserved, 0);
    }
    expect_verified();
  }
}

}  // namespace
}  // namespace jishi::inventory
