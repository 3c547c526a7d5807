#include "pay/ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pay {
namespace {

using R = TransferResult;

// The ledger's rules (ledger.h) written again as naively as possible: maps, and a whole copy
// of the state around each linked chain. The ledger applies spans in memory with an undo log
// and writes once; this model is what it must agree with, transfer by transfer.
class Model {
 public:
  struct Balances {
    Currency currency;
    std::uint32_t flags = 0;
    std::int64_t debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0;
  };
  struct Stored {
    std::string kind;  // as ledger_transfers.kind
    std::int64_t debit = 0, credit = 0, amount = 0, pending_id = 0, timeout_us = 0;
    std::int32_t code = 0;
    std::string reference;
    std::string status;  // pending transfers: pending | posted | voided | expired
    std::int64_t expires_at_us = 0;
  };
  std::map<std::int64_t, Balances> accounts;
  std::map<std::int64_t, Stored> transfers;

  std::vector<R> apply(const std::vector<TransferSpec>& ts, std::int64_t now) {
    std::vector<R> out(ts.size(), R::ok);
    std::size_t i = 0;
    while (i < ts.size()) {
      std::size_t end = i;
      while (end < ts.size() && ts[end].linked) ++end;
      if (end == ts.size()) {
        for (std::size_t k = i; k < ts.size(); ++k)
          out[k] = k + 1 == ts.size() ? R::linked_event_chain_open : R::linked_event_failed;
        break;
      }
      auto saved_accounts = accounts;
      auto saved_transfers = transfers;
      for (std::size_t k = i; k <= end; ++k) {
        out[k] = one(ts[k], now);
        if (out[k] == R::ok || out[k] == R::exists) continue;
        accounts = saved_accounts;
        transfers = saved_transfers;
        for (std::size_t j = i; j <= end; ++j)
          if (j != k) out[j] = R::linked_event_failed;
        break;
      }
      i = end + 1;
    }
    return out;
  }

  void expire(std::int64_t now) {
    std::int64_t n = 0;
    for (auto& [id, t] : transfers)
      if (t.kind == "pending" && t.status == "pending" && t.expires_at_us > 0 &&
          t.expires_at_us <= now) {
        release(t, 0);
        t.status = "expired";
        ++n;
      }
    expired += n;
  }
  std::int64_t expired = 0;

 private:
  static std::string kind_text(TransferKind k) {
    switch (k) {
      case TransferKind::single:
        return "single";
      case TransferKind::pending:
        return "pending";
      case TransferKind::post_pending:
        return "post_pending";
      case TransferKind::void_pending:
        return "void_pending";
    }
    return "";
  }
  static R bound_failure(const Balances& d, const Balances& c) {
    std::int64_t sum = 0;
    if (d.flags & account_flags::debits_must_not_exceed_credits) {
      if (__builtin_add_overflow(d.debits_posted, d.debits_pending, &sum))
        return R::overflows_balance;
      if (sum > d.credits_posted) return R::exceeds_credits;
    }
    if (c.flags & account_flags::credits_must_not_exceed_debits) {
      if (__builtin_add_overflow(c.credits_posted, c.credits_pending, &sum))
        return R::overflows_balance;
      if (sum > c.debits_posted) return R::exceeds_debits;
    }
    return R::ok;
  }
  void release(const Stored& p, std::int64_t posted) {
    auto& d = accounts[p.debit];
    auto& c = accounts[p.credit];
    d.debits_pending -= p.amount;
    c.credits_pending -= p.amount;
    d.debits_posted += posted;
    c.credits_posted += posted;
  }

  R one(const TransferSpec& t, std::int64_t now) {
    if (!t.id) return R::invalid_kind_fields;
    if (auto it = transfers.find(t.id.value); it != transfers.end()) {
      const Stored& s = it->second;
      bool same = s.kind == kind_text(t.kind) && s.code == t.code && s.reference == t.reference &&
                  s.timeout_us == t.timeout_us &&
                  s.pending_id == (t.pending_id ? t.pending_id->value : 0);
      if (t.kind == TransferKind::single || t.kind == TransferKind::pending)
        same =
            same && s.debit == t.debit.value && s.credit == t.credit.value && s.amount == t.amount;
      else
        same = same && (!t.debit || s.debit == t.debit.value) &&
               (!t.credit || s.credit == t.credit.value) && (t.amount == 0 || s.amount == t.amount);
      return same ? R::exists : R::exists_with_different_fields;
    }
    Stored x{kind_text(t.kind),
             t.debit.value,
             t.credit.value,
             t.amount,
             t.pending_id ? t.pending_id->value : 0,
             t.timeout_us,
             t.code,
             t.reference,
             "",
             0};
    if (t.kind == TransferKind::single || t.kind == TransferKind::pending) {
      if (t.pending_id) return R::invalid_kind_fields;
      if (t.amount <= 0) return R::amount_must_be_positive;
      if (t.debit == t.credit) return R::accounts_must_be_different;
      if (t.timeout_us != 0 && t.kind != TransferKind::pending)
        return R::timeout_reserved_for_pending;
      if (t.timeout_us < 0) return R::invalid_kind_fields;
      if (!accounts.contains(t.debit.value)) return R::debit_account_not_found;
      if (!accounts.contains(t.credit.value)) return R::credit_account_not_found;
      Balances d = accounts[t.debit.value], c = accounts[t.credit.value];
      if (!(d.currency == c.currency)) return R::accounts_must_have_the_same_currency;
      if (d.flags & account_flags::closed) return R::debit_account_closed;
      if (c.flags & account_flags::closed) return R::credit_account_closed;
      bool pend = t.kind == TransferKind::pending;
      std::int64_t& dv = pend ? d.debits_pending : d.debits_posted;
      std::int64_t& cv = pend ? c.credits_pending : c.credits_posted;
      if (__builtin_add_overflow(dv, t.amount, &dv) || __builtin_add_overflow(cv, t.amount, &cv))
        return R::overflows_balance;
      if (auto b = bound_failure(d, c); b != R::ok) return b;
      accounts[t.debit.value] = d;
      accounts[t.credit.value] = c;
      if (pend) {
        x.status = "pending";
        x.expires_at_us = t.timeout_us ? now + t.timeout_us : 0;
      }
      transfers[t.id.value] = x;
      return R::ok;
    }
    if (!t.pending_id || t.timeout_us != 0) return R::invalid_kind_fields;
    auto it = transfers.find(t.pending_id->value);
    if (it == transfers.end()) return R::pending_transfer_not_found;
    Stored& p = it->second;
    if (p.kind != "pending") return R::pending_transfer_not_pending;
    if ((t.debit && t.debit.value != p.debit) || (t.credit && t.credit.value != p.credit))
      return R::invalid_kind_fields;
    if (p.status == "posted") return R::pending_transfer_already_posted;
    if (p.status == "voided") return R::pending_transfer_already_voided;
    if (p.status == "expired" || (p.expires_at_us != 0 && p.expires_at_us <= now))
      return R::pending_transfer_expired;
    bool post = t.kind == TransferKind::post_pending;
    std::int64_t posted = 0;
    if (post) {
      posted = t.amount == 0 ? p.amount : t.amount;
      if (posted < 0) return R::amount_must_be_positive;
      if (posted > p.amount) return R::exceeds_pending_transfer_amount;
    } else if (t.amount != 0 && t.amount != p.amount) {
      return R::exceeds_pending_transfer_amount;
    }
    Balances d = accounts[p.debit], c = accounts[p.credit];
    d.debits_pending -= p.amount;
    c.credits_pending -= p.amount;
    if (__builtin_add_overflow(d.debits_posted, posted, &d.debits_posted) ||
        __builtin_add_overflow(c.credits_posted, posted, &c.credits_posted))
      return R::overflows_balance;
    if (auto b = bound_failure(d, c); b != R::ok) return b;
    accounts[p.debit] = d;
    accounts[p.credit] = c;
    p.status = post ? "posted" : "voided";
    x.debit = p.debit;
    x.credit = p.credit;
    x.amount = post ? posted : p.amount;
    transfers[t.id.value] = x;
    return R::ok;
  }
};

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

// verify_ledger sums transfers per account in one scan (no index by account): a pending
// balance must equal the open pending transfers, and a posted pending counts no more.
TEST_F(LedgerTest, VerifyComparesPendingBalancesWithOpenPendings) {
  account(1);
  account(2);
  EXPECT_EQ(one(pending(10, 1, 2, 50)), R::ok);
  EXPECT_EQ(one(pending(11, 1, 2, 70)), R::ok);
  EXPECT_EQ(one(resolve(12, TransferKind::post_pending, 11)), R::ok);
  expect_sound();
  // Balanced totals, but account 1 claims the posted pending is still reserved.
  ASSERT_TRUE(db_->exec("UPDATE ledger_accounts SET debits_pending = 120 WHERE id = 1"));
  ASSERT_TRUE(db_->exec("UPDATE ledger_accounts SET credits_pending = 120 WHERE id = 2"));
  auto v = verify_ledger(*db_).value();
  ASSERT_TRUE(v);
  EXPECT_NE(v->find("account 1 balances differ"), std::string::npos) << *v;
}

TEST_F(LedgerTest, APendingTransferCanBePostedInTheSameCall) {
  account(1);
  account(2);
  auto results = run({pending(10, 1, 2, 300), resolve(11, TransferKind::post_pending, 10, 200),
                      resolve(12, TransferKind::void_pending, 10)});
  EXPECT_EQ(results, (std::vector<R>{R::ok, R::ok, R::pending_transfer_already_posted}));
  EXPECT_EQ(acct(1).debits_pending, 0);
  EXPECT_EQ(acct(1).debits_posted, 200);
  EXPECT_EQ(acct(2).credits_posted, 200);
  EXPECT_EQ(one(resolve(13, TransferKind::void_pending, 10)), R::pending_transfer_already_posted);
  expect_sound();
}

TEST_F(LedgerTest, AFailedChainUndoesEverythingItDidInTheCall) {
  account(1);
  account(2);
  account(3, account_flags::debits_must_not_exceed_credits);
  auto p = pending(10, 1, 2, 300);
  p.linked = true;
  auto post = resolve(11, TransferKind::post_pending, 10);
  post.linked = true;
  auto s = single(12, 1, 2, 5);
  s.linked = true;
  auto results = run({p, post, s, single(13, 3, 2, 1),  // the last one fails: no credits
                      resolve(14, TransferKind::post_pending, 10), single(12, 1, 2, 6)});
  EXPECT_EQ(results,
            (std::vector<R>{R::linked_event_failed, R::linked_event_failed, R::linked_event_failed,
                            R::exceeds_credits, R::pending_transfer_not_found, R::ok}));
  EXPECT_EQ(acct(1).debits_pending, 0);
  EXPECT_EQ(acct(1).debits_posted, 6);          // only the re-used id 12 moved money
  EXPECT_EQ(one(pending(10, 1, 2, 7)), R::ok);  // ids of an undone chain are free again
  expect_sound();
}

TEST_F(LedgerTest, ARepeatedIdInOneCallIsAnIdempotentRetry) {
  account(1);
  account(2);
  EXPECT_EQ(run({single(10, 1, 2, 5), single(10, 1, 2, 5), single(10, 1, 2, 6)}),
            (std::vector<R>{R::ok, R::exists, R::exists_with_different_fields}));
  EXPECT_EQ(acct(1).debits_posted, 5);
  expect_sound();
}

// Spans longer than one multi-row statement, retried whole: every transfer is applied once.
TEST_F(LedgerTest, LongSpansApplyEveryTransferOnce) {
  for (int i = 1; i <= 40; ++i) account(i);
  std::vector<TransferSpec> span;
  for (int k = 0; k < 203; ++k) {
    std::int64_t d = 1 + k % 40, c = 1 + (k * 7 + 1) % 40;
    if (d == c) c = d % 40 + 1;
    span.push_back(k % 3 == 0 ? pending(1000 + k, d, c, 1 + k) : single(1000 + k, d, c, 1 + k));
  }
  for (auto r : run(span)) EXPECT_EQ(r, R::ok);
  for (auto r : run(span)) EXPECT_EQ(r, R::exists);
  std::vector<TransferSpec> posts;
  for (int k = 0; k < 203; k += 3)
    posts.push_back(resolve(5000 + k, TransferKind::post_pending, 1000 + k));
  for (auto r : run(posts)) EXPECT_EQ(r, R::ok);
  std::int64_t debits = 0;
  for (int i = 1; i <= 40; ++i) {
    EXPECT_EQ(acct(i).debits_pending, 0);
    debits += acct(i).debits_posted;
  }
  EXPECT_EQ(debits, 203 * 204 / 2);
  expect_sound();
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

// The same random sequences, longer spans (past one multi-row statement), checked against the
// naive Model: every result, every balance, every expiry count, after every step.
TEST_F(LedgerTest, RandomisedSpansAgreeWithANaiveModel) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  Model model;
  constexpr int kAccounts = 12;
  for (int i = 1; i <= kAccounts; ++i) {
    std::uint32_t flags = i <= 3   ? account_flags::debits_must_not_exceed_credits
                          : i == 4 ? account_flags::credits_must_not_exceed_debits
                          : i == 5 ? account_flags::closed
                                   : 0;
    Currency c = i == kAccounts ? usd_ : cny_;
    account(i, flags, c);
    model.accounts[i] = Model::Balances{c, flags};
  }
  IdGenerator ids(clock_, 3);
  std::vector<std::int64_t> pendings;
  std::vector<TransferSpec> history;
  std::int64_t next_id = 1000;
  auto any_account = [&] { return static_cast<std::int64_t>(1 + rng() % (kAccounts + 1)); };
  for (int step = 0; step < 150; ++step) {
    std::size_t n = rng() % 10 == 0 ? 60 + rng() % 140 : 1 + rng() % 6;
    std::vector<TransferSpec> batch;
    for (std::size_t k = 0; k < n; ++k) {
      TransferSpec t;
      int what = static_cast<int>(rng() % 12);
      if (what < 4) {
        t = single(next_id++, any_account(), any_account(),
                   static_cast<std::int64_t>(rng() % 600) - 20);
      } else if (what < 6) {
        t = pending(next_id++, any_account(), any_account(), static_cast<std::int64_t>(rng() % 600),
                    rng() % 2 ? 0 : static_cast<std::int64_t>(rng() % 8'000'000));
        pendings.push_back(t.id.value);
      } else if (what < 9 && !pendings.empty()) {
        // Often the newest pending, so posts and voids of the same span are common.
        auto p = rng() % 2 ? pendings.back() : pendings[rng() % pendings.size()];
        t = resolve(next_id++, rng() % 3 ? TransferKind::post_pending : TransferKind::void_pending,
                    p, rng() % 3 ? 0 : static_cast<std::int64_t>(rng() % 400));
        if (rng() % 4 == 0) t.debit = AccountId{any_account()};
      } else if (what < 11 && !history.empty()) {
        t = history[rng() % history.size()];  // a retry, maybe with another field
        if (rng() % 3 == 0) t.amount += 1;
        if (rng() % 5 == 0) t.reference = "other";
      } else if (what < 11) {
        t = single(next_id++, 6, 7, 1);
      } else {
        t = single(rng() % 8 == 0 ? 0 : next_id++, 6, 7, 1);
        t.code = static_cast<std::int32_t>(rng() % 3);
        if (rng() % 2) t.timeout_us = 5;  // not allowed on a single-phase transfer
      }
      t.linked = rng() % 4 == 0;  // the last one of a span may leave its chain open
      batch.push_back(t);
    }
    auto want = model.apply(batch, clock_.now_us());
    auto got = run(batch);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k)
      ASSERT_EQ(name_of(got[k]), name_of(want[k])) << "step " << step << " transfer " << k;
    for (const auto& t : batch) history.push_back(t);
    clock_.advance_us(static_cast<std::int64_t>(rng() % 2'000'000));
    if (step % 7 == 0) {
      ASSERT_TRUE(db_->begin());
      auto expired = expire_pending(*db_, clock_, ids, 10'000);
      ASSERT_TRUE(db_->commit());
      auto before = model.expired;
      model.expire(clock_.now_us());
      ASSERT_EQ(expired.value(), model.expired - before) << "step " << step;
    }
    for (const auto& [id, b] : model.accounts) {
      Account a = acct(id);
      ASSERT_EQ(a.debits_pending, b.debits_pending) << "step " << step << " account " << id;
      ASSERT_EQ(a.debits_posted, b.debits_posted) << "step " << step << " account " << id;
      ASSERT_EQ(a.credits_pending, b.credits_pending) << "step " << step << " account " << id;
      ASSERT_EQ(a.credits_posted, b.credits_posted) << "step " << step << " account " << id;
    }
    auto v = verify_ledger(*db_);
    ASSERT_TRUE(v);
    ASSERT_FALSE(v->has_value()) << "step " << step << ": " << **v;
  }
}

}  // namespace
}  // namespace jishi::pay
