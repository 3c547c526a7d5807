#include "pay/settlement.h"

#include <gtest/gtest.h>

#include "core/local_time.h"
#include "pay/chart.h"
#include "pay/ledger.h"
#include "pay/payments.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pay {
namespace {

class SettlementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(set_business_timezone("Asia/Shanghai"));
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("settlement"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
    auto r = db_->exec_script(
        "INSERT INTO users (id, email, display_name, password_hash, status, created_at_us, "
        "updated_at_us) VALUES (1, 'b@x', 'buyer', 'x', 'active', 0, 0); INSERT INTO orgs (id, "
        "kind, name, status, created_by, created_at_us, updated_at_us) VALUES (10, 'merchant', "
        "'Shop \"A\"', 'approved', 1, 0, 0), (11, 'merchant', 'Shop B', 'approved', 1, 0, 0)");
    ASSERT_TRUE(r) << r.error().detail;
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

  // A card payment of `amount` to `org`, captured and released at 0% commission.
  void sale(std::int64_t org, std::int64_t amount) {
    std::string ref = "o" + std::to_string(++seq_);
    NewIntent n;
    n.payer = UserId{1};
    n.reference = ref;
    n.amount = Money{amount, cny_};
    n.splits = {Split{ref, OrgId{org}, amount, {}}};
    n.ttl_us = 3'600'000'000;
    auto i = tx([&](store::Tx& t) { return create_intent(t, env_, n); }).value();
    Notification note;
    note.out_trade_no = std::to_string(i.id.value);
    note.trade_status = "TRADE_SUCCESS";
    note.amount = amount;
    note.currency = "CNY";
    ASSERT_TRUE(tx([&](store::Tx& t) { return apply_notification(t, env_, Channel::card, note); }));
    ASSERT_TRUE(tx([&](store::Tx& t) { return release(t, env_, ref, 0); }));
  }

  MerchantBalances balances(std::int64_t org) {
    return merchant_balances(*db_, OrgId{org}, cny_).value();
  }

  std::unique_ptr<store::Conn> db_;
  Currency cny_;
  // 2026-11-28T10:00:00+08:00
  ManualClock clock_{1'795'824'000'000'000 + 2LL * 3'600'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  int seq_ = 0;
};

TEST_F(SettlementTest, DailyBatchNetOfReserveFeeAndReceivableThenBankAnswers) {
  sale(10, 100'000);
  sale(11, 50'000);
  SettlementPolicy policy{10'000, 200};  // 1% reserve, 2 yuan per payout
  auto early = tx([&](store::Tx& t) { return settle_day(t, env_, "2026-11-28", cny_, policy); });
  ASSERT_FALSE(early);  // the day is not over
  EXPECT_EQ(early.error().code, Code::invalid_state);

  clock_.advance_us(15LL * 3'600'000'000);  // 01:00 the next day
  sale(10, 7'000);                          // after the cut-off: next day's batch
  ASSERT_TRUE(tx([&](store::Tx& t) {
    return set_payout_account(t, env_, OrgId{10}, "ICBC", "Shop A", "6222020200001234");
  }));
  ASSERT_TRUE(tx([&](store::Tx& t) {
    return set_payout_account(t, env_, OrgId{11}, "ABC", "Shop B", "6228480000000004");
  }));
  auto run = tx([&](store::Tx& t) { return settle_day(t, env_, "2026-11-28", cny_, policy); });
  ASSERT_TRUE(run) << run.error().detail;
  ASSERT_EQ(run->created.size(), 2u);
  const auto& a = run->created[0];
  EXPECT_EQ(a.org, OrgId{10});
  EXPECT_EQ(a.eligible, 100'000);
  EXPECT_EQ(a.reserve, 1'000);
  EXPECT_EQ(a.fee, 200);
  EXPECT_EQ(a.net, 98'800);
  EXPECT_EQ(balances(10).available, 7'000);  // only what came after the cut-off
  EXPECT_EQ(balances(10).in_transit, 98'800);
  EXPECT_EQ(balances(10).reserve, 1'000);

  auto again = tx([&](store::Tx& t) { return settle_day(t, env_, "2026-11-28", cny_, policy); });
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->created.empty());
  EXPECT_EQ(again->existing, 2);

  auto file = settlement_file(*db_, "2026-11-28").value();
  EXPECT_NE(file.find("\"Shop \"\"A\"\"\""), std::string::npos) << file;
  EXPECT_NE(file.find(",98800,"), std::string::npos);
  EXPECT_NE(file.find(",1234\n"), std::string::npos);

  // The bank pays shop A and bounces shop B (a closed account): B's money is available again.
  auto payouts = payouts_to_send(*db_, 10).value();
  ASSERT_EQ(payouts.size(), 2u);
  for (const auto& p : payouts) {
    auto no = payout_account_number(*db_, env_, p.org).value();
    auto answer = simulated_bank_answer(p, no);
    ASSERT_TRUE(tx([&](store::Tx& t) { return record_payout_answer(t, env_, p.id, answer); }));
    ASSERT_TRUE(tx([&](store::Tx& t) { return record_payout_answer(t, env_, p.id, answer); }));
  }
  EXPECT_EQ(balances(10).in_transit, 0);
  EXPECT_EQ(balance_of(*db_, AccountCode::custody, 0, cny_).value().posted, -98'800);
  EXPECT_EQ(get_payout(*db_, payouts[1].id).value()->status, "bounced");
  EXPECT_EQ(balances(11).available, 50'000 - 500 - 200);
  EXPECT_EQ(balances(11).in_transit, 0);
  auto v = verify_ledger(*db_);
  ASSERT_TRUE(v);
  EXPECT_FALSE(*v);
}

TEST_F(SettlementTest, ReceivableIsRepaidFirstAndWithdrawalsNeedFunds) {
  sale(10, 10'000);
  // Everything withdrawn, then a refund after release leaves a receivable of 4,000.
  ASSERT_TRUE(tx([&](store::Tx& t) {
    return set_payout_account(t, env_, OrgId{10}, "ICBC", "Shop A", "6222020200001234");
  }));
  auto w = tx([&](store::Tx& t) {
    return request_withdrawal(t, env_, OrgId{10}, Money{10'000, cny_}, UserId{1}, false, {});
  });
  ASSERT_TRUE(w) << w.error().detail;
  auto over = tx([&](store::Tx& t) {
    return request_withdrawal(t, env_, OrgId{10}, Money{1, cny_}, UserId{1}, false, {});
  });
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Code::insufficient_funds);
  ASSERT_TRUE(tx([&](store::Tx& t) { return refund(t, env_, "o1", 4'000, "return", {}); }));
  EXPECT_EQ(balances(10).receivable, 4'000);
  sale(10, 6'000);
  clock_.advance_us(24LL * 3'600'000'000);
  auto run = tx([&](store::Tx& t) { return settle_day(t, env_, "2026-11-28", cny_, {}); });
  ASSERT_TRUE(run) << run.error().detail;
  ASSERT_EQ(run->created.size(), 1u);
  EXPECT_EQ(run->created[0].receivable_offset, 4'000);
  EXPECT_EQ(run->created[0].net, 2'000);
  EXPECT_EQ(balances(10).receivable, 0);
  // A withdrawal rejected in review returns its money.
  sale(10, 3'000);
  auto r = tx([&](store::Tx& t) {
    return request_withdrawal(t, env_, OrgId{10}, Money{3'000, cny_}, UserId{1}, true, {});
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(balances(10).available, 0);
  ASSERT_TRUE(tx([&](store::Tx& t) { return decide_withdrawal(t, env_, r->id, false, "fraud"); }));
  EXPECT_EQ(balances(10).available, 3'000);
  ASSERT_FALSE(tx([&](store::Tx& t) { return decide_withdrawal(t, env_, r->id, true, ""); }));
  auto v = verify_ledger(*db_);
  ASSERT_TRUE(v);
  EXPECT_FALSE(*v);
}

}  // namespace
}  // namespace jishi::pay
