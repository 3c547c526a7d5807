// The chart of accounts: which ledger accounts exist, what their balances mean, and which
// flags guard them. Accounts are made on first use and found by (code, owner, currency).
//
// clang-format off
//   account               code  owner     normal  flags            meaning
//   custody               1001  platform  debit   -                customer funds at the custodian bank (备付金)
//   clearing              1002  channel   debit   -                owed to us by a channel
//   receivable            1101  merchant  debit   credits<=debits  a merchant's refund shortfall
//   channel_fees          1201  platform  debit   -                fees the channels charge us
//   buyer_wallet          2001  user      credit  debits<=credits  a buyer's balance
//   escrow                2101  platform  credit  debits<=credits  paid, not yet released
//   merchant_pending      2201  merchant  credit  debits<=credits  held for the merchant
//   merchant_available    2202  merchant  credit  debits<=credits  to settle or withdraw
//   merchant_reserve      2203  merchant  credit  debits<=credits  rolling reserve
//   merchant_in_transit   2204  merchant  credit  debits<=credits  paid out, not yet confirmed
//   suspense              3001  platform  credit  -                differences until corrected
//   commission            4001  platform  credit  debits<=credits  commission revenue
//   payout_fees           4002  platform  credit  debits<=credits  fees charged on payouts
// clang-format on
//
// The buyer's money enters through a channel (clearing -> escrow), is held for the merchant as
// a pending transfer (escrow -> merchant_pending), is released net of commission
// (merchant_pending -> merchant_available + commission), settled (available -> in_transit) and
// paid out of custody (in_transit -> custody). docs/payments.md walks through every entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/currency.h"
#include "core/env.h"
#include "core/result.h"
#include "pay/ledger.h"
#include "store/database.h"

namespace jishi::pay {

enum class AccountCode : std::int32_t {
  custody = 1001,
  clearing = 1002,
  receivable = 1101,
  channel_fees = 1201,
  buyer_wallet = 2001,
  escrow = 2101,
  merchant_pending = 2201,
  merchant_available = 2202,
  merchant_reserve = 2203,
  merchant_in_transit = 2204,
  suspense = 3001,
  commission = 4001,
  payout_fees = 4002,
};
std::string_view name_of(AccountCode c);
std::uint32_t flags_of(AccountCode c);

// Why money moved: the ledger transfer code.
enum class TransferCode : std::int32_t {
  capture = 1,     // channel clearing (or a wallet) -> escrow
  hold = 2,        // escrow -> merchant pending (two-phase)
  release = 3,     // merchant pending -> available
  commission = 4,  // merchant pending -> commission
  refund = 5,      // escrow / available -> clearing or wallet
  refund_commission = 6,
  refund_shortfall = 7,  // receivable -> clearing
  settle = 8,            // available -> in_transit
  reserve = 9,           // available -> reserve
  payout_fee = 10,
  receivable_offset = 11,  // available -> receivable
  payout_paid = 12,        // in_transit -> custody
  payout_bounced = 13,     // in_transit -> available
  channel_settled = 14,    // clearing -> custody
  channel_fee = 15,        // clearing -> channel fees
  correction = 16,         // through suspense, by an operator
  wallet_topup = 17,       // clearing -> wallet
  late_payment = 18,       // clearing -> suspense, refunded at once
  withdrawal = 19,         // available -> in_transit
};
std::string_view name_of(TransferCode c);

// Platform accounts have owner 0; clearing accounts are owned by the channel number.
inline constexpr std::int64_t platform_owner = 0;

// The account for (code, owner, currency), created with the chart's flags on first use.
Result<AccountId> account_for(store::Tx& tx, Env& env, AccountCode code, std::int64_t owner,
                              const Currency& currency);
// Looks an account up without creating it.
Result<std::optional<AccountId>> find_account(store::Conn& conn, AccountCode code,
                                              std::int64_t owner, const Currency& currency);
// The account's balance in its normal direction (credits - debits for credit-normal accounts),
// posted only; pending amounts separately. Zero when the account does not exist.
struct Balance {
  std::int64_t posted = 0;
  std::int64_t pending_in = 0;   // pending transfers that will add to it
  std::int64_t pending_out = 0;  // pending transfers that will take from it
};
Result<Balance> balance_of(store::Conn& conn, AccountCode code, std::int64_t owner,
                           const Currency& currency);

// A transfer id no larger than any id of a transfer created at or after unix_us (ids are
// time-ordered, core/ids.h; a minute of slack covers ids minted before their transfer's
// created_at): lets a time range scan ledger_transfers by primary key, its only index (0006).
inline std::int64_t first_id_at_us(std::int64_t unix_us) {
  std::int64_t ms = unix_us / 1000 - 60'000 - IdGenerator::kEpochMs;
  return ms <= 0 ? 0 : ms << 22;
}

// Applies transfers that must all succeed (a linked chain). Any failure is an error naming the
// failing transfer's result; nothing is applied then.
Status apply_all(store::Tx& tx, const Clock& clock, std::span<TransferSpec> transfers);

}  // namespace jishi::pay
