#include "pay/settlement.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/limits.h"
#include "core/local_time.h"
#include "pay/chart.h"
#include "pay/ledger.h"
#include "pay/payments.h"

namespace jishi::pay {

namespace {

constexpr std::string_view kBatchColumns =
    "id, org_id, business_date, currency, cutoff_us, eligible, receivable_offset, reserve, fee, "
    "net, payout_id, file_name, created_at_us";

SettlementBatch read_batch(const store::Row& r) {
  SettlementBatch b;
  b.id = r.i64(0);
  b.org = OrgId{r.i64(1)};
  b.business_date = r.str(2);
  if (auto c = currency_from_code(r.text(3))) b.currency = *c;
  b.cutoff_us = r.i64(4);
  b.eligible = r.i64(5);
  b.receivable_offset = r.i64(6);
  b.reserve = r.i64(7);
  b.fee = r.i64(8);
  b.net = r.i64(9);
  b.payout_id = r.opt_i64(10);
  b.file_name = r.str(11);
  b.created_at_us = r.i64(12);
  return b;
}

constexpr std::string_view kPayoutColumns =
    "id, kind, org_id, amount, currency, status, bank_reference, failure_reason, "
    "risk_decision_id, created_at_us, finished_at_us";

Payout read_payout(const store::Row& r) {
  Payout p;
  p.id = PayoutId{r.i64(0)};
  p.kind = r.str(1);
  p.org = OrgId{r.i64(2)};
  p.amount.minor = r.i64(3);
  if (auto c = currency_from_code(r.text(4))) p.amount.currency = *c;
  p.status = r.str(5);
  p.bank_reference = r.opt_str(6);
  p.failure_reason = r.opt_str(7);
  p.risk_decision_id = r.opt_i64(8);
  p.created_at_us = r.i64(9);
  p.finished_at_us = r.opt_i64(10);
  return p;
}

TransferSpec transfer(Env& env, AccountId debit, AccountId credit, std::int64_t amount,
                      TransferCode code, std::string reference) {
  TransferSpec t;
  t.id = TransferId{env.ids.next()};
  t.debit = debit;
  t.credit = credit;
  t.amount = amount;
  t.code = static_cast<std::int32_t>(code);
  t.reference = std::move(reference);
  return t;
}

// The account's posted balance (credit-normal) as it stood at `at_us`, from its transfers.
Result<std::int64_t> balance_at(store::Conn& conn, AccountId id, std::int64_t at_us) {
  std::int64_t after = 0;
  JISHI_TRY(conn.query(
      "SELECT COALESCE(SUM(CASE WHEN credit_account_id = $1 THEN amount ELSE -amount END), 0) "
      "FROM ledger_transfers WHERE id >= $3 AND (credit_account_id = $1 OR debit_account_id = $1) "
      "AND created_at_us >= $2 AND kind IN ('single', 'post_pending')",
      {id.value, at_us, first_id_at_us(at_us)}, [&](const store::Row& r) {
        after = r.i64(0);
        return false;
      }));
  JISHI_ASSIGN_OR_RETURN(auto a, get_account(conn, id));
  if (!a) return std::int64_t{0};
  return a->credits_posted - a->debits_posted - after;
}

Result<Payout> load_payout(store::Conn& conn, PayoutId id) {
  JISHI_ASSIGN_OR_RETURN(auto p, get_payout(conn, id));
  if (!p) return fail(Code::not_found, "no such payout");
  return *p;
}

}  // namespace

Result<SettlementRun> settle_day(store::Tx& tx, Env& env, std::string_view date,
                                 const Currency& currency, const SettlementPolicy& policy) {
  auto start = business_day_start_us(date);
  if (!start) return fail(Code::validation_failed, "date must be YYYY-MM-DD", "date");
  std::string next = next_date(date);
  std::int64_t cutoff = *business_day_start_us(next);
  if (env.clock.now_us() < cutoff)
    return fail(Code::invalid_state, "the cut-off of " + std::string(date) + " (" +
                                         format_rfc3339(cutoff) + ") has not passed yet");
  SettlementRun run;
  run.business_date = std::string(date);
  std::string file_name = "settlement-" + std::string(date) + ".csv";
  // Every merchant with an available account in this currency, in id order.
  std::vector<std::pair<std::int64_t, AccountId>> merchants;
  JISHI_TRY(tx.query(
      "SELECT owner_id, account_id FROM pay_accounts WHERE code = $1 AND currency = $2 ORDER BY "
      "owner_id",
      {static_cast<std::int64_t>(AccountCode::merchant_available), currency.code_view()},
      [&](const store::Row& r) {
        merchants.emplace_back(r.i64(0), AccountId{r.i64(1)});
        return true;
      }));
  for (auto [org, available] : merchants) {
    JISHI_ASSIGN_OR_RETURN(
        auto exists,
        tx.query_one("SELECT id FROM pay_settlements WHERE org_id = $1 AND business_date = $2 AND "
                     "currency = $3",
                     {org, date, currency.code_view()},
                     [](const store::Row& r) { return r.i64(0); }));
    if (exists) {
      ++run.existing;
      continue;
    }
    JISHI_ASSIGN_OR_RETURN(auto at_cutoff, balance_at(tx, available, cutoff));
    JISHI_ASSIGN_OR_RETURN(auto now,
                           balance_of(tx, AccountCode::merchant_available, org, currency));
    std::int64_t eligible = std::min(at_cutoff, now.posted - now.pending_out);
    if (eligible <= 0) continue;
    JISHI_ASSIGN_OR_RETURN(auto owed, balance_of(tx, AccountCode::receivable, org, currency));
    SettlementBatch b;
    b.id = env.ids.next();
    b.org = OrgId{org};
    b.business_date = std::string(date);
    b.currency = currency;
    b.cutoff_us = cutoff;
    b.eligible = eligible;
    b.receivable_offset = std::clamp<std::int64_t>(owed.posted, 0, eligible);
    std::int64_t rest = eligible - b.receivable_offset;
    b.reserve = commission_of(rest, policy.reserve_ppm);
    b.fee = std::min(policy.payout_fee, rest - b.reserve);
    b.net = rest - b.reserve - b.fee;
    b.file_name = file_name;
    b.created_at_us = env.clock.now_us();
    std::string ref = "settlement:" + std::to_string(b.id);
    std::vector<TransferSpec> chain;
    if (b.receivable_offset > 0) {
      JISHI_ASSIGN_OR_RETURN(auto acc,
                             account_for(tx, env, AccountCode::receivable, org, currency));
      chain.push_back(
          transfer(env, available, acc, b.receivable_offset, TransferCode::receivable_offset, ref));
    }
    if (b.reserve > 0) {
      JISHI_ASSIGN_OR_RETURN(auto acc,
                             account_for(tx, env, AccountCode::merchant_reserve, org, currency));
      chain.push_back(transfer(env, available, acc, b.reserve, TransferCode::reserve, ref));
    }
    if (b.fee > 0) {
      JISHI_ASSIGN_OR_RETURN(
          auto acc, account_for(tx, env, AccountCode::payout_fees, platform_owner, currency));
      chain.push_back(transfer(env, available, acc, b.fee, TransferCode::payout_fee, ref));
    }
    if (b.net > 0) {
      JISHI_ASSIGN_OR_RETURN(auto acc,
                             account_for(tx, env, AccountCode::merchant_in_transit, org, currency));
      chain.push_back(transfer(env, available, acc, b.net, TransferCode::settle, ref));
      b.payout_id = env.ids.next();
      JISHI_TRY(tx.exec(
          "INSERT INTO pay_payouts (id, kind, org_id, amount, currency, status, created_at_us) "
          "VALUES ($1, 'settlement', $2, $3, $4, 'submitted', $5)",
          {*b.payout_id, org, b.net, currency.code_view(), b.created_at_us}));
    }
    JISHI_TRY(apply_all(tx, env.clock, chain));
    JISHI_TRY(tx.exec(
        "INSERT INTO pay_settlements (id, org_id, business_date, currency, cutoff_us, eligible, "
        "receivable_offset, reserve, fee, net, payout_id, file_name, created_at_us) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        {b.id, org, date, currency.code_view(), cutoff, b.eligible, b.receivable_offset, b.reserve,
         b.fee, b.net, b.payout_id, file_name, b.created_at_us}));
    run.created.push_back(std::move(b));
  }
  return run;
}

Result<Page<SettlementBatch>> list_settlements(store::Conn& conn, std::optional<OrgId> org,
                                               std::optional<std::string> date, std::int64_t before,
                                               std::size_t limit) {
  Page<SettlementBatch> page;
  std::string sql = "SELECT " + std::string(kBatchColumns) +
                    " FROM pay_settlements WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR "
                    "business_date = $2) AND id < $3 ORDER BY id DESC LIMIT $4";
  JISHI_TRY(conn.query(sql,
                       {org ? std::optional(org->value) : std::nullopt, date,
                        before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
                       [&](const store::Row& r) {
                         page.items.push_back(read_batch(r));
                         return true;
                       }));
  trim_page(page, limit, [](const auto& x) { return x.id; });
  return page;
}

Result<std::string> settlement_file(store::Conn& conn, std::string_view date) {
  std::string out =
      "batch_id,business_date,merchant_id,merchant_name,currency,eligible,receivable_offset,"
      "reserve,fee,net,payout_id,bank_account_last4\n";
  auto csv = [](std::string_view s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  JISHI_TRY(conn.query(
      "SELECT s.id, s.business_date, s.org_id, o.name, s.currency, s.eligible, "
      "s.receivable_offset, s.reserve, s.fee, s.net, s.payout_id, a.account_last4 FROM "
      "pay_settlements s LEFT JOIN orgs o ON o.id = s.org_id LEFT JOIN pay_payout_accounts a ON "
      "a.org_id = s.org_id WHERE s.business_date = $1 ORDER BY s.id",
      {date}, [&](const store::Row& r) {
        out += std::to_string(r.i64(0)) + "," + r.str(1) + "," + std::to_string(r.i64(2)) + "," +
               csv(r.text(3)) + "," + r.str(4);
        for (int i = 5; i <= 9; ++i) out += "," + std::to_string(r.i64(i));
        out += "," + (r.is_null(10) ? std::string() : std::to_string(r.i64(10))) + "," +
               (r.is_null(11) ? std::string() : r.str(11)) + "\n";
        return true;
      }));
  return out;
}

Result<SettlementFile> record_settlement_file(store::Tx& tx, Env& env, std::string_view date) {
  JISHI_ASSIGN_OR_RETURN(auto existing, get_settlement_file(tx, date));
  if (existing) return *existing;
  SettlementFile f;
  f.business_date = std::string(date);
  f.file_name = "settlement-" + f.business_date + ".csv";
  JISHI_ASSIGN_OR_RETURN(f.content, settlement_file(tx, date));
  f.sha256 = crypto::hex(crypto::sha256(f.content));
  JISHI_TRY(tx.query(
      "SELECT COUNT(*), COALESCE(SUM(net), 0) FROM pay_settlements WHERE business_date = $1",
      {date}, [&](const store::Row& r) {
        f.batches = r.i64(0);
        f.total_net = r.i64(1);
        return false;
      }));
  f.created_at_us = env.clock.now_us();
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_settlement_files (business_date, file_name, content, sha256, batches, "
      "total_net, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {date, f.file_name, f.content, f.sha256, f.batches, f.total_net, f.created_at_us}));
  return f;
}

Result<std::optional<SettlementFile>> get_settlement_file(store::Conn& conn,
                                                          std::string_view date) {
  return conn.query_one(
      "SELECT business_date, file_name, content, sha256, batches, total_net, created_at_us FROM "
      "pay_settlement_files WHERE business_date = $1",
      {date}, [](const store::Row& r) {
        return SettlementFile{r.str(0), r.str(1), r.str(2), r.str(3), r.i64(4), r.i64(5), r.i64(6)};
      });
}

Result<std::optional<Payout>> get_payout(store::Conn& conn, PayoutId id) {
  std::string sql = "SELECT " + std::string(kPayoutColumns) + " FROM pay_payouts WHERE id = $1";
  return conn.query_one(sql, {id.value}, read_payout);
}

Result<Page<Payout>> list_payouts(store::Conn& conn, OrgId org, std::int64_t before,
                                  std::size_t limit) {
  Page<Payout> page;
  std::string sql = "SELECT " + std::string(kPayoutColumns) +
                    " FROM pay_payouts WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
  JISHI_TRY(conn.query(
      sql, {org.value, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(read_payout(r));
        return true;
      }));
  trim_page(page, limit, [](const auto& x) { return x.id.value; });
  return page;
}

Result<Payout> request_withdrawal(store::Tx& tx, Env& env, OrgId org, const Money& amount,
                                  UserId by, bool in_review,
                                  std::optional<std::int64_t> risk_decision_id) {
  if (amount.minor <= 0 || amount.minor > limits::pay_amount_max)
    return fail(Code::validation_failed, "amount must be positive", "/amount/amount");
  JISHI_ASSIGN_OR_RETURN(auto acct, get_payout_account(tx, org));
  if (!acct) return fail(Code::invalid_state, "set a payout bank account before withdrawing");
  JISHI_ASSIGN_OR_RETURN(
      auto avail, balance_of(tx, AccountCode::merchant_available, org.value, amount.currency));
  if (amount.minor > avail.posted - avail.pending_out)
    return fail(Code::insufficient_funds,
                "only " +
                    std::to_string(std::max<std::int64_t>(0, avail.posted - avail.pending_out)) +
                    " is available",
                "/amount/amount");
  Payout p;
  p.id = PayoutId{env.ids.next()};
  p.kind = "withdrawal";
  p.org = org;
  p.amount = amount;
  p.status = in_review ? "in_review" : "submitted";
  p.risk_decision_id = risk_decision_id;
  p.created_at_us = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(
      auto from, account_for(tx, env, AccountCode::merchant_available, org.value, amount.currency));
  JISHI_ASSIGN_OR_RETURN(
      auto to, account_for(tx, env, AccountCode::merchant_in_transit, org.value, amount.currency));
  std::vector<TransferSpec> chain{transfer(env, from, to, amount.minor, TransferCode::withdrawal,
                                           "payout:" + std::to_string(p.id.value))};
  JISHI_TRY(apply_all(tx, env.clock, chain));
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_payouts (id, kind, org_id, amount, currency, status, risk_decision_id, "
      "requested_by, created_at_us) VALUES ($1, 'withdrawal', $2, $3, $4, $5, $6, $7, $8)",
      {p.id.value, org.value, amount.minor, amount.currency.code_view(), p.status, risk_decision_id,
       by.value, p.created_at_us}));
  return p;
}

namespace {

// Returns a payout's money from in_transit to available.
Status return_to_available(store::Tx& tx, Env& env, const Payout& p, TransferCode code) {
  JISHI_ASSIGN_OR_RETURN(auto transit, account_for(tx, env, AccountCode::merchant_in_transit,
                                                   p.org.value, p.amount.currency));
  JISHI_ASSIGN_OR_RETURN(auto avail, account_for(tx, env, AccountCode::merchant_available,
                                                 p.org.value, p.amount.currency));
  std::vector<TransferSpec> chain{
      transfer(env, transit, avail, p.amount.minor, code, "payout:" + std::to_string(p.id.value))};
  return apply_all(tx, env.clock, chain);
}

}  // namespace

Result<Payout> decide_withdrawal(store::Tx& tx, Env& env, PayoutId id, bool approved,
                                 std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto p, load_payout(tx, id));
  if (p.status != "in_review")
    return fail(Code::invalid_state, "the withdrawal is " + p.status + ", not in review");
  if (approved) {
    JISHI_TRY(tx.exec("UPDATE pay_payouts SET status = 'submitted' WHERE id = $1", {id.value}));
  } else {
    JISHI_TRY(return_to_available(tx, env, p, TransferCode::payout_bounced));
    JISHI_TRY(tx.exec(
        "UPDATE pay_payouts SET status = 'rejected', failure_reason = $2, finished_at_us = $3 "
        "WHERE id = $1",
        {id.value, reason, env.clock.now_us()}));
  }
  return load_payout(tx, id);
}

Result<std::vector<Payout>> payouts_to_send(store::Conn& conn, std::size_t limit) {
  std::vector<Payout> out;
  std::string sql = "SELECT " + std::string(kPayoutColumns) +
                    " FROM pay_payouts WHERE status = 'submitted' ORDER BY id LIMIT $1";
  JISHI_TRY(conn.query(sql, {static_cast<std::int64_t>(limit)}, [&](const store::Row& r) {
    out.push_back(read_payout(r));
    return true;
  }));
  return out;
}

Status record_payout_answer(store::Tx& tx, Env& env, PayoutId id, const BankAnswer& answer) {
  JISHI_ASSIGN_OR_RETURN(auto p, load_payout(tx, id));
  if (p.status != "submitted") return {};  // answered before
  std::int64_t now = env.clock.now_us();
  if (answer.paid) {
    JISHI_ASSIGN_OR_RETURN(auto transit, account_for(tx, env, AccountCode::merchant_in_transit,
                                                     p.org.value, p.amount.currency));
    JISHI_ASSIGN_OR_RETURN(auto custody, account_for(tx, env, AccountCode::custody, platform_owner,
                                                     p.amount.currency));
    std::vector<TransferSpec> chain{transfer(env, transit, custody, p.amount.minor,
                                             TransferCode::payout_paid,
                                             "payout:" + std::to_string(p.id.value))};
    JISHI_TRY(apply_all(tx, env.clock, chain));
    JISHI_TRY(tx.exec(
        "UPDATE pay_payouts SET status = 'paid', bank_reference = $2, finished_at_us = $3 WHERE "
        "id = $1",
        {id.value, answer.bank_reference, now}));
  } else {
    JISHI_TRY(return_to_available(tx, env, p, TransferCode::payout_bounced));
    JISHI_TRY(tx.exec(
        "UPDATE pay_payouts SET status = 'bounced', bank_reference = $2, failure_reason = $3, "
        "finished_at_us = $4 WHERE id = $1",
        {id.value, answer.bank_reference, answer.reason, now}));
  }
  return {};
}

Status set_payout_account(store::Tx& tx, Env& env, OrgId org, std::string_view bank_name,
                          std::string_view holder_name, std::string_view account_no) {
  if (account_no.size() < 8 || account_no.size() > limits::pay_account_no_bytes_max ||
      !std::all_of(account_no.begin(), account_no.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return fail(Code::validation_failed, "account_no must be 8..34 digits", "/account_no");
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_payout_accounts (org_id, bank_name, holder_name, account_no_enc, "
      "account_last4, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO "
      "UPDATE SET bank_name = excluded.bank_name, holder_name = excluded.holder_name, "
      "account_no_enc = excluded.account_no_enc, account_last4 = excluded.account_last4, "
      "updated_at_us = excluded.updated_at_us",
      {org.value, bank_name, holder_name, env.cipher.encrypt("payout_account_no", account_no),
       account_no.substr(account_no.size() - 4), env.clock.now_us()}));
  return {};
}

Result<std::optional<PayoutAccount>> get_payout_account(store::Conn& conn, OrgId org) {
  return conn.query_one(
      "SELECT org_id, bank_name, holder_name, account_last4, updated_at_us FROM "
      "pay_payout_accounts WHERE org_id = $1",
      {org.value}, [](const store::Row& r) {
        return PayoutAccount{OrgId{r.i64(0)}, r.str(1), r.str(2), r.str(3), r.i64(4)};
      });
}

Result<std::optional<std::string>> payout_account_number(store::Conn& conn, const Env& env,
                                                         OrgId org) {
  JISHI_ASSIGN_OR_RETURN(
      auto sealed,
      conn.query_one("SELECT account_no_enc FROM pay_payout_accounts WHERE org_id = $1",
                     {org.value}, [](const store::Row& r) { return r.str(0); }));
  if (!sealed) return std::optional<std::string>();
  JISHI_ASSIGN_OR_RETURN(auto plain, env.cipher.decrypt("payout_account_no", *sealed));
  return std::optional(plain);
}

BankAnswer simulated_bank_answer(const Payout& p, const std::optional<std::string>& account_no) {
  BankAnswer a;
  a.bank_reference = "BANK" + std::to_string(p.id.value);
  if (!account_no) {
    a.reason = "no payout account on file";
  } else if (account_no->ends_with("0004")) {
    a.reason = "the beneficiary account is closed";
  } else {
    a.paid = true;
  }
  return a;
}

}  // namespace jishi::pay
