#include "inventory/inventory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"
#include "store/writer.h"

namespace jishi::inventory {
namespace {

constexpr const char* kHolds = "SELECT sku_id, quantity FROM test_holds";

// The tests play the holder's part (flows does it for orders): a table of the units each
// unpaid "order" holds, and each stock call made once, on that order's own transition. Every
// test runs twice: on a plain connection, and on one that defers reservations as the server's
// writer does (the parameter), folding them after every third transaction.
class InventoryTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    path_ = store::testing::fresh_db_path("inventory");
    db_ = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
    ASSERT_TRUE(store::migrate(*db_));
    ASSERT_TRUE(db_->exec_script(
        "CREATE TABLE test_holds (order_id BIGINT NOT NULL, sku_id BIGINT NOT NULL, "
        "quantity BIGINT NOT NULL)"));
    if (deferring()) {
      ASSERT_TRUE(deferral_.prepare(*db_));
    }
    reader_ = std::move(store::open_sqlite(path_, store::OpenMode::read_only).value());
  }
  bool deferring() const { return GetParam(); }
  // A transaction as the writer runs one, the deferred units following it (WriterHook).
  template <class F>
  auto tx(F f) {
    EXPECT_TRUE(db_->begin());
    std::size_t mark = deferral_.mark();
    auto r = f(*db_);
    if (r) {
      if (deferring() && auto_fold_ && ++transactions_ % 3 == 0) {
        EXPECT_TRUE(deferral_.run(*db_));
      }
      EXPECT_TRUE(db_->commit());
      deferral_.committed();
    } else {
      EXPECT_TRUE(db_->rollback());
      deferral_.undo_to(mark);
    }
    return r;
  }
  // Folds the deferred units into inv_stock now (as the writer's hook does).
  void fold() {
    if (!deferring()) return;
    ASSERT_TRUE(db_->begin());
    ASSERT_TRUE(deferral_.run(*db_));
    ASSERT_TRUE(db_->commit());
    deferral_.committed();
  }
  std::int64_t deferred(std::int64_t sku) { return deferral_.deferred_units(sku); }
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
  // The stock as the writer sees it: the row plus the units it defers.
  Stock get(std::int64_t sku) {
    auto s = get_stock(*db_, sku).value().value();
    s.reserved += deferred(sku);
    return s;
  }
  Result<VerifyReport> check() { return verify(*db_, kHolds); }
  // Verified on the writer's connection (exact) and from a reader's (deferred units allowed).
  void expect_verified() {
    auto v = check();
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->problems.empty()) << v->problems.front();
    EXPECT_EQ(v->deferred_units, 0);  // the writer's own view counts them as reserved
    auto outside = verify(*reader_, kHolds);
    ASSERT_TRUE(outside);
    EXPECT_TRUE(outside->problems.empty()) << outside->problems.front();
    std::int64_t deferred_units = 0;
    for (std::int64_t sku = 1; sku <= 3; ++sku) deferred_units += deferred(sku);
    EXPECT_EQ(outside->deferred_units, deferred_units);
    expect_row_copies_exact();
  }
  // Every stock row the writer keeps a copy of has exactly that availability.
  void expect_row_copies_exact() {
    for (std::int64_t sku = 1; sku <= 3; ++sku) {
      auto copy = deferral_.row_copy(*db_, sku);
      if (!copy) continue;
      auto row = get_stock(*db_, sku).value();
      ASSERT_TRUE(row) << "a copy of SKU " << sku << ", which has no row";
      EXPECT_EQ(*copy, row->available()) << "SKU " << sku;
    }
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  OrgId seller_{10};
  UserId actor_{1};
  std::string path_;
  std::unique_ptr<store::Conn> db_, reader_;
  // A sweep per hour: a slice under load is then always one row (the slicing test counts).
  ReservationDeferral deferral_{kHolds, clock_, 3'600'000'000};
  int transactions_ = 0;
  bool auto_fold_ = true;
  std::map<std::int64_t, std::vector<Want>> held_, sold_;
};

INSTANTIATE_TEST_SUITE_P(Modes, InventoryTest, ::testing::Values(false, true),
                         [](const auto& mode) { return mode.param ? "Deferred" : "Direct"; });

TEST_P(InventoryTest, ReservationIsAllOrNothingAndSumsLinesOfOneSku) {
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

TEST_P(InventoryTest, PaymentConvertsCloseReleasesAndARefundRestocks) {
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

TEST_P(InventoryTest, UnitsNotReservedCannotBeConvertedOrReleased) {
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

TEST_P(InventoryTest, TheJournalRecordsOnHandChangesOnly) {
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

TEST_P(InventoryTest, VerifyFindsReservedUnitsThatNoHolderHolds) {
  stock(1, 10);
  ASSERT_TRUE(hold(600, {{1, 3}}));
  expect_verified();
  fold();
  ASSERT_TRUE(db_->exec("UPDATE inv_stock SET reserved = 5 WHERE sku_id = 1"));
  auto v = check();
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("unpaid orders hold 3 units, the stock says 5 are reserved"),
            std::string::npos);
}

TEST_P(InventoryTest, CountBelowReservedUnitsIsRefused) {
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

TEST_P(InventoryTest, VerifyFindsATamperedCounter) {
  stock(1, 10);
  ASSERT_TRUE(db_->exec("UPDATE inv_stock SET on_hand = 11 WHERE sku_id = 1"));
  auto v = check();
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("journal sums to 10"), std::string::npos);
}

// Random holds, payments, closes, refunds and recounts; the invariants hold after every step
// and stock is never negative. The seed is printed so a failure can be replayed.
TEST_P(InventoryTest, RandomOperationsKeepTheJournalAndCountersEqual) {
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

// The tests of deferral itself, on the writer's kind of connection only.
class DeferredTest : public InventoryTest {};
INSTANTIATE_TEST_SUITE_P(Writer, DeferredTest, ::testing::Values(true));

// A reservation refused for want of stock, or not taken because another line of the checkout
// is short, leaves no SKU behind in the writer's memory (looking costs no entry).
TEST_P(DeferredTest, ARefusedReservationLeavesNoDeferredSku) {
  auto_fold_ = false;
  stock(1, 2);
  stock(2, 5);
  EXPECT_FALSE(hold(1, {{1, 3}}));          // short
  EXPECT_FALSE(hold(2, {{1, 3}, {2, 1}}));  // SKU 1 short, so SKU 2 is only looked at
  EXPECT_FALSE(hold(3, {{2, 1}, {1, 3}}));  // SKU 2 taken, then undone with the command
  EXPECT_EQ(deferral_.deferred_skus(), 0u);
  ASSERT_TRUE(hold(4, {{2, 1}}));
  EXPECT_EQ(deferral_.deferred_skus(), 1u);
  EXPECT_EQ(deferred(2), 1);
  expect_verified();
}

// A reservation waits in the writer's memory, unseen by readers until a fold, yet the
// writer counts it, so nothing oversells meanwhile.
TEST_P(DeferredTest, UnitsCountForTheWriterBeforeReadersSeeThem) {
  auto_fold_ = false;
  stock(1, 10);
  ASSERT_TRUE(hold(1, {{1, 3}}));
  EXPECT_EQ(get_stock(*reader_, 1).value()->reserved, 0);
  EXPECT_EQ(get(1).available(), 7);
  auto over = hold(2, {{1, 8}});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Code::insufficient_stock);
  auto outside = verify(*reader_, kHolds);
  ASSERT_TRUE(outside);
  EXPECT_TRUE(outside->problems.empty());
  EXPECT_EQ(outside->deferred_units, 3);
  EXPECT_EQ(outside->deferred_skus, 1);
  // Told that no server runs, the same state is a problem: nothing could be deferred then.
  auto strict = verify(*reader_, kHolds, /*no_writer=*/true);
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->problems.size(), 1u);
  fold();
  EXPECT_EQ(get_stock(*reader_, 1).value()->reserved, 3);
  EXPECT_EQ(deferred(1), 0);
  expect_verified();
}

// Under load the writer folds a slice of the SKUs per batch, in key order, wrapping around;
// every slice leaves the books exact, and a sweep folds everything.
TEST_P(DeferredTest, UnderLoadSlicesFoldTheTableInKeyOrder) {
  auto_fold_ = false;
  for (std::int64_t sku = 1; sku <= 3; ++sku) stock(sku, 10);
  ASSERT_TRUE(hold(1, {{1, 2}, {2, 3}, {3, 4}}));
  std::vector<std::int64_t> folded_reserved;
  for (int batch = 0; batch < 6 && deferred(1) + deferred(2) + deferred(3) > 0; ++batch) {
    // A busy batch: 20 commands, more waiting. Microseconds since the last fold make a slice
    // of one row.
    ASSERT_TRUE(deferral_.due(*db_, 20, false, false));
    ASSERT_TRUE(db_->begin());
    ASSERT_TRUE(deferral_.run(*db_));
    ASSERT_TRUE(db_->commit());
    deferral_.committed();
    std::int64_t in_rows = 0;
    for (std::int64_t sku = 1; sku <= 3; ++sku)
      in_rows += get_stock(*reader_, sku).value()->reserved;
    folded_reserved.push_back(in_rows);
    expect_verified();
  }
  EXPECT_EQ(folded_reserved, (std::vector<std::int64_t>{2, 5, 9}));  // SKU 1, then 2, then 3
  EXPECT_EQ(deferred(1) + deferred(2) + deferred(3), 0);
  // The sweep wraps: a unit deferred behind it is folded on its next pass.
  ASSERT_TRUE(hold(2, {{1, 1}}));
  for (int batch = 0; batch < 2; ++batch) {
    ASSERT_TRUE(deferral_.due(*db_, 20, false, false));
    ASSERT_TRUE(db_->begin());
    ASSERT_TRUE(deferral_.run(*db_));
    ASSERT_TRUE(db_->commit());
  }
  EXPECT_EQ(get_stock(*reader_, 1).value()->reserved, 3);
  expect_verified();
}

TEST_P(InventoryTest, ARolledBackReservationLeavesNothingDeferred) {
  auto_fold_ = false;
  stock(1, 10);
  auto r = tx([&](store::Tx& t) -> Result<int> {
    std::vector<Want> w{{1, 3}};
    JISHI_TRY(reserve(t, env_, w));
    return fail(Code::conflict, "the order could not be written");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(deferred(1), 0);
  EXPECT_EQ(get(1).available(), 10);
  expect_verified();
}

// The writer keeps a copy of each stock row's availability (loaded at the start, then kept by
// every change it makes), so a reservation reads no row; a copy made or changed inside a
// transaction that rolls back goes with it.
TEST_P(DeferredTest, ReservationsUseTheWritersCopyOfTheRowAndItFollowsRollbacks) {
  auto_fold_ = false;
  stock(1, 10);
  stock(2, 10);
  fold();
  db_ = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
  ReservationDeferral restarted(kHolds, clock_);
  ASSERT_TRUE(restarted.prepare(*db_));
  EXPECT_EQ(restarted.row_copies().entries, 2u);  // loaded at the start
  EXPECT_EQ(restarted.row_copy(*db_, 1), 10);
  ASSERT_TRUE(db_->begin());
  std::size_t mark = restarted.mark();
  std::vector<Want> w{{1, 4}};
  ASSERT_TRUE(reserve(*db_, env_, w));
  EXPECT_EQ(restarted.row_copies().hits, 1u);
  EXPECT_EQ(restarted.row_copies().misses, 0u);
  // Inside the same transaction: a count (its row written), then a new SKU's first stock.
  ASSERT_TRUE(set_on_hand(*db_, env_, 1, seller_, 7, actor_, ""));
  EXPECT_EQ(restarted.row_copy(*db_, 1), 3);  // 7 on hand, the 4 deferred units now in the row
  ASSERT_TRUE(set_on_hand(*db_, env_, 3, seller_, 5, actor_, ""));
  EXPECT_EQ(restarted.row_copy(*db_, 3), 5);
  // All of it rolls back: the copies are the rows again.
  ASSERT_TRUE(db_->rollback());
  restarted.undo_to(mark);
  EXPECT_EQ(restarted.row_copy(*db_, 1), 10);
  EXPECT_EQ(restarted.row_copy(*db_, 3), std::nullopt);
  EXPECT_EQ(restarted.deferred_units(1), 0);
  // A row read inside a transaction that rolls back is not kept.
  ASSERT_TRUE(db_->begin());
  mark = restarted.mark();
  ASSERT_TRUE(
      db_->exec("INSERT INTO inv_stock (sku_id, seller_id, on_hand, reserved, "
                "updated_at_us) VALUES (4, 10, 9, 0, 0)"));
  std::vector<Want> w4{{4, 1}};
  ASSERT_TRUE(reserve(*db_, env_, w4));
  EXPECT_EQ(restarted.row_copy(*db_, 4), 9);
  ASSERT_TRUE(db_->rollback());
  restarted.undo_to(mark);
  EXPECT_EQ(restarted.row_copy(*db_, 4), std::nullopt);
}

// A count that leaves on_hand as it was, over deferred units, moves only those units into the
// row (no journal entry, no move()): the copy of the row must follow them all the same, or the
// next reservation would count them twice as available.
TEST_P(DeferredTest, ACountToTheSameOnHandOverDeferredUnitsKeepsTheCopyExact) {
  auto_fold_ = false;
  stock(1, 10);
  ASSERT_TRUE(hold(1, {{1, 4}}));
  ASSERT_EQ(deferred(1), 4);
  stock(1, 10);
  EXPECT_EQ(deferred(1), 0);
  expect_row_copies_exact();
  EXPECT_FALSE(hold(2, {{1, 7}})) << "sold 7 of the 6 available";
  EXPECT_TRUE(hold(3, {{1, 6}}));
}

// Stock changed by another connection (an operator's SQL, another process) is what the next
// reservation counts on: the writer drops its copies when anyone else committed.
TEST_P(DeferredTest, AnotherConnectionsStockChangeIsSeenByTheNextTransaction) {
  auto_fold_ = false;
  stock(1, 5);
  ASSERT_TRUE(hold(1, {{1, 1}}));  // the copy of SKU 1's row: 5 available
  fold();
  auto other = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
  ASSERT_TRUE(other->exec("UPDATE inv_stock SET on_hand = 1 WHERE sku_id = 1"));
  auto short_of_stock = hold(2, {{1, 1}});
  ASSERT_FALSE(short_of_stock) << "sold a unit that is not there";
  EXPECT_EQ(short_of_stock.error().code, Code::insufficient_stock);
}

// A crash loses the deferred units, not the holders: the next start restores `reserved` from them
// before anything else runs.
TEST_P(DeferredTest, AfterACrashPrepareRestoresTheUnitsTheHoldersHold) {
  auto_fold_ = false;
  stock(1, 10);
  stock(2, 10);
  ASSERT_TRUE(hold(1, {{1, 4}}));
  ASSERT_TRUE(hold(2, {{1, 2}, {2, 5}}));
  ASSERT_TRUE(settle(1, true));  // paying takes SKU 1's deferred units into its row first
  EXPECT_EQ(get_stock(*reader_, 1).value()->reserved, 2);
  EXPECT_EQ(get_stock(*reader_, 1).value()->on_hand, 6);
  ASSERT_TRUE(hold(3, {{1, 1}}));
  db_.reset();  // the process dies: one unit of SKU 1 and five of SKU 2 were deferred
  auto outside = verify(*reader_, kHolds);
  ASSERT_TRUE(outside);
  EXPECT_TRUE(outside->problems.empty());
  EXPECT_EQ(outside->deferred_units, 6);
  // `jishi verify stock` with no server running says so, and what the next start does.
  auto offline = verify(*reader_, kHolds, /*no_writer=*/true);
  ASSERT_TRUE(offline);
  ASSERT_EQ(offline->problems.size(), 2u);
  EXPECT_NE(offline->problems[0].find("the next start restores them"), std::string::npos);
  db_ = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
  ReservationDeferral next(kHolds, clock_);
  ASSERT_TRUE(next.prepare(*db_));
  EXPECT_EQ(next.restored_skus(), 2);
  EXPECT_EQ(get_stock(*reader_, 1).value()->reserved, 3);
  EXPECT_EQ(get_stock(*reader_, 2).value()->reserved, 5);
  auto v = check();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty());
  EXPECT_EQ(verify(*reader_, kHolds).value().deferred_units, 0);
  // A clean restart restores nothing.
  db_ = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
  ReservationDeferral again(kHolds, clock_);
  ASSERT_TRUE(again.prepare(*db_));
  EXPECT_EQ(again.restored_skus(), 0);
}

// The deferred units follow the real writer's transactions. From four threads at once, at
// random: holds that succeed, or fail before anything, after reserving only (undone in memory,
// no replay), by throwing, after writing their rows (the batch is replayed with savepoints) or
// with the whole transaction rolled back under them; batches whose COMMIT fails; closes that
// release what an order held; and a switch that makes every UPDATE of one SKU's `reserved`
// fail, so that folds fail part way and are undone under the hook's savepoint (and closes of
// that SKU fail after writing); and another connection adding units on hand between batches.
// After each command, verify() on the writer's connection must find the rows plus the deferred
// units exactly equal to what the holders hold, and the writer's copies of the rows equal to
// the rows; after the writer stops, the rows alone.
TEST(DeferredWriter, RandomOutcomesKeepTheUnitsExact) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto path = store::testing::fresh_db_path("inventory_writer_random");
  ManualClock clock{1'800'000'000'000'000};
  IdGenerator ids{clock, 1};
  FieldCipher cipher = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env{clock, ids, cipher};
  constexpr std::int64_t kSkus = 5;
  {
    auto conn = std::move(store::open_sqlite(path, store::OpenMode::read_write).value());
    ASSERT_TRUE(store::migrate(*conn));
    ASSERT_TRUE(conn->exec_script(
        "CREATE TABLE test_holds (order_id BIGINT NOT NULL, sku_id BIGINT NOT NULL, "
        "quantity BIGINT NOT NULL);"
        "CREATE TABLE test_switch (refuse INTEGER NOT NULL); INSERT INTO test_switch VALUES (0);"
        "CREATE TRIGGER test_refuse BEFORE UPDATE OF reserved ON inv_stock "
        "WHEN (SELECT refuse FROM test_switch) = NEW.sku_id BEGIN SELECT RAISE(ABORT, 'refused'); "
        "END;"
        // A row here fails its batch's COMMIT (the key is checked then).
        "CREATE TABLE test_parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE test_child (parent BIGINT NOT NULL REFERENCES test_parent (id) "
        "DEFERRABLE INITIALLY DEFERRED);"));
    ASSERT_TRUE(conn->begin());
    for (std::int64_t sku = 1; sku <= kSkus; ++sku)
      ASSERT_TRUE(set_on_hand(*conn, env, sku, OrgId{10}, 40, UserId{1}, ""));
    ASSERT_TRUE(conn->commit());
    // Slices of a few SKUs per batch (a sweep per 2 ms), and folds when idle.
    ReservationDeferral deferral(kHolds, clock, 2'000, 1'000);
    ASSERT_TRUE(deferral.prepare(*conn));
    metrics::Registry registry;
    store::WriterOptions opts;
    opts.hook = &deferral;
    opts.batch_commands_max = 16;
    store::Writer w(std::move(conn), opts, &registry);
    std::mutex mu;
    std::vector<std::string> problems;
    std::atomic<int> held{0}, reserved_then_failed{0}, closed{0}, transactions_lost{0},
        outside_adds{0};
    auto submit = [&](std::function<bool(store::Tx&)> run) {
      auto done = std::make_shared<std::promise<store::Outcome>>();
      auto f = done->get_future();
      w.submit(
          store::make_command(std::move(run), [done](store::Outcome o) { done->set_value(o); }));
      return f;
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        std::mt19937 rng(seed + t);
        std::vector<std::future<store::Outcome>> pending;
        auto outside = std::move(store::open_sqlite(path, store::OpenMode::read_write).value());
        for (int i = 0; i < 400; ++i) {
          int op = static_cast<int>(rng() % 13);
          if (op < 6) {
            std::int64_t order = t * 100'000 + i;
            std::vector<Want> wants;
            for (unsigned n = 1 + rng() % 2; n > 0; --n)
              wants.push_back({1 + static_cast<std::int64_t>(rng() % kSkus),
                               1 + static_cast<std::int64_t>(rng() % 6)});
            // 0: no; 1: at once; 2: after reserving; 3: after its rows; 4: throws after
            // reserving; 5: after its rows, SQLite rolls back the whole transaction by itself (as
            // on an I/O error or a full disk; a ROLLBACK here stands in for it).
            int fails = static_cast<int>(rng() % 6);
            pending.push_back(submit([&, order, wants, fails](store::Tx& tx) -> bool {
              if (fails == 1) return false;
              if (!reserve(tx, env, wants)) return false;
              if (fails == 2) {
                ++reserved_then_failed;
                return false;
              }
              if (fails == 4) throw std::runtime_error("a bug in a command");
              for (const auto& want : wants)
                if (!tx.exec("INSERT INTO test_holds VALUES ($1, $2, $3)",
                             {order, want.sku_id, want.quantity}))
                  return false;
              if (fails == 3) return false;
              if (fails == 5) {
                ++transactions_lost;
                return tx.exec("ROLLBACK").has_value() && order % 2 == 0;
              }
              ++held;
              return true;
            }));
          } else if (op < 9) {
            auto skip = static_cast<std::int64_t>(rng() % 8);
            pending.push_back(submit([&, skip](store::Tx& tx) {
              auto order = tx.query_one(
                  "SELECT DISTINCT order_id FROM test_holds ORDER BY order_id LIMIT 1 OFFSET $1",
                  {skip}, [](const store::Row& r) { return r.i64(0); });
              if (!order || !*order) return true;
              std::vector<Want> wants;
              if (!tx.query("SELECT sku_id, quantity FROM test_holds WHERE order_id = $1",
                            {**order},
                            [&](const store::Row& r) {
                              wants.push_back({r.i64(0), r.i64(1)});
                              return true;
                            }) ||
                  !tx.exec("DELETE FROM test_holds WHERE order_id = $1", {**order}) ||
                  !release(tx, env, wants))
                return false;
              ++closed;
              return true;
            }));
          } else if (op == 11) {
            pending.push_back(submit([](store::Tx& tx) {
              return tx.exec("INSERT INTO test_child VALUES (42)").has_value();
            }));
          } else if (op == 12) {
            // Another connection (an operator's tool) adds a unit on hand, with its journal
            // entry: the writer's copy of that row must not be used after it.
            auto sku = 1 + static_cast<std::int64_t>(rng() % kSkus);
            bool added =
                outside->begin() &&
                outside->exec("UPDATE inv_stock SET on_hand = on_hand + 1 WHERE sku_id = $1",
                              {sku}) &&
                outside->exec(
                    "INSERT INTO inv_movements (id, sku_id, kind, delta_on_hand, "
                    "delta_reserved, at_us) VALUES ($1, $2, 'adjust', 1, 0, 0)",
                    {static_cast<std::int64_t>(9'000'000'000'000'000 + t * 1'000'000 + i), sku}) &&
                outside->commit();
            if (added) {
              ++outside_adds;
            } else {
              (void)outside->rollback();
            }
          } else {
            auto refuse = rng() % 3 == 0 ? 1 + static_cast<std::int64_t>(rng() % kSkus) : 0;
            pending.push_back(submit([refuse](store::Tx& tx) {
              return tx.exec("UPDATE test_switch SET refuse = $1", {refuse}).has_value();
            }));
          }
          pending.push_back(submit([&](store::Tx& tx) {
            auto v = verify(tx, kHolds);
            std::lock_guard lock(mu);
            if (!v)
              problems.push_back(v.error().detail);
            else if (!v->problems.empty())
              problems.push_back(v->problems.front());
            // And the writer's copies of the rows are the rows.
            for (std::int64_t sku = 1; sku <= kSkus; ++sku) {
              auto copy = deferral.row_copy(tx, sku);
              auto row = get_stock(tx, sku);
              if (copy && (!row || !*row || (*row)->available() != *copy))
                problems.push_back("the copy of SKU " + std::to_string(sku) + " says " +
                                   std::to_string(*copy));
            }
            return true;
          }));
          if (pending.size() >= 32) {
            for (auto& p : pending) p.wait();
            pending.clear();
          }
        }
        for (auto& p : pending) p.wait();
      });
    for (auto& th : threads) th.join();
    submit([](store::Tx& tx) {
      return tx.exec("UPDATE test_switch SET refuse = 0").has_value();
    }).wait();
    EXPECT_TRUE(problems.empty()) << problems.front();
    // Every path ran: holds and closes, memory-only failures, replays, failed folds.
    EXPECT_GT(held.load(), 50);
    EXPECT_GT(closed.load(), 20);
    EXPECT_GT(reserved_then_failed.load(), 20);
    EXPECT_GT(transactions_lost.load(), 20);
    EXPECT_GT(w.replays(), 0u);
    EXPECT_GT(deferral.row_copies().hits, 50u);
    EXPECT_GT(outside_adds.load(), 20);
    EXPECT_GT(registry.counter("jishi_writer_hook_failures_total", "", "").value(), 0u);
    EXPECT_GT(registry.counter("jishi_writer_commit_failures_total", "", "").value(), 0u);
    w.stop();  // folds what is left
    EXPECT_EQ(deferral.deferred_skus(), 0u);
    EXPECT_EQ(deferral.mark(), 0u);  // the last COMMIT left no undo behind
  }
  auto conn = std::move(store::open_sqlite(path, store::OpenMode::read_only).value());
  auto v = verify(*conn, kHolds, /*no_writer=*/true);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty()) << v->problems.front();
}

}  // namespace
}  // namespace jishi::inventory
