#include "inventory/inventory.h"

#include <gtest/gtest.h>

#include <random>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::inventory {
namespace {

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("inventory"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
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
  Stock get(std::int64_t sku) { return get_stock(*db_, sku).value().value(); }
  void expect_verified() {
    auto v = verify(*db_);
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
};

TEST_F(InventoryTest, ReservationIsAllOrNothingAndSumsLinesOfOneSku) {
  stock(1, 5);
  stock(2, 5);
  std::vector<Want> wants{{1, 3}, {2, 1}, {1, 3}};  // 6 of SKU 1 > 5
  auto r = tx([&](store::Tx& t) { return reserve(t, env_, 100, wants, 0); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::insufficient_stock);
  EXPECT_NE(r.error().detail.find("SKU 1"), std::string::npos);
  EXPECT_EQ(get(1).reserved, 0);
  EXPECT_EQ(get(2).reserved, 0);  // the SKU that had enough was not reserved either
  std::vector<Want> ok{{1, 2}, {1, 3}};
  auto changes = tx([&](store::Tx& t) { return reserve(t, env_, 101, ok, 0); });
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_TRUE((*changes)[0].crossed_zero());
  EXPECT_EQ(get(1).available(), 0);
  expect_verified();
}

TEST_F(InventoryTest, PaymentConvertsAndCloseReleasesEachOnce) {
  stock(1, 10);
  std::vector<Want> w{{1, 4}};
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 200, w, 0); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 201, w, 0); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return convert(t, env_, 200); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return release(t, env_, 201); }));
  // Twice: nothing more moves.
  auto again = tx([&](store::Tx& t) { return convert(t, env_, 200); });
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  ASSERT_TRUE(tx([&](store::Tx& t) { return release(t, env_, 201); }));
  EXPECT_EQ(get(1).on_hand, 6);
  EXPECT_EQ(get(1).reserved, 0);
  // A refund before shipment puts the sold units back, once.
  ASSERT_TRUE(tx([&](store::Tx& t) { return restock(t, env_, 200); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return restock(t, env_, 200); }));
  EXPECT_EQ(get(1).on_hand, 10);
  expect_verified();
}

TEST_F(InventoryTest, TheJournalRecordsOnHandChangesAndReservationsHoldTheReservedUnits) {
  stock(1, 10);
  std::vector<Want> w{{1, 4}};
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 500, w, 0); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 501, w, 0); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return release(t, env_, 501); }));
  ASSERT_TRUE(tx([&](store::Tx& t) { return convert(t, env_, 500); }));
  auto page = movements(*db_, 1, 0, 10);
  ASSERT_TRUE(page);
  std::vector<std::string> kinds;
  for (const auto& m : page->items) kinds.push_back(m.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"convert", "adjust"}));
  EXPECT_EQ(page->items[0].delta_on_hand, -4);
  EXPECT_EQ(get(1).on_hand, 6);
  EXPECT_EQ(get(1).reserved, 0);
  expect_verified();
}

TEST_F(InventoryTest, VerifyFindsReservedUnitsThatNoReservationHolds) {
  stock(1, 10);
  std::vector<Want> w{{1, 3}};
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 600, w, 0); }));
  expect_verified();
  ASSERT_TRUE(db_->exec("UPDATE inv_stock SET reserved = 5 WHERE sku_id = 1"));
  auto v = verify(*db_);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("active reservations hold 3, the stock says 5"), std::string::npos);
}

TEST_F(InventoryTest, CountBelowReservedUnitsIsRefused) {
  stock(1, 10);
  std::vector<Want> w{{1, 7}};
  ASSERT_TRUE(tx([&](store::Tx& t) { return reserve(t, env_, 300, w, 0); }));
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
  auto v = verify(*db_);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("journal sums to 10"), std::string::npos);
}

// Random reserve / convert / release / restock / recount; the invariants hold after every step
// and stock is never negative. The seed is printed so a failure can be replayed.
TEST_F(InventoryTest, RandomOperationsKeepTheJournalAndCountersEqual) {
  std::random_device rd;
  unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (std::int64_t sku = 1; sku <= 3; ++sku) stock(sku, 20);
  std::int64_t next_order = 1000;
  std::vector<std::int64_t> orders;
  for (int step = 0; step < 300; ++step) {
    int op = static_cast<int>(rng() % 5);
    if (op == 0 || orders.empty()) {
      std::vector<Want> w{
          {1 + static_cast<std::int64_t>(rng() % 3), 1 + static_cast<std::int64_t>(rng() % 6)}};
      auto id = next_order++;
      if (tx([&](store::Tx& t) { return reserve(t, env_, id, w, 0); })) orders.push_back(id);
    } else if (op == 4) {
      std::int64_t sku = 1 + static_cast<std::int64_t>(rng() % 3);
      std::int64_t target = static_cast<std::int64_t>(rng() % 30);
      (void)tx(
          [&](store::Tx& t) { return set_on_hand(t, env_, sku, seller_, target, actor_, ""); });
    } else {
      auto id = orders[rng() % orders.size()];
      (void)tx([&](store::Tx& t) {
        return op == 1   ? convert(t, env_, id)
               : op == 2 ? release(t, env_, id)
                         : restock(t, env_, id);
      });
    }
    for (std::int64_t sku = 1; sku <= 3; ++sku) {
      auto s = get(sku);
      ASSERT_GE(s.available(), 0);
      ASSERT_GE(s.reserved, 0);
    }
  }
  expect_verified();
}

}  // namespace
}  // namespace jishi::inventory
