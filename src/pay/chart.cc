#include "pay/chart.h"

#include "pay/gateway.h"

#include <string>

namespace jishi::pay {

std::string_view name_of(AccountCode c) {
  switch (c) {
    case AccountCode::custody:
      return "custody";
    case AccountCode::clearing:
      return "clearing";
    case AccountCode::receivable:
      return "receivable";
    case AccountCode::channel_fees:
      return "channel_fees";
    case AccountCode::buyer_wallet:
      return "buyer_wallet";
    case AccountCode::escrow:
      return "escrow";
    case AccountCode::merchant_pending:
      return "merchant_pending";
    case AccountCode::merchant_available:
      return "merchant_available";
    case AccountCode::merchant_reserve:
      return "merchant_reserve";
    case AccountCode::merchant_in_transit:
      return "merchant_in_transit";
    case AccountCode::suspense:
      return "suspense";
    case AccountCode::commission:
      return "commission";
    case AccountCode::payout_fees:
      return "payout_fees";
  }
  return "unknown";
}

std::uint32_t flags_of(AccountCode c) {
  switch (c) {
    case AccountCode::receivable:
      return account_flags::credits_must_not_exceed_debits;
    case AccountCode::buyer_wallet:
    case AccountCode::escrow:
    case AccountCode::merchant_pending:
    case AccountCode::merchant_available:
    case AccountCode::merchant_reserve:
    case AccountCode::merchant_in_transit:
    case AccountCode::commission:
    case AccountCode::payout_fees:
      return account_flags::debits_must_not_exceed_credits;
    case AccountCode::custody:
    case AccountCode::clearing:
    case AccountCode::channel_fees:
    case AccountCode::suspense:
      return 0;
  }
  return 0;
}

std::string_view name_of(TransferCode c) {
  switch (c) {
    case TransferCode::capture:
      return "capture";
    case TransferCode::hold:
      return "hold";
    case TransferCode::release:
      return "release";
    case TransferCode::commission:
      return "commission";
    case TransferCode::refund:
      return "refund";
    case TransferCode::refund_commission:
      return "refund_commission";
    case TransferCode::refund_shortfall:
      return "refund_shortfall";
    case TransferCode::settle:
      return "settle";
    case TransferCode::reserve:
      return "reserve";
    case TransferCode::payout_fee:
      return "payout_fee";
    case TransferCode::receivable_offset:
      return "receivable_offset";
    case TransferCode::payout_paid:
      return "payout_paid";
    case TransferCode::payout_bounced:
      return "payout_bounced";
    case TransferCode::channel_settled:
      return "channel_settled";
    case TransferCode::channel_fee:
      return "channel_fee";
    case TransferCode::correction:
      return "correction";
    case TransferCode::wallet_topup:
      return "wallet_topup";
    case TransferCode::late_payment:
      return "late_payment";
    case TransferCode::withdrawal:
      return "withdrawal";
  }
  return "unknown";
}

Result<std::optional<AccountId>> find_account(store::Conn& conn, AccountCode code,
                                              std::int64_t owner, const Currency& currency) {
  JISHI_ASSIGN_OR_RETURN(
      auto id, conn.query_one("SELECT account_id FROM pay_accounts WHERE code = $1 AND owner_id = "
                              "$2 AND currency = $3",
                              {static_cast<std::int64_t>(code), owner, currency.code_view()},
                              [](const store::Row& r) { return r.i64(0); }));
  if (!id) return std::optional<AccountId>();
  return std::optional(AccountId{*id});
}

Result<AccountId> account_for(store::Tx& tx, Env& env, AccountCode code, std::int64_t owner,
                              const Currency& currency) {
  JISHI_ASSIGN_OR_RETURN(auto found, find_account(tx, code, owner, currency));
  if (found) return *found;
  AccountSpec spec;
  spec.id = AccountId{env.ids.next()};
  spec.currency = currency;
  spec.code = static_cast<std::int32_t>(code);
  if (owner != platform_owner) spec.owner = owner;
  spec.flags = flags_of(code);
  JISHI_TRY(create_account(tx, env.clock, spec));
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_accounts (code, owner_id, currency, account_id) VALUES ($1, $2, $3, $4)",
      {static_cast<std::int64_t>(code), owner, currency.code_view(), spec.id.value}));
  return spec.id;
}

Result<Balance> balance_of(store::Conn& conn, AccountCode code, std::int64_t owner,
                           const Currency& currency) {
  JISHI_ASSIGN_OR_RETURN(auto id, find_account(conn, code, owner, currency));
  Balance b;
  if (!id) return b;
  JISHI_ASSIGN_OR_RETURN(auto a, get_account(conn, *id));
  if (!a) return b;
  // Codes from 2000 are liabilities and revenue (suspense too: money held until explained).
  bool credit_normal = static_cast<std::int32_t>(code) >= 2000;
  if (credit_normal) {
    b.posted = a->credits_posted - a->debits_posted;
    b.pending_in = a->credits_pending;
    b.pending_out = a->debits_pending;
  } else {
    b.posted = a->debits_posted - a->credits_posted;
    b.pending_in = a->debits_pending;
    b.pending_out = a->credits_pending;
  }
  return b;
}

Status apply_all(store::Tx& tx, const Clock& clock, std::span<TransferSpec> transfers) {
  if (transfers.empty()) return {};
  for (std::size_t i = 0; i + 1 < transfers.size(); ++i) transfers[i].linked = true;
  transfers.back().linked = false;
  JISHI_ASSIGN_OR_RETURN(auto results, create_transfers(tx, clock, transfers));
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto r = results[i];
    if (r == TransferResult::ok) continue;
    if (r == TransferResult::linked_event_failed) continue;  // another one is the cause
    Code code = r == TransferResult::exceeds_credits || r == TransferResult::exceeds_debits
                    ? Code::insufficient_funds
                    : Code::conflict;
    return fail(code, "ledger refused transfer " + std::to_string(i + 1) + " (" +
                          std::string(name_of(static_cast<TransferCode>(transfers[i].code))) +
                          "): " + std::string(name_of(r)));
  }
  return {};
}

}  // namespace jishi::pay
