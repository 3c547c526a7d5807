#include "pay/ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pay {
namespace {

using R = TransferResult;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("ledger"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
    usd_ = currency_from_code("USD").value();
  }

  void account(std::int64_t id, std::uint32_t flags = 0, Currency c = {}) {
    if (c.code[0] == 0) c = cny_;
    ASSERT_TRUE(create_account(*db_, clock_, {AccountId{id}, c, 1, std::nullopt, flags}));
  }

  std::vector<R> run(std::vector<TransferSpec> ts) {
    EXPECT_TRUE(db_->begin());
    auto r = create_transfers(*db_, clock_, ts);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    EXPECT_TRUE(db_->commit());
    return r.value_or(std::vector<R>{});
  }
  R one(TransferSpec t) { return run({std::move(t)}).at(0); }

  static TransferSpec single(std::int64_t id, std::int64_t d, std::int64_t c, std::int64_t amount) {
    TransferSpec t;
    t.id = TransferId{id};
    t.debit = AccountId{d};
    t.credit = AccountId{c};
    t.amount = amount;
    return t;
  }
  static TransferSpec pending(std::int64_t id, std::int64_t d, std::int64_t c, std::int64_t amount,
                              std::int64_t timeout_us = 0) {
    TransferSpec t = single(id, d, c, amount);
    t.kind = TransferKind::pending;
    t.timeout_us = timeout_us;
    return t;
  }
  static TransferSpec resolve(std::int64_t id, TransferKind kind, std::int64_t pending_id,
                              std::int64_t amount = 0) {
    TransferSpec t;
    t.id = TransferId{id};
    t.kind = kind;
    t.pending_id = TransferId{pending_id};
    t.amount = amount;
    return t;
  }
  Account acct(std::int64_t id) { return get_account(*db_, AccountId{id}).value().value(); }
  void expect_sound() {
    auto v = verify_ledger(*db_);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->has_value()) << **v;
  }

  ManualClock clock_{1'800'000'000'000'000};
  std::unique_ptr<store::Conn> db_;
  Currency cny_, usd_;
};

TEST_F(LedgerTest, SinglePhaseMovesPostedBalances) {
  account(1);
  account(2);
  EXPECT_EQ(one(single(10, 1, 2, 1999)), R::ok);
  EXPECT_EQ(acct(1).debits_posted, 1999);
  EXPECT_EQ(acct(2).credits_posted, 1999);
  expect_sound();
}

TEST_F(LedgerTest, TheSameIdIsIdempotentAndCannotBeReused) {
  account(1);
  account(2);
  EXPECT_EQ(one(single(10, 1, 2, 500)), R::ok);
  EXPECT_EQ(one(single(10, 1, 2, 500)), R::exists);  // a retry moves nothing
  EXPECT_EQ(acct(1).debits_posted, 500);
  EXPECT_EQ(one(single(10, 1, 2, 501)), R::exists_with_different_fields);
  expect_sound();
}

TEST_F(LedgerTest, FlagsBoundBalances) {
  account(1, account_flags::debits_must_not_exceed_credits);  // a wallet
  account(2);
  account(3, account_flags::credits_must_not_exceed_debits);
  EXPECT_EQ(one(single(10, 1, 2, 1)), R::exceeds_credits);
  EXPECT_EQ(one(single(11, 2, 1, 100)), R::ok);  // top up the wallet
  EXPECT_EQ(one(single(12, 1, 2, 100)), R::ok);
  EXPECT_EQ(one(single(13, 1, 2, 1)), R::exceeds_credits);
  EXPECT_EQ(one(single(14, 2, 3, 1)), R::exceeds_debits);
  expect_sound();
}

TEST_F(LedgerTest, RejectsBadTransfersWithoutMovingMoney) {
  account(1);
  account(2);
  account(3, 0, usd_);
  account(4, account_flags::closed);
  EXPECT_EQ(one(single(10, 1, 2, 0)), R::amount_must_be_positive);
  EXPECT_EQ(one(single(11, 1, 1, 5)), R::accounts_must_be_different);
  EXPECT_EQ(one(single(12, 9, 2, 5)), R::debit_account_not_found);
  EXPECT_EQ(one(single(13, 1, 9, 5)), R::credit_account_not_found);
  EXPECT_EQ(one(single(14, 1, 3, 5)), R::accounts_must_have_the_same_currency);
  EXPECT_EQ(one(single(15, 1, 4, 5)), R::credit_account_closed);
  EXPECT_EQ(one(single(16, 4, 1, 5)), R::debit_account_closed);
  EXPECT_EQ(one(single(17, 1, 2, INT64_MAX)), R::ok);
  EXPECT_EQ(one(single(18, 1, 2, 1)), R::overflows_balance);
  auto t = single(19, 1, 2, 5);
  t.timeout_us = 10;
  EXPECT_EQ(one(t), R::timeout_reserved_for_pending);
  expect_sound();
}

TEST_F(LedgerTest, TwoPhasePostsInPartAndOnlyOnce) {
  account(1);
  account(2);
  EXPECT_EQ(one(pending(10, 1, 2, 1000)), R::ok);
  EXPECT_EQ(acct(1).debits_pending, 1000);
  EXPECT_EQ(one(resolve(11, TransferKind::post_pending, 10, 1001)),
            R::exceeds_pending_transfer_amount);
  EXPECT_EQ(one(resolve(12, TransferKind::post_pending, 10, 600)), R::ok);
  EXPECT_EQ(acct(1).debits_pending, 0);
  EXPECT_EQ(acct(1).debits_posted, 600);  // the rest goes back
  EXPECT_EQ(acct(2).credits_posted, 600);
  EXPECT_EQ(one(resolve(13, TransferKind::post_pending, 10)), R::pending_transfer_already_posted);
  EXPECT_EQ(one(resolve(14, TransferKind::void_pending, 10)), R::pending_transfer_already_posted);
  EXPECT_EQ(one(resolve(12, TransferKind::post_pending, 10, 600)), R::exists);
  EXPECT_EQ(one(resolve(15, TransferKind::post_pending, 99)), R::pending_transfer_not_found);
  EXPECT_EQ(one(single(16, 1, 2, 5)), R::ok);
  EXPECT_EQ(one(resolve(17, TransferKind::void_pending, 16)), R::pending_transfer_not_pending);
  expect_sound();
}

TEST_F(LedgerTest, VoidAndExpiryReleaseTheReservation) {
  account(1, account_flags::debits_must_not_exceed_credits);
  account(2);
  EXPECT_EQ(one(single(1, 2, 1, 100)), R::ok);
  EXPECT_EQ(one(pending(10, 1, 2, 100)), R::ok);
  EXPECT_EQ(one(pending(11, 1, 2, 1)), R::exceeds_credits);  // reserved money is not spendable
  EXPECT_EQ(one(resolve(12, TransferKind::void_pending, 10)), R::ok);
  EXPECT_EQ(one(pending(13, 1, 2, 100, 60'000'000)), R::ok);
  clock_.advance_us(60'000'001);
  EXPECT_EQ(one(resolve(14, TransferKind::post_pending, 13)), R::pending_transfer_expired);
  IdGenerator ids(clock_, 1);
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(expire_pending(*db_, clock_, ids, 100).value(), 1);
  ASSERT_TRUE(db_->commit());
  EXPECT_EQ(acct(1).debits_pending, 0);
  EXPECT_EQ(acct(1).debits_posted, 0);
  EXPECT_EQ(one(resolve(15, TransferKind::void_pending, 13)), R::pending_transfer_expired);
  expect_sound();
}

TEST_F(LedgerTest, LinkedTransfersSucceedOrFailTogether) {
  account(1);
  account(2);
  account(3, account_flags::debits_must_not_exceed_credits);
  auto a = single(10, 1, 2, 100);
  a.linked = true;
  auto b = single(11, 3, 2, 5);  // fails: account 3 has no credits
  auto results = run({a, b, single(12, 1, 2, 7)});
  EXPECT_EQ(results, (std::vector<R>{R::linked_event_failed, R::exceeds_credits, R::ok}));
  EXPECT_EQ(acct(1).debits_posted, 7);  // the first transfer was undone
  auto open = single(20, 1, 2, 1);
  open.linked = true;
  EXPECT_EQ(run({open}), (std::vector<R>{R::linked_event_chain_open}));
  expect_sound();
}

TEST_F(LedgerTest, VerifyNamesTheFirstViolation) {
  account(1);
  account(2);
  EXPECT_EQ(one(single(10, 1, 2, 100)), R::ok);
  ASSERT_TRUE(db_->exec("UPDATE ledger_accounts SET credits_posted = 99 WHERE id = 2"));
  auto v = verify_ledger(*db_).value();
  ASSERT_TRUE(v);
  EXPECT_NE(v->find("CNY"), std::string::npos);
  // Balanced totals, but neither account matches its transfers any more.
  ASSERT_TRUE(db_->exec("UPDATE ledger_accounts SET credits_posted = 150 WHERE id = 2"));
  ASSERT_TRUE(db_->exec("UPDATE ledger_accounts SET debits_posted = 150 WHERE id = 1"));
  v = verify_ledger(*db_).value();
  ASSERT_TRUE(v);
  EXPECT_NE(v->find("sum of its transfers"), std::string::npos);
}

// Random sequences of every kind of transfer, with retries, chains and expiries: after every
// step the ledger verifies and money is conserved. The seed is printed to reproduce a failure.
TEST_F(LedgerTest, RandomisedSequencesKeepTheInvariants) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 1; i <= 8; ++i)
    account(i, i <= 3 ? account_flags::debits_must_not_exceed_credits : 0, i == 8 ? usd_ : cny_);
  IdGenerator ids(clock_, 2);
  std::vector<std::int64_t> pendings;
  std::int64_t next_id = 1000;
  std::vector<TransferSpec> history;
  for (int step = 0; step < 400; ++step) {
    std::vector<TransferSpec> batch;
    int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      TransferSpec t;
      int what = static_cast<int>(rng() % 10);
      if (what < 4) {
        t = single(next_id++, 1 + rng() % 8, 1 + rng() % 8, static_cast<std::int64_t>(rng() % 500));
      } else if (what < 6) {
        t = pending(next_id++, 1 + rng() % 8, 1 + rng() % 8, static_cast<std::int64_t>(rng() % 500),
                    rng() % 2 ? 0 : static_cast<std::int64_t>(rng() % 10'000'000));
        pendings.push_back(t.id.value);
      } else if (what < 8 && !pendings.empty()) {
        t = resolve(next_id++, rng() % 2 ? TransferKind::post_pending : TransferKind::void_pending,
                    pendings[rng() % pendings.size()], static_cast<std::int64_t>(rng() % 300));
      } else if (!history.empty()) {
        t = history[rng() % history.size()];  // a retry, maybe with another field
        if (rng() % 2) t.amount += 1;
        t.linked = false;
      } else {
        t = single(next_id++, 1, 4, 1);
      }
      t.linked = k + 1 < n && rng() % 3 == 0;
      batch.push_back(t);
    }
    run(batch);
    for (const auto& t : batch) history.push_back(t);
    clock_.advance_us(static_cast<std::int64_t>(rng() % 3'000'000));
    if (step % 10 == 0) {
      ASSERT_TRUE(db_->begin());
      ASSERT_TRUE(expire_pending(*db_, clock_, ids, 1000));
      ASSERT_TRUE(db_->commit());
    }
    auto v = verify_ledger(*db_);
    ASSERT_TRUE(v);
    ASSERT_FALSE(v->has_value()) << "step " << step << ": " << **v;
  }
}

}  // namespace
}  // namespace jishi::pay
