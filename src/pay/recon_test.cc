#include "pay/recon.h"

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

constexpr std::int64_t kHour = 3'600'000'000;
// 2026-11-28T00:00:00+08:00
constexpr std::int64_t kDay = 1'795'824'000'000'000 - 8 * kHour;

class ReconTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(set_business_timezone("Asia/Shanghai"));
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("recon"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
    auto r = db_->exec_script(
        "INSERT INTO users (id, email, display_name, password_hash, status, created_at_us, "
        "updated_at_us) VALUES (1, 'b@x', 'buyer', 'x', 'active', 0, 0); INSERT INTO orgs (id, "
        "kind, name, status, created_by, created_at_us, updated_at_us) VALUES (10, 'merchant', "
        "'Shop A', 'approved', 1, 0, 0)");
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

  // A card payment captured at `at`, with the fee the notification reported.
  std::string pay(std::int64_t amount, std::int64_t fee, std::int64_t at) {
    clock_.set_us(at);
    std::string ref = "o" + std::to_string(++seq_);
    NewIntent n;
    n.payer = UserId{1};
    n.reference = ref;
    n.amount = Money{amount, cny_};
    n.splits = {Split{ref, OrgId{10}, amount, {}}};
    n.ttl_us = kHour;
    auto i = tx([&](store::Tx& t) { return create_intent(t, env_, n); }).value();
    GatewayTrade trade;
    trade.trade_no = "T" + ref;
    trade.out_trade_no = std::to_string(i.id.value);
    trade.amount = amount;
    EXPECT_TRUE(tx([&](store::Tx& t) {
      return start_channel_payment(t, env_, i.id, UserId{1}, Channel::card, trade, {});
    }));
    Notification note;
    note.trade_no = trade.trade_no;
    note.out_trade_no = trade.out_trade_no;
    note.trade_status = "TRADE_SUCCESS";
    note.amount = amount;
    note.currency = "CNY";
    note.fee = fee;
    note.paid_at_us = at;
    EXPECT_TRUE(tx([&](store::Tx& t) { return apply_notification(t, env_, Channel::card, note); }));
    ids_of_[ref] = trade.out_trade_no;
    return ref;
  }

  std::string line(const std::string& ref, std::string type, std::int64_t amount, std::int64_t fee,
                   std::int64_t at, std::string trade_no = "") {
    if (trade_no.empty()) trade_no = "T" + ref;
    return trade_no + "," + ids_of_[ref] + "," + type + "," + std::to_string(amount) + "," +
           std::to_string(fee) + ",CNY,SUCCESS," + format_rfc3339(at) + "\n";
  }

  std::unique_ptr<store::Conn> db_;
  Currency cny_;
  ManualClock clock_{kDay};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  std::map<std::string, std::string> ids_of_;
  int seq_ = 0;
};

constexpr const char* kHeader =
    "trade_no,out_trade_no,type,amount,fee,currency,status,finished_at\n";

TEST_F(ReconTest, EveryKindOfDiscrepancyIsFoundExactly) {
  auto matched = pay(10'000, 60, kDay + 2 * kHour);
  auto dropped = pay(20'000, 120, kDay + 3 * kHour);       // the channel lost it
  auto amount = pay(30'000, 180, kDay + 4 * kHour);        // the channel has another amount
  auto fee = pay(40'000, 240, kDay + 5 * kHour);           // the channel charged another fee
  auto shifted = pay(50'000, 300, kDay + 24 * kHour - 1);  // the channel booked it after midnight
  auto early = pay(5'000, 30, kDay - 1);  // ours the day before; on the channel's day
  // A refund the gateway confirmed.
  clock_.set_us(kDay + 6 * kHour);
  auto f = tx([&](store::Tx& t) { return refund(t, env_, matched, 1'000, "partial", {}); }).value();
  GatewayRefund gr{"R1", std::to_string(f.id.value), "REFUND_SUCCESS", 1'000};
  ASSERT_TRUE(tx([&](store::Tx& t) { return record_refund_answer(t, env_, f.id, gr, 5); }));

  std::string day = kHeader;
  day += line(matched, "payment", 10'000, 60, kDay + 2 * kHour);
  day += line(amount, "payment", 29'000, 174, kDay + 4 * kHour);
  day += line(fee, "payment", 40'000, 250, kDay + 5 * kHour);
  day += line(early, "payment", 5'000, 30, kDay + 1);
  day += "TX999,999999,payment,7000,42,CNY,SUCCESS," + format_rfc3339(kDay + 7 * kHour) + "\n";
  day += "R1," + std::to_string(f.id.value) + ",refund,1000,0,CNY,SUCCESS," +
         format_rfc3339(kDay + 6 * kHour) + "\n";
  std::string next = kHeader;
  next += line(shifted, "payment", 50'000, 300, kDay + 24 * kHour + 1);

  clock_.set_us(kDay + 30 * kHour);
  auto run = tx([&](store::Tx& t) {
    return reconcile(t, env_, Channel::card, "2026-11-28",
                     {{"2026-11-28", day}, {"2026-11-29", next}});
  });
  ASSERT_TRUE(run) << run.error().detail;
  EXPECT_EQ(run->counts["matched"], 2);  // the payment and its refund
  EXPECT_EQ(run->counts["cutoff"], 2);   // early (theirs today, ours yesterday) and shifted
  EXPECT_EQ(run->counts["channel_only"], 1);
  EXPECT_EQ(run->counts["platform_only"], 1);
  EXPECT_EQ(run->counts["amount_mismatch"], 1);
  EXPECT_EQ(run->counts["fee_mismatch"], 1);
  EXPECT_EQ(run->differences, 4);

  auto diffs = list_recon_items(*db_, run->id, "differences", 0, 100).value();
  ASSERT_EQ(diffs.items.size(), 4u);
  for (const auto& item : diffs.items) {
    auto r = tx([&](store::Tx& t) { return resolve_item(t, env_, item.id, UserId{1}, "checked"); });
    ASSERT_TRUE(r) << item.kind << ": " << r.error().detail;
    auto again = tx([&](store::Tx& t) { return resolve_item(t, env_, item.id, UserId{1}, "x"); });
    ASSERT_FALSE(again);
  }
  // Clearing now says what the channel still owes once corrected: the movements the statement
  // did not settle (29,000 + 40,000 + 7,000); matched and cutoff ones went to custody net of fees.
  EXPECT_EQ(balance_of(*db_, AccountCode::clearing, 1, cny_).value().posted, 76'000);
  EXPECT_EQ(balance_of(*db_, AccountCode::custody, 0, cny_).value().posted,
            9'940 - 1'000 + 4'970 + 49'700);
  EXPECT_EQ(balance_of(*db_, AccountCode::channel_fees, 0, cny_).value().posted,
            60 + 30 + 300 + 10);
  // A second run of the day books no settlement twice and cannot correct a difference again.
  auto rerun = tx([&](store::Tx& t) {
    return reconcile(t, env_, Channel::card, "2026-11-28",
                     {{"2026-11-28", day}, {"2026-11-29", next}});
  });
  ASSERT_TRUE(rerun);
  EXPECT_EQ(balance_of(*db_, AccountCode::clearing, 1, cny_).value().posted, 76'000);
  auto diffs2 = list_recon_items(*db_, rerun->id, "differences", 0, 100).value();
  ASSERT_EQ(diffs2.items.size(), 4u);
  auto twice = tx(
      [&](store::Tx& t) { return resolve_item(t, env_, diffs2.items[0].id, UserId{1}, "again"); });
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Code::invalid_state);
  auto v = verify_ledger(*db_);
  ASSERT_TRUE(v);
  EXPECT_FALSE(*v);
  (void)dropped;
}

TEST_F(ReconTest, MalformedStatementsAreRefused) {
  EXPECT_FALSE(parse_statement(""));
  EXPECT_FALSE(parse_statement("a,b,c\n"));
  EXPECT_FALSE(parse_statement(std::string(kHeader) + "T1,1,payment,12.5,0,CNY,SUCCESS,x\n"));
  EXPECT_FALSE(parse_statement(std::string(kHeader) + "T1,1,gift,1,0,CNY,SUCCESS," +
                               format_rfc3339(kDay) + "\n"));
  auto ok = parse_statement(std::string(kHeader) + "T1,1,payment,1,0,CNY,SUCCESS," +
                            format_rfc3339(kDay) + "\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 1u);
}

}  // namespace
}  // namespace jishi::pay
