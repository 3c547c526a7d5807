#include "pay/risk.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pay::risk {
namespace {

// 2026-11-27T15:00:00Z = 23:00 on 27 November in Shanghai.
constexpr std::int64_t kT0 = 1'795'791'600'000'000;
constexpr std::int64_t kSecond = 1'000'000;

class RiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = store::testing::fresh_db_path("risk");
    db_ = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
    ASSERT_TRUE(store::migrate(*db_));
    cny_ = currency_from_code("CNY").value();
  }

  Context payment(std::int64_t party, std::int64_t amount_minor) {
    Context c;
    c.action = Action::payment;
    c.account_class = AccountClass::personal;
    c.party_id = party;
    c.subject_kind = "payment_intent";
    c.subject_id = ++subject_;
    c.amount = Money{amount_minor, cny_};
    return c;
  }
  Context withdrawal(std::int64_t org, std::int64_t amount_minor) {
    Context c = payment(org, amount_minor);
    c.action = Action::withdrawal;
    c.account_class = AccountClass::merchant;
    c.subject_kind = "withdrawal";
    return c;
  }

  // Runs f in one committed write transaction, as the writer would.
  template <class F>
  auto in_tx(F f) {
    EXPECT_TRUE(db_->begin());
    auto r = f(*db_);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    EXPECT_TRUE(db_->commit());
    return r;
  }
  Decision eval(const Context& c, const TimeZone& zone = TimeZone::asia_shanghai()) {
    auto r = in_tx([&](store::Tx& tx) { return evaluate(tx, env_, c, zone); });
    return r.value_or(Decision{});
  }
  std::int64_t count(std::string_view sql) {
    std::int64_t n = -1;
    EXPECT_TRUE(db_->query(sql, {}, [&](const store::Row& r) {
      n = r.i64(0);
      return false;
    }));
    return n;
  }
  void disable(std::int64_t rule) {
    RulePatch p;
    p.enabled = false;
    in_tx([&](store::Tx& tx) { return update_rule(tx, env_, RuleId{rule}, p); });
  }
  ListEntry listed(ListKind list, EntryKind kind, std::string value) {
    auto r = in_tx([&](store::Tx& tx) {
      return add_list_entry(tx, env_, {list, kind, std::move(value), "test", UserId{7}});
    });
    return r.value_or(ListEntry{});
  }

  std::string path_;
  std::unique_ptr<store::Conn> db_;
  Currency cny_;
  ManualClock clock_{kT0};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k1", std::string(32, 'a'), std::string(32, 'b'));
  Env env_{clock_, ids_, cipher_};
  std::int64_t subject_ = 1000;
};

TEST_F(RiskTest, PerTransactionLimitBlocksOnlyAboveTheLimit) {
  Decision at = eval(payment(1, 5'000'000));  // exactly 50,000.00: allowed
  EXPECT_EQ(at.outcome, Outcome::allow) << at.reason;
  Decision above = eval(payment(2, 5'000'001));
  EXPECT_EQ(above.outcome, Outcome::block);
  EXPECT_EQ(above.rule_id, 1);
  EXPECT_EQ(above.reason, "amount 5000001 > per-transaction limit 5000000 (rule 1)");
  EXPECT_FALSE(above.review_id);
  // The decision is recorded with its reason.
  auto page = list_decisions(*db_, {Outcome::block, 2, 0, 10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].reason, above.reason);
  EXPECT_EQ(page->items[0].id.value, above.decision_id);
}

TEST_F(RiskTest, AnotherCurrencyIsNotMeasuredAgainstACnyLimit) {
  Context c = payment(1, 900'000'000);
  c.amount.currency = currency_from_code("USD").value();
  EXPECT_EQ(eval(c).outcome, Outcome::allow);
}

TEST_F(RiskTest, MerchantWithdrawalAboveAMillionGoesToReview) {
  Decision d = eval(withdrawal(50, 100'000'001));
  EXPECT_EQ(d.outcome, Outcome::review);
  EXPECT_EQ(d.rule_id, 4);
  EXPECT_TRUE(d.review_id);
  // The personal payment rules do not apply to merchants.
  EXPECT_EQ(eval(withdrawal(51, 100'000'000)).outcome, Outcome::allow);
}

TEST_F(RiskTest, PerDayLimitSumsAllowedAmountsIncludingThisOne) {
  for (int i = 0; i < 4; ++i) EXPECT_EQ(eval(payment(1, 5'000'000)).outcome, Outcome::allow);
  // 200,000.00 in total is at the limit, not above it.
  EXPECT_EQ(eval(payment(1, 0)).outcome, Outcome::allow);
  // A blocked attempt does not count towards the day...
  EXPECT_EQ(eval(payment(1, 9'000'000)).outcome, Outcome::block);
  Decision d = eval(payment(1, 1));
  EXPECT_EQ(d.outcome, Outcome::review);
  EXPECT_EQ(d.rule_id, 2);
  EXPECT_EQ(d.reason,
            "day total 20000001 (20000000 allowed earlier today in Asia/Shanghai + amount 1) > "
            "per-day limit 20000000 (rule 2)");
  // ...nor does one under review. Another party has its own day.
  EXPECT_EQ(eval(payment(2, 5'000'000)).outcome, Outcome::allow);
}

TEST_F(RiskTest, TheDayStartsAtMidnightInShanghaiNotUtc) {
  auto utc = TimeZone::load("UTC").value();
  for (int i = 0; i < 4; ++i) eval(payment(1, 5'000'000));  // 23:00 on the 27th in Shanghai
  for (int i = 0; i < 4; ++i) eval(payment(3, 5'000'000), utc);
  clock_.set_us(kT0 + 3600 * kSecond - 1);  // 23:59:59.999999 in Shanghai: the same day
  EXPECT_EQ(eval(payment(1, 1)).outcome, Outcome::review);
  clock_.set_us(kT0 + 3600 * kSecond);  // 00:00 on the 28th in Shanghai, 16:00 UTC on the 27th
  EXPECT_EQ(eval(payment(1, 5'000'000)).outcome, Outcome::allow);

  // With the day in UTC the same instant is still the 27th, and the limit holds.
  Decision d = eval(payment(3, 1), utc);
  EXPECT_EQ(d.outcome, Outcome::review);
  EXPECT_NE(d.reason.find("in UTC"), std::string::npos) << d.reason;
}

TEST_F(RiskTest, VelocityReviewsTheEleventhPaymentWithinSixtySeconds) {
  for (int i = 0; i < 10; ++i) {
    clock_.set_us(kT0 + i * kSecond);
    EXPECT_EQ(eval(payment(1, 100)).outcome, Outcome::allow) << i;
  }
  clock_.set_us(kT0 + 60 * kSecond - 1);  // the first is 60 s - 1 us old: still inside
  Decision d = eval(payment(1, 100));
  EXPECT_EQ(d.outcome, Outcome::review);
  EXPECT_EQ(d.rule_id, 3);
  EXPECT_NE(d.reason.find("more than 10 payments by user 1 within 60 s"), std::string::npos)
      << d.reason;
}

TEST_F(RiskTest, VelocityWindowDropsAnEventExactlyWindowSecondsOld) {
  for (int i = 0; i < 10; ++i) eval(payment(1, 100));  // ten at kT0
  clock_.set_us(kT0 + 60 * kSecond);  // those ten are exactly 60 s old: outside (t - W, t]
  EXPECT_EQ(eval(payment(1, 100)).outcome, Outcome::allow);
}

TEST_F(RiskTest, VelocityCountsBlockedAttemptsToo) {
  for (int i = 0; i < 10; ++i) EXPECT_EQ(eval(payment(1, 6'000'000)).outcome, Outcome::block);
  EXPECT_EQ(eval(payment(1, 100)).outcome, Outcome::review);
}

TEST_F(RiskTest, VelocityByCardSpansUsers) {
  NewRule rule;
  rule.kind = RuleKind::velocity;
  rule.outcome = Outcome::block;
  rule.velocity_key = VelocityKey::card;
  rule.max_count = 2;
  rule.window_s = 300;
  in_tx([&](store::Tx& tx) { return create_rule(tx, env_, rule); });
  for (int user = 1; user <= 3; ++user) {
    Context c = payment(user, 100);
    c.card_no = user == 2 ? "6222 0200 1234 5678" : "6222020012345678";
    Decision d = eval(c);
    EXPECT_EQ(d.outcome, user == 3 ? Outcome::block : Outcome::allow) << d.reason;
    if (user == 3) {
      EXPECT_NE(d.reason.find("card ****5678"), std::string::npos) << d.reason;
    }
  }
  // A payment without a card is not counted by a card rule.
  EXPECT_EQ(eval(payment(4, 100)).outcome, Outcome::allow);
}

TEST_F(RiskTest, BlockListedCardBlocksAndIsNeverStoredRaw) {
  const std::string card = "6222021234567890123";
  ListEntry e = listed(ListKind::block, EntryKind::card, "6222 0212 3456 7890 123");
  EXPECT_EQ(e.display, "****0123");
  EXPECT_EQ(e.value_hash.size(), 64u);
  Context c = payment(1, 100);
  c.card_no = card;
  Decision d = eval(c);
  EXPECT_EQ(d.outcome, Outcome::block);
  EXPECT_EQ(d.reason, "card ****0123 is on the block list (entry " + e.id.str() + ")");
  EXPECT_FALSE(d.rule_id);

  // Neither the list nor the evaluation left the number anywhere in the database files.
  ASSERT_TRUE(db_->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  for (auto suffix : {"", "-wal"}) {
    std::ifstream in(path_ + suffix, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (*suffix == 0) {
      EXPECT_GT(bytes.size(), 0u);
    }
    EXPECT_EQ(bytes.find(card), std::string::npos) << suffix;
    EXPECT_EQ(bytes.find("62220212"), std::string::npos) << suffix;
  }
}

TEST_F(RiskTest, EachListKindMatches) {
  listed(ListKind::block, EntryKind::user, "41");
  listed(ListKind::block, EntryKind::device, "dev-abc");
  listed(ListKind::block, EntryKind::ip, "2001:db8:0:0::1");
  listed(ListKind::block, EntryKind::account, "cn12 3456 7890");
  EXPECT_EQ(eval(payment(41, 1)).outcome, Outcome::block);
  Context dev = payment(1, 1);
  dev.device_id = "dev-abc";
  EXPECT_EQ(eval(dev).outcome, Outcome::block);
  Context ip = payment(1, 1);
  ip.ip = "2001:db8::1";  // the same address written another way
  EXPECT_EQ(eval(ip).outcome, Outcome::block);
  Context acct = withdrawal(9, 1);
  acct.account_no = "CN1234567890";
  Decision d = eval(acct);
  EXPECT_EQ(d.outcome, Outcome::block);
  EXPECT_NE(d.reason.find("account ****7890"), std::string::npos) << d.reason;
  Context clean = payment(1, 1);
  clean.ip = "2001:db8::2";
  clean.device_id = "dev-abd";
  EXPECT_EQ(eval(clean).outcome, Outcome::allow);
}

TEST_F(RiskTest, AllowListSkipsLimitsButNotTheBlockList) {
  ListEntry allow = listed(ListKind::allow, EntryKind::user, "5");
  Decision d = eval(payment(5, 9'000'000));  // above the per-transaction block
  EXPECT_EQ(d.outcome, Outcome::allow);
  EXPECT_EQ(d.reason, "user 5 is on the allow list (entry " + allow.id.str() + ")");
  for (int i = 0; i < 12; ++i) EXPECT_EQ(eval(payment(5, 1)).outcome, Outcome::allow);
  Context c = payment(5, 1);
  c.device_id = "stolen-phone";
  listed(ListKind::block, EntryKind::device, "stolen-phone");
  EXPECT_EQ(eval(c).outcome, Outcome::block);
}

TEST_F(RiskTest, ListRefusesMalformedAndDuplicateValues) {
  for (auto [kind, value] :
       std::vector<std::pair<EntryKind, std::string>>{{EntryKind::card, "12345"},
                                                      {EntryKind::card, "6222O20012345678"},
                                                      {EntryKind::account, "12-34"},
                                                      {EntryKind::user, "-3"},
                                                      {EntryKind::device, "has space"},
                                                      {EntryKind::ip, "300.1.1.1"}}) {
    ASSERT_TRUE(db_->begin());
    auto r = add_list_entry(*db_, env_, {ListKind::block, kind, value, "", UserId{7}});
    ASSERT_TRUE(db_->rollback());
    ASSERT_FALSE(r) << value;
    EXPECT_EQ(r.error().code, Code::validation_failed);
    EXPECT_EQ(r.error().field, "/value");
  }
  listed(ListKind::block, EntryKind::card, "6222020012345678");
  ASSERT_TRUE(db_->begin());
  auto dup =
      add_list_entry(*db_, env_, {ListKind::block, EntryKind::card, "6222-0200-1234-5678", "", {}});
  ASSERT_TRUE(db_->rollback());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::already_exists);
}

TEST_F(RiskTest, RemovedListEntryNoLongerBlocks) {
  ListEntry e = listed(ListKind::block, EntryKind::user, "8");
  EXPECT_EQ(eval(payment(8, 1)).outcome, Outcome::block);
  in_tx([&](store::Tx& tx) { return remove_list_entry(tx, e.id); });
  EXPECT_EQ(eval(payment(8, 1)).outcome, Outcome::allow);
  ASSERT_TRUE(db_->begin());
  auto again = remove_list_entry(*db_, e.id);
  ASSERT_TRUE(db_->rollback());
  EXPECT_EQ(again.error().code, Code::not_found);
}

TEST_F(RiskTest, ReviewIsOpenedOncePerSubjectAndItsVerdictDecides) {
  Context c = withdrawal(60, 200'000'000);
  Decision first = eval(c);
  ASSERT_EQ(first.outcome, Outcome::review);
  ASSERT_TRUE(first.review_id);
  Decision again = eval(c);
  EXPECT_EQ(again.outcome, Outcome::review);
  EXPECT_EQ(again.review_id, first.review_id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM risk_reviews"), 1);
  auto queue = list_reviews(*db_, ReviewStatus::pending, 0, 10);
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->items.size(), 1u);
  EXPECT_EQ(queue->items[0].subject_id, c.subject_id);
  EXPECT_EQ(queue->items[0].amount.minor, 200'000'000);

  ReviewId id{*first.review_id};
  in_tx([&](store::Tx& tx) { return decide_review(tx, env_, id, UserId{7}, true, "called them"); });
  Decision after = eval(c);
  EXPECT_EQ(after.outcome, Outcome::allow);
  EXPECT_EQ(after.reason, "review " + id.str() + " approved");
  EXPECT_TRUE(list_reviews(*db_, ReviewStatus::pending, 0, 10)->items.empty());

  // Decided once: neither a second approval nor a rejection goes through.
  for (bool approve : {true, false}) {
    ASSERT_TRUE(db_->begin());
    auto r = decide_review(*db_, env_, id, UserId{7}, approve, "again");
    ASSERT_TRUE(db_->rollback());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::invalid_state);
  }
  auto stored = get_review(*db_, id).value().value();
  EXPECT_EQ(stored.status, ReviewStatus::approved);
  EXPECT_EQ(stored.decision_note, "called them");
  EXPECT_EQ(stored.decided_by, UserId{7});
}

TEST_F(RiskTest, RejectedReviewBlocksTheSubject) {
  Context c = withdrawal(61, 200'000'000);
  Decision d = eval(c);
  in_tx([&](store::Tx& tx) {
    return decide_review(tx, env_, ReviewId{*d.review_id}, UserId{7}, false, "fraud");
  });
  Decision after = eval(c);
  EXPECT_EQ(after.outcome, Outcome::block);
  EXPECT_EQ(after.review_id, d.review_id);
  // Another withdrawal of the same merchant gets its own review.
  Decision other = eval(withdrawal(61, 200'000'000));
  EXPECT_EQ(other.outcome, Outcome::review);
  EXPECT_NE(other.review_id, d.review_id);
}

TEST_F(RiskTest, DisabledOrChangedRulesApply) {
  disable(1);
  EXPECT_EQ(eval(payment(1, 6'000'000)).outcome, Outcome::allow);
  RulePatch p;
  p.enabled = true;
  p.max_amount = Money{100, cny_};
  p.outcome = Outcome::review;
  auto r = in_tx([&](store::Tx& tx) { return update_rule(tx, env_, RuleId{1}, p); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->max_amount->minor, 100);
  Decision d = eval(payment(2, 101));
  EXPECT_EQ(d.outcome, Outcome::review);
  EXPECT_EQ(d.reason, "amount 101 > per-transaction limit 100 (rule 1)");
}

TEST_F(RiskTest, RuleValidationRefusesBadCombinations) {
  auto attempt = [&](NewRule n) {
    EXPECT_TRUE(db_->begin());
    auto r = create_rule(*db_, env_, n);
    EXPECT_TRUE(db_->rollback());
    return r;
  };
  NewRule v;
  v.kind = RuleKind::velocity;
  v.velocity_key = VelocityKey::ip;
  v.max_count = 5;
  v.window_s = 0;
  EXPECT_EQ(attempt(v).error().field, "/window_s");
  v.window_s = 86'401;
  EXPECT_EQ(attempt(v).error().field, "/window_s");
  v.window_s = 60;
  v.max_count = 0;
  EXPECT_EQ(attempt(v).error().field, "/max_count");
  v.max_count = 5;
  v.outcome = Outcome::allow;
  EXPECT_EQ(attempt(v).error().field, "/outcome");
  v.outcome = Outcome::block;
  v.max_amount = Money{1, cny_};
  EXPECT_EQ(attempt(v).error().field, "/max_amount");
  NewRule limit;
  limit.kind = RuleKind::per_day;
  EXPECT_EQ(attempt(limit).error().field, "/max_amount");
  limit.max_amount = Money{1, cny_};
  limit.window_s = 60;
  EXPECT_FALSE(attempt(limit));
  limit.window_s.reset();
  EXPECT_TRUE(attempt(limit));
}

TEST_F(RiskTest, MalformedContextIsRefusedAndWritesNothing) {
  Context c = payment(1, 1);
  c.subject_kind = "order";
  ASSERT_TRUE(db_->begin());
  EXPECT_EQ(evaluate(*db_, env_, c).error().code, Code::validation_failed);
  c = payment(1, 1);
  c.card_no = "not a card";
  EXPECT_EQ(evaluate(*db_, env_, c).error().field, "card");
  ASSERT_TRUE(db_->commit());
  EXPECT_EQ(count("SELECT COUNT(*) FROM risk_events"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM risk_decisions"), 0);
}

TEST_F(RiskTest, UnfilteredListsShowEverythingNewestFirstInPages) {
  eval(payment(1, 1));
  eval(withdrawal(2, 200'000'000));
  eval(payment(3, 9'000'000));
  auto first = list_decisions(*db_, {std::nullopt, std::nullopt, 0, 2});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].party_id, 3);
  ASSERT_TRUE(first->next_cursor);
  auto rest = list_decisions(*db_, {std::nullopt, std::nullopt, *first->next_cursor, 2});
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].party_id, 1);
  EXPECT_FALSE(rest->next_cursor);
  EXPECT_EQ(list_reviews(*db_, std::nullopt, 0, 10)->items.size(), 1u);
  listed(ListKind::block, EntryKind::user, "9");
  listed(ListKind::allow, EntryKind::user, "10");
  EXPECT_EQ(list_entries(*db_, std::nullopt, 0, 10)->items.size(), 2u);
  EXPECT_EQ(list_entries(*db_, ListKind::allow, 0, 10)->items.size(), 1u);
  auto rules = list_rules(*db_, 0, 3);
  ASSERT_EQ(rules->items.size(), 3u);
  EXPECT_EQ(rules->items[0].id.value, 1);
  EXPECT_EQ(list_rules(*db_, *rules->next_cursor, 3)->items.size(), 1u);
}

TEST_F(RiskTest, PruneDropsEventsOlderThanTheLongestWindow) {
  eval(payment(1, 1));
  clock_.advance_us(86'400 * kSecond);
  eval(payment(1, 1));
  auto n = in_tx([&](store::Tx& tx) { return prune_events(tx, env_, 100); });
  EXPECT_EQ(n.value_or(-1), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM risk_events"), 1);
}

}  // namespace
}  // namespace jishi::pay::risk
