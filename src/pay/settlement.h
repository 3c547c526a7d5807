// Settlement and payouts: the merchant's side of the payment service.
//
// A daily cut-off (midnight in the business time zone, core/local_time.h) closes a business
// date. settle_day() builds one immutable batch per merchant and currency from what was
// available at the cut-off: first any receivable (refund shortfalls) is repaid, then the
// rolling reserve and the payout fee are taken, and the rest moves available -> in_transit as a
// payout. Running a date twice makes nothing new. The settlement file lists the date's batches
// (CSV, docs/payments.md) and is written with its SHA-256.
//
// Payouts (settlements and withdrawals) are answered by the bank: paid moves in_transit ->
// custody (the money left the custody account); bounced moves it back to available.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::pay {

using PayoutId = Id<struct PayoutTag>;

struct SettlementPolicy {
  std::int64_t reserve_ppm = 0;  // share of each batch held in the merchant's reserve
  std::int64_t payout_fee = 0;   // minor units per payout, to the platform
};

struct SettlementBatch {
  std::int64_t id = 0;
  OrgId org;
  std::string business_date;
  Currency currency;
  std::int64_t cutoff_us = 0;
  std::int64_t eligible = 0, receivable_offset = 0, reserve = 0, fee = 0, net = 0;
  std::optional<std::int64_t> payout_id;
  std::string file_name;
  std::int64_t created_at_us = 0;
};

struct SettlementRun {
  std::string business_date;
  std::vector<SettlementBatch> created;  // made by this run
  std::int64_t existing = 0;             // batches a previous run had made
};

// Settles one business date whose cut-off has passed (invalid_state otherwise).
Result<SettlementRun> settle_day(store::Tx& tx, Env& env, std::string_view date,
                                 const Currency& currency, const SettlementPolicy& policy);
Result<Page<SettlementBatch>> list_settlements(store::Conn& conn, std::optional<OrgId> org,
                                               std::optional<std::string> date, std::int64_t before,
                                               std::size_t limit);

// The settlement file of a date: header + one line per batch, ordered by batch id.
Result<std::string> settlement_file(store::Conn& conn, std::string_view date);
// Stores the date's file (content and digest) the first time; afterwards the stored file is
// returned unchanged (it is immutable: a later rename of a merchant does not alter it).
struct SettlementFile {
  std::string business_date, file_name, content, sha256;
  std::int64_t batches = 0, total_net = 0, created_at_us = 0;
};
Result<SettlementFile> record_settlement_file(store::Tx& tx, Env& env, std::string_view date);
Result<std::optional<SettlementFile>> get_settlement_file(store::Conn& conn, std::string_view date);

struct Payout {
  PayoutId id;
  std::string kind;  // settlement | withdrawal
  OrgId org;
  Money amount;
  std::string status;  // in_review | rejected | submitted | paid | bounced
  std::optional<std::string> bank_reference, failure_reason;
  std::optional<std::int64_t> risk_decision_id;
  std::int64_t created_at_us = 0;
  std::optional<std::int64_t> finished_at_us;
};
Result<std::optional<Payout>> get_payout(store::Conn& conn, PayoutId id);
Result<Page<Payout>> list_payouts(store::Conn& conn, OrgId org, std::int64_t before,
                                  std::size_t limit);

// A merchant asks for part of its available balance. The amount moves to in_transit at once;
// `in_review` waits for an operator (risk review), otherwise it is submitted to the bank.
Result<Payout> request_withdrawal(store::Tx& tx, Env& env, OrgId org, const Money& amount,
                                  UserId by, bool in_review,
                                  std::optional<std::int64_t> risk_decision_id);
// After a risk review: approved -> submitted; rejected -> the money returns to available.
Result<Payout> decide_withdrawal(store::Tx& tx, Env& env, PayoutId id, bool approved,
                                 std::string_view reason);

// Payouts waiting for the bank's answer.
Result<std::vector<Payout>> payouts_to_send(store::Conn& conn, std::size_t limit);
struct BankAnswer {
  bool paid = false;
  std::string bank_reference;
  std::string reason;  // why it bounced
};
// Applies the bank's answer once (a second answer for a finished payout changes nothing).
Status record_payout_answer(store::Tx& tx, Env& env, PayoutId id, const BankAnswer& answer);

// Where a merchant is paid.
struct PayoutAccount {
  OrgId org;
  std::string bank_name, holder_name, account_last4;
  std::int64_t updated_at_us = 0;
};
Status set_payout_account(store::Tx& tx, Env& env, OrgId org, std::string_view bank_name,
                          std::string_view holder_name, std::string_view account_no);
Result<std::optional<PayoutAccount>> get_payout_account(store::Conn& conn, OrgId org);
// The full account number, decrypted, for the bank instruction only.
Result<std::optional<std::string>> payout_account_number(store::Conn& conn, const Env& env,
                                                         OrgId org);

// The simulated custodian bank: pays every instruction except to accounts ending in 0004
// (closed account) or to merchants without a payout account; deterministic references.
BankAnswer simulated_bank_answer(const Payout& p, const std::optional<std::string>& account_no);

}  // namespace jishi::pay
