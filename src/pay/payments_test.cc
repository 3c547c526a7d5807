#include "pay/payments.h"

#include <gtest/gtest.h>

#include <random>

#include "core/local_time.h"
#include "pay/chart.h"
#include "pay/ledger.h"
#include "pay/settlement.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pay {
namespace {

class PaymentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = store::testing::fresh_db_path("payments");
    db_ = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
    exec(
        "INSERT INTO users (id, email, display_name, password_hash, status, created_at_us, "
        "updated_at_us) VALUES (1, 'b@x', 'buyer', 'x', 'active', 0, 0), (2, 's@x', 'seller', "
        "'x', 'active', 0, 0)");
    exec(
        "INSERT INTO orgs (id, kind, name, status, created_by, created_at_us, updated_at_us) "
        "VALUES (10, 'merchant', 'Shop A', 'approved', 2, 0, 0), (11, 'merchant', 'Shop B', "
        "'approved', 2, 0, 0), (12, 'merchant', 'Shop C', 'submitted', 2, 0, 0)");
    // As on the server's writer: the payees' status is kept in memory (every test runs so).
    ASSERT_TRUE(prepare_payee_cache(*db_));
  }

  void exec(std::string_view sql) {
    auto r = db_->exec_script(sql);
    ASSERT_TRUE(r) << r.error().detail;
  }

  // Runs f in a transaction; commits when it succeeds, rolls back otherwise.
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

  Intent intent(std::vector<Split> splits, Purpose purpose = Purpose::escrow) {
    NewIntent n;
    n.payer = UserId{1};
    n.purpose = purpose;
    n.reference = "checkout-" + std::to_string(++seq_);
    n.description = "test";
    std::int64_t sum = 0;
    for (auto& s : splits) sum += s.amount;
    n.amount = Money{sum, cny_};
    n.splits = std::move(splits);
    n.ttl_us = 30LL * 60 * 1'000'000;
    auto r = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r.value_or(Intent{});
  }
  Intent topup(std::int64_t amount) {
    NewIntent n;
    n.payer = UserId{1};
    n.purpose = Purpose::wallet_topup;
    n.reference = "topup-" + std::to_string(++seq_);
    n.description = "top up";
    n.amount = Money{amount, cny_};
    n.ttl_us = 30LL * 60 * 1'000'000;
    return tx([&](store::Tx& t) { return create_intent(t, env_, n); }).value();
  }

  Notification note(const Intent& i, std::string status, std::int64_t fee = 0) {
    Notification n;
    n.notify_id = "n" + std::to_string(++seq_);
    n.trade_no = "T" + std::to_string(i.id.value);
    n.out_trade_no = std::to_string(i.id.value);
    n.trade_status = std::move(status);
    n.amount = i.amount.minor;
    n.currency = "CNY";
    n.fee = fee;
    return n;
  }
  NotifyVerdict notify(const Intent& i, std::string status, Channel c = Channel::card) {
    auto r = tx([&](store::Tx& t) { return apply_notification(t, env_, c, note(i, status)); });
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? r->verdict : NotifyVerdict::rejected;
  }
  void start(const Intent& i, Channel c = Channel::card) {
    GatewayTrade t;
    t.trade_no = "T" + std::to_string(i.id.value);
    t.out_trade_no = std::to_string(i.id.value);
    t.amount = i.amount.minor;
    auto r = tx([&](store::Tx& x) {
      return start_channel_payment(x, env_, i.id, UserId{1}, c, t, std::nullopt);
    });
    ASSERT_TRUE(r) << r.error().detail;
  }

  std::int64_t bal(AccountCode code, std::int64_t owner) {
    return balance_of(*db_, code, owner, cny_).value().posted;
  }
  // An escrow intent of payer 1 whose splits `source` implies (imply_splits), for their sum.
  NewIntent implied(const std::string& source, std::vector<Split> splits,
                    const std::string& reference) {
    NewIntent n;
    n.payer = UserId{1};
    n.reference = reference;
    n.description = reference;
    std::int64_t sum = 0;
    for (const auto& s : splits) sum += s.amount;
    n.amount = Money{sum, cny_};
    n.splits = std::move(splits);
    n.ttl_us = 30LL * 60 * 1'000'000;
    n.splits_from = source;
    return n;
  }
  // A second intent of payer 1 for `reference` (100 fen to org 10): what the open-intent check
  // answers.
  Result<Intent> another_for(const std::string& reference) {
    NewIntent other;
    other.payer = UserId{1};
    other.reference = "again";
    other.amount = Money{100, cny_};
    other.splits = {Split{reference, OrgId{10}, 100, std::nullopt}};
    other.ttl_us = 1'000'000;
    return tx([&](store::Tx& t) { return create_intent(t, env_, other); });
  }
  std::int64_t count_rows(const std::string& sql) {
    return db_->query_one(sql, {}, [](const store::Row& r) { return r.i64(0); }).value().value();
  }
  void expect_sound() {
    auto v = verify_ledger(*db_);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->has_value()) << **v;
  }

  std::string db_path_;
  std::unique_ptr<store::Conn> db_;
  Currency cny_;
  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  int seq_ = 0;
};

TEST(Commission, RoundsHalfToEvenToTheFen) {
  EXPECT_EQ(commission_of(1005, 50'000), 50);  // 50.25 -> 50
  EXPECT_EQ(commission_of(1010, 50'000), 50);  // 50.5 -> 50 (even)
  EXPECT_EQ(commission_of(1030, 50'000), 52);  // 51.5 -> 52 (even)
  EXPECT_EQ(commission_of(1050, 50'000), 52);  // 52.5 -> 52
  EXPECT_EQ(commission_of(999'999'999'999, 1'000'000), 999'999'999'999);
  EXPECT_EQ(commission_of(1, 0), 0);
  EXPECT_EQ(mul_div_half_even(-15, 1, 10), -2);  // -1.5 -> -2
}

TEST_F(PaymentsTest, IntentValidation) {
  NewIntent n;
  n.payer = UserId{1};
  n.reference = "r";
  n.amount = Money{100, cny_};
  n.ttl_us = 1'000'000;
  n.splits = {Split{"o1", OrgId{10}, 90, {}}};
  auto r = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "/splits");  // does not add up
  n.splits = {Split{"o1", OrgId{12}, 100, {}}};
  r = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_state);  // merchant not approved
  n.splits = {Split{"o1", OrgId{10}, 100, {}}};
  ASSERT_TRUE(tx([&](store::Tx& t) { return create_intent(t, env_, n); }));
  r = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_FALSE(r);  // the reference already has an open intent
  EXPECT_EQ(r.error().code, Code::conflict);
}

// The payees kept in the connection's memory never answer with a status that is no longer
// true: after a change through this connection, a change undone with its savepoint, and a
// change by another connection.
TEST_F(PaymentsTest, APayeesStatusInMemoryIsNeverStale) {
  auto escrow = [&](store::Tx& t, OrgId payee) {
    NewIntent n;
    n.payer = UserId{1};
    n.reference = "checkout-" + std::to_string(++seq_);
    n.description = "test";
    n.amount = Money{100, cny_};
    n.ttl_us = 1'000'000;
    n.splits = {Split{"o" + std::to_string(seq_), payee, 100, {}}};
    return create_intent(t, env_, n);
  };
  auto refused = [](const Result<Intent>& r) {
    return !r && r.error().code == Code::invalid_state;
  };
  ASSERT_TRUE(tx([&](store::Tx& t) { return escrow(t, OrgId{10}); }));  // read and kept
  exec("UPDATE orgs SET status = 'suspended' WHERE id = 10");
  EXPECT_TRUE(refused(tx([&](store::Tx& t) { return escrow(t, OrgId{10}); })));
  // Approved under a savepoint that is then rolled back: read from the rows while approved,
  // never kept, so the intent after the rollback is refused again.
  tx([&](store::Tx& t) -> Result<Intent> {
    EXPECT_TRUE(t.exec("SAVEPOINT s"));
    EXPECT_TRUE(t.exec("UPDATE orgs SET status = 'approved' WHERE id = 10"));
    EXPECT_TRUE(escrow(t, OrgId{10}));
    EXPECT_TRUE(t.exec("ROLLBACK TO s"));
    EXPECT_TRUE(t.exec("RELEASE s"));
    auto after = escrow(t, OrgId{10});
    EXPECT_TRUE(refused(after));
    return after;
  });
  EXPECT_TRUE(refused(tx([&](store::Tx& t) { return escrow(t, OrgId{10}); })));
  // The same, in a transaction that then commits: nothing read while approved is served after.
  ASSERT_TRUE(db_->begin());
  EXPECT_TRUE(db_->exec("SAVEPOINT s"));
  EXPECT_TRUE(db_->exec("UPDATE orgs SET status = 'approved' WHERE id = 10"));
  EXPECT_TRUE(escrow(*db_, OrgId{10}));
  EXPECT_TRUE(db_->exec("ROLLBACK TO s"));
  EXPECT_TRUE(db_->exec("RELEASE s"));
  ASSERT_TRUE(db_->commit());
  EXPECT_TRUE(refused(tx([&](store::Tx& t) { return escrow(t, OrgId{10}); })));
  // A REPLACE through the unique credit code deletes organisation 11 without a DELETE
  // trigger; the payee kept in memory goes with it.
  ASSERT_TRUE(tx([&](store::Tx& t) { return escrow(t, OrgId{11}); }));
  exec("UPDATE orgs SET credit_code = 'C11' WHERE id = 11");
  ASSERT_TRUE(tx([&](store::Tx& t) { return escrow(t, OrgId{11}); }));
  exec("UPDATE OR REPLACE orgs SET credit_code = 'C11' WHERE id = 12");
  auto gone = tx([&](store::Tx& t) { return escrow(t, OrgId{11}); });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Code::validation_failed);  // no such payee
  exec(
      "INSERT INTO orgs (id, kind, name, status, created_by, created_at_us, updated_at_us) "
      "VALUES (11, 'merchant', 'Shop B', 'approved', 2, 0, 0)");
  // Another connection approves it, then suspends another payee this one has kept.
  ASSERT_TRUE(tx([&](store::Tx& t) { return escrow(t, OrgId{11}); }));
  auto other = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
  ASSERT_TRUE(other->exec("UPDATE orgs SET status = 'approved' WHERE id = 10"));
  ASSERT_TRUE(other->exec("UPDATE orgs SET status = 'suspended' WHERE id = 11"));
  EXPECT_TRUE(tx([&](store::Tx& t) { return escrow(t, OrgId{10}); }));
  EXPECT_TRUE(refused(tx([&](store::Tx& t) { return escrow(t, OrgId{11}); })));
}

TEST_F(PaymentsTest, PaymentIsHeldThenReleasedNetOfCommission) {
  auto i =
      intent({Split{"order-a", OrgId{10}, 10'000, {}}, Split{"order-b", OrgId{11}, 5'000, {}}});
  start(i);
  EXPECT_EQ(notify(i, "WAIT_BUYER_PAY"), NotifyVerdict::ignored_not_final);
  EXPECT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::applied);
  EXPECT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::duplicate);
  EXPECT_EQ(notify(i, "TRADE_CLOSED"), NotifyVerdict::stale);
  EXPECT_EQ(get_intent(*db_, i.id).value()->status, IntentStatus::succeeded);
  EXPECT_EQ(bal(AccountCode::clearing, 1), 15'000);  // the card channel owes us
  EXPECT_EQ(bal(AccountCode::escrow, 0), 15'000);
  auto shop_a = merchant_balances(*db_, OrgId{10}, cny_).value();
  EXPECT_EQ(shop_a.pending, 10'000);
  EXPECT_EQ(shop_a.available, 0);

  ASSERT_TRUE(
      tx([&](store::Tx& t) { return set_commission_rate(t, env_, "merchant", "10", 25'000); }));
  auto e = tx([&](store::Tx& t) { return release(t, env_, "order-a", 50'000); });
  ASSERT_TRUE(e) << e.error().detail;
  EXPECT_EQ(e->commission, 250);  // the merchant's own 2.5% beats the default 5%
  shop_a = merchant_balances(*db_, OrgId{10}, cny_).value();
  EXPECT_EQ(shop_a.pending, 0);
  EXPECT_EQ(shop_a.available, 9'750);
  EXPECT_EQ(bal(AccountCode::commission, 0), 250);
  auto again = tx([&](store::Tx& t) { return release(t, env_, "order-a", 50'000); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::invalid_state);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().available, 9'750);
  expect_sound();
}

// A source of implied splits for the test below: what another module's rows would say.
std::vector<Split> g_implied;
IntentId g_implied_intent;
Result<std::vector<Split>> implied_splits_of(store::Conn&, const Intent&) {
  return g_implied;
}
Result<std::optional<IntentId>> implied_intent_for(store::Conn&, std::string_view reference) {
  for (const auto& s : g_implied)
    if (s.reference == reference) return std::optional<IntentId>{g_implied_intent};
  return std::optional<IntentId>{};
}

// An intent whose splits are implied by another module's rows stores none: it reads them from
// its source, holds them open against a second intent, and pays them out as stored ones. An
// unknown source is refused at creation, and splits that no longer add up fail when read.
TEST_F(PaymentsTest, ImpliedSplitsAreReadFromTheirSourceAndPaidAsStoredOnes) {
  std::vector<Split> splits{Split{"order-y", OrgId{11}, 4'000, std::string("cups")},
                            Split{"order-x", OrgId{10}, 6'000, std::nullopt}};
  NewIntent n = implied("nowhere", splits, "checkout-implied");
  auto refused = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::internal);
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_intents"), 0);

  imply_splits("test", {implied_splits_of, implied_intent_for});
  g_implied = splits;
  n.splits_from = "test";
  auto made = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_TRUE(made) << made.error().detail;
  g_implied_intent = made->id;
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_intent_splits"), 0);
  auto read = get_intent(*db_, made->id).value().value();
  EXPECT_EQ(read.splits_from, "test");
  ASSERT_EQ(read.splits.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {  // as created, in reference order
    EXPECT_EQ(read.splits[i].reference, made->splits[i].reference);
    EXPECT_EQ(read.splits[i].payee, made->splits[i].payee);
    EXPECT_EQ(read.splits[i].amount, made->splits[i].amount);
    EXPECT_EQ(read.splits[i].category, made->splits[i].category);
  }
  EXPECT_EQ(read.splits[0].reference, "order-x");

  // A second intent for one of its references, while it is open: refused.
  auto twice = another_for("order-x");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Code::conflict);

  start(read);
  EXPECT_EQ(notify(read, "TRADE_SUCCESS"), NotifyVerdict::applied);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 6'000);
  EXPECT_EQ(merchant_balances(*db_, OrgId{11}, cny_).value().pending, 4'000);
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_escrows"), 2);
  expect_sound();

  g_implied[0].amount = 3'999;  // the source no longer adds up to the intent
  auto broken = get_intent(*db_, made->id);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, Code::internal);
}

std::vector<IntentId> g_listed;  // the "listing" source's intents of payer 1, oldest first
Result<std::vector<IntentId>> listed_intents_of(store::Conn&, UserId payer, std::int64_t before,
                                                std::size_t limit) {
  std::vector<IntentId> out;
  if (payer != UserId{1}) return out;
  for (auto it = g_listed.rbegin(); it != g_listed.rend() && out.size() < limit; ++it)
    if (it->value < before) out.push_back(*it);
  return out;
}

// An intent its source lists (listed_by_source) takes no entry in the payer index: the payer's
// list merges the source's intents with the index's, newest first, page by page. A source that
// names an intent it does not hold is an internal error, not a silently shorter list.
TEST_F(PaymentsTest, IntentsListedByTheirSourceMergeWithThePayerIndexNewestFirst) {
  imply_splits("listing", {implied_splits_of, implied_intent_for, listed_intents_of});
  g_implied = {Split{"order-l", OrgId{10}, 10'000, std::nullopt}};
  g_listed.clear();
  auto listed = [&] {
    NewIntent n = implied("listing", g_implied, "checkout-listed");
    n.fresh_references = true;
    n.listed_by_source = true;
    auto without_id = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
    EXPECT_FALSE(without_id);  // the source must be able to name it: the caller gives its id
    n.id = IntentId{ids_.next()};
    auto made = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
    EXPECT_TRUE(made) << (made ? "" : made.error().detail);
    g_listed.push_back(n.id.value_or(IntentId{}));
    return n.id.value_or(IntentId{});
  };
  auto a = intent({Split{"order-a", OrgId{10}, 100, {}}}).id;
  auto b = listed();
  auto c = intent({Split{"order-c", OrgId{10}, 100, {}}}).id;
  auto d = listed();
  // Only a and c are in the payer index (a partial index: listed_by IS NULL).
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_intents WHERE listed_by IS NULL AND payer_id = 1"),
            2);

  auto first = list_intents(*db_, UserId{1}, 0, 3);
  ASSERT_TRUE(first) << first.error().detail;
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->items[0].id, d);
  EXPECT_EQ(first->items[1].id, c);
  EXPECT_EQ(first->items[2].id, b);
  EXPECT_EQ(first->items[0].splits.size(), 1u);  // a listed intent's splits, from its source
  ASSERT_TRUE(first->next_cursor);
  auto second = list_intents(*db_, UserId{1}, *first->next_cursor, 3);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, a);
  EXPECT_FALSE(second->next_cursor);
  EXPECT_TRUE(list_intents(*db_, UserId{2}, 0, 3).value().items.empty());

  g_listed.push_back(a);  // not one the source holds
  auto wrong = list_intents(*db_, UserId{1}, 0, 3);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Code::internal);
  g_listed.clear();
}

// An intent with implied splits is closed by its source (a checkout's: with its orders), not
// by the worker's expiry. Should a payment under way complete after its deadline, before the
// source got to it, the intent has lapsed all the same: expired, the payment refunded as late.
TEST_F(PaymentsTest, APaymentCompletingAfterAnImpliedIntentsDeadlineIsRefundedAsLate) {
  imply_splits("test", {implied_splits_of, implied_intent_for});
  g_implied = {Split{"order-late", OrgId{10}, 5'000, std::nullopt}};
  NewIntent n = implied("test", g_implied, "checkout-late");
  n.ttl_us = 60'000'000;
  n.fresh_references = true;
  auto made = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
  ASSERT_TRUE(made) << made.error().detail;
  start(*made);
  clock_.advance_us(n.ttl_us);
  EXPECT_EQ(tx([&](store::Tx& t) { return expire_intents(t, env_, 100); }).value(), 0);
  EXPECT_EQ(notify(*made, "TRADE_SUCCESS"), NotifyVerdict::applied);
  auto after = get_intent(*db_, made->id).value().value();
  EXPECT_EQ(after.status, IntentStatus::expired);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 0);
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_refunds WHERE reference = 'intent:" +
                       std::to_string(made->id.value) + "'"),
            1);
  expect_sound();
}

// A source that implies whole intents (NewIntent::implied), as a checkout does: the intent as
// it was created, expired once its rows say nothing is payable any more (g_whole_open).
std::optional<Intent> g_whole;
bool g_whole_open = true;
Result<std::optional<Intent>> whole_intent_of(store::Conn&, IntentId id) {
  if (!g_whole || g_whole->id != id) return std::optional<Intent>{};
  Intent i = *g_whole;
  if (!g_whole_open) i.status = IntentStatus::expired;
  return std::optional(i);
}
Result<std::vector<IntentId>> whole_intents_of(store::Conn&, UserId payer, std::int64_t before,
                                               std::size_t limit) {
  std::vector<IntentId> out;
  if (g_whole && g_whole->payer == payer && g_whole->id.value < before && limit > 0)
    out.push_back(g_whole->id);
  return out;
}

class ImpliedIntentsTest : public PaymentsTest {
 protected:
  void SetUp() override {
    PaymentsTest::SetUp();
    imply_splits("whole",
                 {implied_splits_of, implied_intent_for, whole_intents_of, whole_intent_of});
  }
  void TearDown() override { g_whole.reset(); }
  // An implied intent of payer 1 for one reference (the source's only intent).
  Intent make(std::int64_t amount, const std::string& reference) {
    g_implied = {Split{reference, OrgId{10}, amount, std::string("cups")}};
    NewIntent n = implied("whole", g_implied, "checkout-" + reference);
    n.fresh_references = true;
    n.listed_by_source = true;
    n.implied = true;
    n.id = IntentId{ids_.next()};
    auto made = tx([&](store::Tx& t) { return create_intent(t, env_, n); });
    EXPECT_TRUE(made) << (made ? "" : made.error().detail);
    g_whole = made.value_or(Intent{});
    g_whole_open = true;
    g_implied_intent = g_whole->id;
    return *g_whole;
  }
  std::int64_t rows_of(const Intent& i, const std::string& where = "1") {
    return count_rows("SELECT COUNT(*) FROM pay_intents WHERE id = " + std::to_string(i.id.value) +
                      " AND " + where);
  }
};

// An implied intent stores no row: it is read (and listed, and held open against a second
// intent) from its source, as created; its first change, a wallet payment, stores its row once,
// already succeeded. A source that cannot imply whole intents cannot make one.
TEST_F(ImpliedIntentsTest, AnImpliedIntentIsReadFromItsSourceAndStoredAtItsFirstChange) {
  NewIntent refused = implied("test", {Split{"order-r", OrgId{10}, 100, {}}}, "checkout-r");
  refused.listed_by_source = true;
  refused.implied = true;
  refused.id = IntentId{ids_.next()};
  auto no = tx([&](store::Tx& t) { return create_intent(t, env_, refused); });
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().code, Code::internal);

  auto t = topup(9'000);
  start(t, Channel::qr);
  ASSERT_EQ(notify(t, "TRADE_SUCCESS", Channel::qr), NotifyVerdict::applied);

  auto made = make(6'000, "order-iw");
  EXPECT_EQ(made.status, IntentStatus::requires_payment);
  EXPECT_EQ(rows_of(made), 0);
  auto read = get_intent(*db_, made.id).value().value();
  EXPECT_TRUE(read.implied);
  EXPECT_EQ(read.status, IntentStatus::requires_payment);
  EXPECT_EQ(read.amount.minor, made.amount.minor);
  EXPECT_EQ(read.expires_at_us, made.expires_at_us);
  EXPECT_EQ(read.created_at_us, made.created_at_us);
  EXPECT_EQ(read.reference, made.reference);
  ASSERT_EQ(read.splits.size(), 1u);
  EXPECT_EQ(read.splits[0].reference, "order-iw");
  auto listed = list_intents(*db_, UserId{1}, 0, 10).value();
  ASSERT_EQ(listed.items.size(), 2u);  // the top-up, and this one
  EXPECT_EQ(listed.items[0].id, made.id);

  auto twice = another_for("order-iw");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Code::conflict);

  auto paid = tx([&](store::Tx& x) { return pay_with_wallet(x, env_, made.id, UserId{1}, 77); });
  ASSERT_TRUE(paid) << paid.error().detail;
  EXPECT_EQ(paid->status, IntentStatus::succeeded);
  EXPECT_FALSE(paid->implied);
  EXPECT_EQ(rows_of(made,
                    "status = 'succeeded' AND channel = 'wallet' AND risk_decision_id = 77 "
                    "AND splits_from = 'whole' AND listed_by = 'whole' AND amount = 6000 "
                    "AND succeeded_at_us IS NOT NULL AND description = 'checkout-order-iw'"),
            1);
  EXPECT_EQ(wallet_balance(*db_, UserId{1}, cny_).value(), 3'000);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 6'000);
  // Stored now: the source is not asked any more.
  g_whole_open = false;
  EXPECT_EQ(get_intent(*db_, made.id).value()->status, IntentStatus::succeeded);
  expect_sound();
}

// Closing an implied intent whose source has already closed what it pays for stores nothing
// (it reads as expired); closing, cancelling or failing an open one stores it in that state.
// A payment for a lapsed one is captured and refunded as late, and then it is stored.
TEST_F(ImpliedIntentsTest, AnImpliedIntentIsStoredOnlyWhenItsStateDiffersFromItsSources) {
  auto lapsed = make(2'000, "order-lapsed");
  g_whole_open = false;
  auto closed = tx([&](store::Tx& t) { return close_intent(t, env_, lapsed.id); });
  ASSERT_TRUE(closed) << closed.error().detail;
  EXPECT_EQ(closed->status, IntentStatus::expired);
  EXPECT_TRUE(closed->implied);
  EXPECT_EQ(rows_of(lapsed), 0);
  clock_.advance_us(1'000);
  EXPECT_EQ(notify(lapsed, "TRADE_SUCCESS"), NotifyVerdict::applied);
  EXPECT_EQ(rows_of(lapsed, "status = 'expired'"), 1);
  EXPECT_EQ(count_rows("SELECT COUNT(*) FROM pay_refunds WHERE reference = 'intent:" +
                       std::to_string(lapsed.id.value) + "'"),
            1);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 0);
  EXPECT_EQ(notify(lapsed, "TRADE_SUCCESS"), NotifyVerdict::duplicate);

  auto open = make(2'000, "order-open");
  ASSERT_TRUE(tx([&](store::Tx& t) { return close_intent(t, env_, open.id); }));
  EXPECT_EQ(rows_of(open, "status = 'expired'"), 1);

  auto cancelled = make(2'000, "order-cancelled");
  ASSERT_TRUE(tx([&](store::Tx& t) { return cancel_intent(t, env_, cancelled.id, UserId{1}); }));
  EXPECT_EQ(rows_of(cancelled, "status = 'cancelled'"), 1);

  auto failed = make(2'000, "order-failed");
  ASSERT_TRUE(
      tx([&](store::Tx& t) { return fail_intent(t, env_, failed.id, "risk_blocked", "no"); }));
  EXPECT_EQ(rows_of(failed, "status = 'failed' AND failure_code = 'risk_blocked'"), 1);

  auto closing = make(2'000, "order-closing");
  EXPECT_EQ(notify(closing, "TRADE_CLOSED"), NotifyVerdict::applied);
  EXPECT_EQ(rows_of(closing, "status = 'failed' AND failure_code = 'channel_closed'"), 1);

  auto started = make(2'000, "order-started");
  start(started);
  EXPECT_EQ(rows_of(started, "status = 'processing' AND trade_no IS NOT NULL"), 1);
  EXPECT_EQ(notify(started, "TRADE_SUCCESS"), NotifyVerdict::applied);
  EXPECT_EQ(rows_of(started, "status = 'succeeded'"), 1);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 2'000);
  expect_sound();

  auto wrong = make(2'000, "order-wrong");
  g_whole->splits_from = "test";  // a source implying an intent in another's name
  auto read = get_intent(*db_, wrong.id);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Code::internal);
}

TEST_F(PaymentsTest, RefundBeforeReleaseComesOutOfEscrow) {
  auto i = intent({Split{"order-a", OrgId{10}, 10'000, {}}});
  start(i);
  ASSERT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::applied);
  auto f = tx([&](store::Tx& t) { return refund(t, env_, "order-a", 3'000, "size", UserId{2}); });
  ASSERT_TRUE(f) << f.error().detail;
  EXPECT_EQ(f->status, "submitted");  // the worker sends it to the channel
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().pending, 7'000);
  EXPECT_EQ(bal(AccountCode::clearing, 1), 7'000);
  auto too_much = tx([&](store::Tx& t) { return refund(t, env_, "order-a", 7'001, "x", {}); });
  ASSERT_FALSE(too_much);
  auto e = tx([&](store::Tx& t) { return release(t, env_, "order-a", 50'000); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->released, 7'000);
  EXPECT_EQ(e->commission, 350);
  EXPECT_EQ(merchant_balances(*db_, OrgId{10}, cny_).value().available, 6'650);
  expect_sound();
}

TEST_F(PaymentsTest, RefundAfterReleaseReturnsCommissionAndBooksShortfall) {
  auto i = intent({Split{"order-a", OrgId{10}, 10'000, {}}});
  start(i);
  ASSERT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::applied);
  ASSERT_TRUE(tx([&](store::Tx& t) { return release(t, env_, "order-a", 50'000); }));
  // The merchant spends part of its balance (a settlement moved it away).
  auto avail = find_account(*db_, AccountCode::merchant_available, 10, cny_).value().value();
  auto custody = tx([&](store::Tx& t) {
                   return account_for(t, env_, AccountCode::merchant_in_transit, 10, cny_);
                 }).value();
  TransferSpec out;
  out.id = TransferId{ids_.next()};
  out.debit = avail;
  out.credit = custody;
  out.amount = 9'000;
  out.code = static_cast<std::int32_t>(TransferCode::settle);
  ASSERT_TRUE(tx([&](store::Tx& t) {
    std::vector<TransferSpec> v{out};
    return apply_all(t, clock_, v);
  }));
  // Refund 4,000: commission share 200, merchant share 3,800 of which only 500 is available.
  auto f = tx([&](store::Tx& t) { return refund(t, env_, "order-a", 4'000, "broken", {}); });
  ASSERT_TRUE(f) << f.error().detail;
  EXPECT_EQ(f->commission_share, 200);
  EXPECT_EQ(f->merchant_share, 3'800);
  EXPECT_EQ(f->shortfall, 3'300);
  auto b = merchant_balances(*db_, OrgId{10}, cny_).value();
  EXPECT_EQ(b.available, 0);
  EXPECT_EQ(b.receivable, 3'300);
  EXPECT_EQ(bal(AccountCode::commission, 0), 300);
  // The rest: commission shares add up to exactly the commission.
  auto g = tx([&](store::Tx& t) { return refund(t, env_, "order-a", 6'000, "all", {}); });
  ASSERT_TRUE(g) << g.error().detail;
  EXPECT_EQ(f->commission_share + g->commission_share, 500);
  EXPECT_EQ(bal(AccountCode::commission, 0), 0);
  EXPECT_EQ(bal(AccountCode::clearing, 1), 0);
  ASSERT_FALSE(tx([&](store::Tx& t) { return refund(t, env_, "order-a", 1, "more", {}); }));
  expect_sound();
}

TEST_F(PaymentsTest, ClosedTradeFailsAndLatePaymentIsRefunded) {
  auto i = intent({Split{"order-a", OrgId{10}, 2'000, {}}});
  start(i);
  EXPECT_EQ(notify(i, "TRADE_CLOSED"), NotifyVerdict::applied);
  EXPECT_EQ(get_intent(*db_, i.id).value()->status, IntentStatus::failed);
  EXPECT_EQ(notify(i, "TRADE_CLOSED"), NotifyVerdict::duplicate);
  // The payer paid anyway (a late success): booked and refunded in full, nothing held.
  EXPECT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::applied);
  EXPECT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::duplicate);
  EXPECT_FALSE(get_escrow(*db_, "order-a").value());
  EXPECT_EQ(bal(AccountCode::clearing, 1), 0);
  EXPECT_EQ(bal(AccountCode::suspense, 0), 0);
  auto refunds = refunds_to_submit(*db_, 10).value();
  ASSERT_EQ(refunds.size(), 1u);
  EXPECT_EQ(refunds[0].amount.minor, 2'000);
  expect_sound();
}

TEST_F(PaymentsTest, RefundTheChannelNeverAcceptsIsParkedInSuspense) {
  auto i = intent({Split{"order-a", OrgId{10}, 2'000, {}}});
  start(i);
  ASSERT_EQ(notify(i, "TRADE_SUCCESS"), NotifyVerdict::applied);
  auto f = tx([&](store::Tx& t) { return refund(t, env_, "order-a", 500, "x", {}); }).value();
  Result<GatewayRefund> refused = fail(Code::upstream_failure, "timeout");
  ASSERT_TRUE(tx([&](store::Tx& t) { return record_refund_answer(t, env_, f.id, refused, 2); }));
  EXPECT_EQ(refunds_to_submit(*db_, 10).value().size(), 1u);  // tried again later
  ASSERT_TRUE(tx([&](store::Tx& t) { return record_refund_answer(t, env_, f.id, refused, 2); }));
  EXPECT_TRUE(refunds_to_submit(*db_, 10).value().empty());
  EXPECT_EQ(list_refunds(*db_, "order-a", 0, 10).value().items[0].status, "failed");
  EXPECT_EQ(bal(AccountCode::suspense, 0), 500);  // owed to the payer, until an operator acts
  EXPECT_EQ(bal(AccountCode::clearing, 1), 2'000);
  expect_sound();
}

TEST_F(PaymentsTest, ForeignAmountIsRejected) {
  auto i = intent({Split{"order-a", OrgId{10}, 2'000, {}}});
  start(i);
  auto n = note(i, "TRADE_SUCCESS");
  n.amount = 1;
  auto r = tx([&](store::Tx& t) { return apply_notification(t, env_, Channel::card, n); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict, NotifyVerdict::rejected);
  EXPECT_EQ(notify(i, "TRADE_SUCCESS", Channel::qr), NotifyVerdict::rejected);
  EXPECT_EQ(bal(AccountCode::escrow, 0), 0);
}

TEST_F(PaymentsTest, WalletPaysAtOnceAndRefundsAtOnce) {
  auto t = topup(5'000);
  start(t, Channel::qr);
  ASSERT_EQ(notify(t, "TRADE_SUCCESS", Channel::qr), NotifyVerdict::applied);
  EXPECT_EQ(wallet_balance(*db_, UserId{1}, cny_).value(), 5'000);
  auto i = intent({Split{"order-w", OrgId{10}, 3'000, {}}});
  auto paid = tx([&](store::Tx& x) { return pay_with_wallet(x, env_, i.id, UserId{1}, {}); });
  ASSERT_TRUE(paid) << paid.error().detail;
  EXPECT_EQ(paid->status, IntentStatus::succeeded);
  EXPECT_EQ(wallet_balance(*db_, UserId{1}, cny_).value(), 2'000);
  auto big = intent({Split{"order-x", OrgId{10}, 3'000, {}}});
  auto r = tx([&](store::Tx& x) { return pay_with_wallet(x, env_, big.id, UserId{1}, {}); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::insufficient_funds);
  auto f = tx([&](store::Tx& x) { return refund(x, env_, "order-w", 3'000, "cancel", {}); });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, "succeeded");
  EXPECT_EQ(wallet_balance(*db_, UserId{1}, cny_).value(), 5'000);
  expect_sound();
}

TEST_F(PaymentsTest, ExpiryClosesOpenIntents) {
  auto i = intent({Split{"order-a", OrgId{10}, 2'000, {}}});
  clock_.advance_us(31LL * 60 * 1'000'000);
  EXPECT_EQ(tx([&](store::Tx& t) { return expire_intents(t, env_, 100); }).value(), 1);
  EXPECT_EQ(get_intent(*db_, i.id).value()->status, IntentStatus::expired);
  // A new intent for the same reference may be made now.
  auto j = intent({Split{"order-a", OrgId{10}, 2'000, {}}});
  EXPECT_EQ(j.status, IntentStatus::requires_payment);
}

// Random payments, duplicated and reordered notifications, releases and refunds: after every
// step the ledger is sound and money is conserved — what the channels owe us equals what is in
// escrow, merchant accounts, commission and wallets.
// Random payments, duplicated and reordered notifications, releases, refunds, refund answers,
// withdrawals, daily settlements with bank answers, expiries and restarts (the database closed
// and reopened): after every step the ledger is sound and money is conserved — what the
// channels owe us plus what custody holds equals what is owed to merchants, buyers and the
// platform.
TEST_F(PaymentsTest, RandomisedSequencesConserveMoney) {
  ASSERT_TRUE(set_business_timezone("Asia/Shanghai"));
  std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::vector<Intent> intents;
  std::vector<std::string> refs;
  int n_ref = 0;
  ASSERT_TRUE(tx([&](store::Tx& t) {
    return set_payout_account(t, env_, OrgId{10}, "ICBC", "A", "6222020200001234");
  }));
  ASSERT_TRUE(tx([&](store::Tx& t) {
    return set_payout_account(t, env_, OrgId{11}, "ABC", "B", "6228480000000004");  // bounces
  }));
  for (int step = 0; step < 400; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op == 0 || intents.empty()) {
      std::vector<Split> splits;
      int k = 1 + static_cast<int>(rng() % 3);
      for (int s = 0; s < k; ++s)
        splits.push_back(Split{"r" + std::to_string(++n_ref),
                               OrgId{10 + (s % 2)},
                               1 + static_cast<std::int64_t>(rng() % 100'000),
                               {}});
      intents.push_back(intent(splits));
      start(intents.back(), rng() % 2 ? Channel::card : Channel::qr);
      for (auto& s : splits) refs.push_back(s.reference);
    } else if (op <= 2) {
      auto& i = intents[rng() % intents.size()];
      const char* st[] = {"TRADE_SUCCESS", "TRADE_SUCCESS", "TRADE_CLOSED", "WAIT_BUYER_PAY"};
      auto fresh = get_intent(*db_, i.id).value().value();
      notify(fresh, st[rng() % 4], fresh.channel.value_or(Channel::card));
    } else if (op == 3) {
      auto& r = refs[rng() % refs.size()];
      (void)tx([&](store::Tx& t) { return release(t, env_, r, 30'000); });
    } else if (op == 4) {
      auto& r = refs[rng() % refs.size()];
      std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 60'000);
      (void)tx([&](store::Tx& t) { return refund(t, env_, r, amount, "random", {}); });
    } else if (op == 5) {
      // The channel answers a pending refund: accepted, or refused for good.
      auto pending = refunds_to_submit(*db_, 10).value();
      if (!pending.empty()) {
        const auto& f = pending[rng() % pending.size()];
        Result<GatewayRefund> answer =
            rng() % 4 ? Result<GatewayRefund>(GatewayRefund{"R" + std::to_string(f.id.value),
                                                            std::to_string(f.id.value),
                                                            "REFUND_SUCCESS", f.amount.minor})
                      : Result<GatewayRefund>(fail(Code::upstream_failure, "refused"));
        ASSERT_TRUE(
            tx([&](store::Tx& t) { return record_refund_answer(t, env_, f.id, answer, 1); }));
      }
    } else if (op == 6) {
      std::int64_t org = 10 + static_cast<std::int64_t>(rng() % 2);
      std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 50'000);
      (void)tx([&](store::Tx& t) {
        return request_withdrawal(t, env_, OrgId{org}, Money{amount, cny_}, UserId{2},
                                  rng() % 2 == 0, {});
      });
    } else if (op == 7) {
      // A day passes: settle yesterday, the bank answers every payout, reviews are decided.
      clock_.advance_us(24LL * 3'600'000'000);
      std::string day = business_date(clock_.now_us() - 24LL * 3'600'000'000);
      ASSERT_TRUE(tx([&](store::Tx& t) {
        return settle_day(t, env_, day, cny_, SettlementPolicy{20'000, 100});
      }));
      auto payouts = payouts_to_send(*db_, 100).value();
      for (const auto& p : payouts) {
        auto no = payout_account_number(*db_, env_, p.org).value();
        ASSERT_TRUE(tx([&](store::Tx& t) {
          return record_payout_answer(t, env_, p.id, simulated_bank_answer(p, no));
        }));
      }
      std::vector<PayoutId> held;
      (void)db_->query("SELECT id FROM pay_payouts WHERE status = 'in_review'", {},
                       [&](const store::Row& r) {
                         held.push_back(PayoutId{r.i64(0)});
                         return true;
                       });
      for (auto id : held)
        ASSERT_TRUE(
            tx([&](store::Tx& t) { return decide_withdrawal(t, env_, id, rng() % 2, "r"); }));
      (void)tx([&](store::Tx& t) { return expire_intents(t, env_, 100); });
    } else if (op == 8) {
      // A restart: the connection is closed and the file opened again.
      auto file = db_path_;
      db_.reset();
      db_ = std::move(store::open_sqlite(file, store::OpenMode::read_write).value());
    }
    ASSERT_NO_FATAL_FAILURE(expect_sound());
    std::int64_t assets = bal(AccountCode::clearing, 1) + bal(AccountCode::clearing, 3) +
                          bal(AccountCode::custody, 0);
    std::int64_t owed = bal(AccountCode::escrow, 0) + bal(AccountCode::commission, 0) +
                        bal(AccountCode::suspense, 0) + bal(AccountCode::payout_fees, 0);
    for (std::int64_t m : {10, 11}) {
      owed += bal(AccountCode::merchant_pending, m) + bal(AccountCode::merchant_available, m) +
              bal(AccountCode::merchant_reserve, m) + bal(AccountCode::merchant_in_transit, m) -
              bal(AccountCode::receivable, m);
    }
    ASSERT_EQ(assets, owed) << "step " << step;
  }
}

}  // namespace
}  // namespace jishi::pay
