// The money core: a strict double-entry ledger with TigerBeetle's semantics on SQL.
//
// Accounts hold four balances (debits/credits, pending/posted) in one currency and may carry
// flags that bound them. Transfers are immutable and move an amount from a debit account to a
// credit account of the same currency. A transfer is single-phase, or two-phase: a pending
// transfer reserves the amount, and exactly one later post (in full or in part), void, or
// expiry resolves it. Transfers in a linked chain succeed or fail together. The transfer id is
// chosen by the caller and is the idempotency key: the same id with the same fields is
// `exists` and moves nothing; with other fields it is an error.
//
// Invariants (checked by verify_ledger and `jishi verify ledger`): per currency, total debits
// equal total credits (posted and pending alike); no account breaks its flags; every balance
// equals the sum of its transfers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/currency.h"
#include "core/ids.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::pay {

using AccountId = Id<struct LedgerAccountTag>;
using TransferId = Id<struct LedgerTransferTag>;

namespace account_flags {
inline constexpr std::uint32_t debits_must_not_exceed_credits = 1;  // e.g. a wallet
inline constexpr std::uint32_t credits_must_not_exceed_debits = 2;  // e.g. a receivable
inline constexpr std::uint32_t closed = 4;                          // takes no new transfers
}  // namespace account_flags

struct AccountSpec {
  AccountId id;
  Currency currency;
  std::int32_t code = 0;  // kind in the chart of accounts
  std::optional<std::int64_t> owner;
  std::uint32_t flags = 0;
};

struct Account {
  AccountId id;
  Currency currency;
  std::int32_t code = 0;
  std::optional<std::int64_t> owner;
  std::uint32_t flags = 0;
  std::int64_t debits_pending = 0;
  std::int64_t debits_posted = 0;
  std::int64_t credits_pending = 0;
  std::int64_t credits_posted = 0;
};

enum class TransferKind { single, pending, post_pending, void_pending };

struct TransferSpec {
  TransferId id;
  TransferKind kind = TransferKind::single;
  // single/pending: both accounts and amount > 0. post/void: pending_id; the accounts are taken
  // from the pending transfer; a post's amount 0 means "in full", else 1..pending amount.
  AccountId debit;
  AccountId credit;
  std::int64_t amount = 0;
  std::optional<TransferId> pending_id;
  std::int64_t timeout_us = 0;  // pending only: expire after this long; 0 = never
  std::int32_t code = 0;
  std::string reference;
  bool linked = false;  // this transfer and the next one succeed or fail together
};

// Per-transfer outcome. Names are stable (name_of) and reach the API as error codes.
enum class TransferResult {
  ok,
  exists,                        // same id, same fields: nothing moved (an idempotent retry)
  exists_with_different_fields,  // same id, other fields
  linked_event_failed,           // another transfer of its chain failed
  linked_event_chain_open,       // the last transfer of a batch has linked set
  amount_must_be_positive,
  accounts_must_be_different,
  debit_account_not_found,
  credit_account_not_found,
  accounts_must_have_the_same_currency,
  debit_account_closed,
  credit_account_closed,
  exceeds_credits,  // the debit account has debits_must_not_exceed_credits
  exceeds_debits,   // the credit account has credits_must_not_exceed_debits
  overflows_balance,
  pending_transfer_not_found,
  pending_transfer_not_pending,  // the referenced transfer is not two-phase
  pending_transfer_already_posted,
  pending_transfer_already_voided,
  pending_transfer_expired,
  exceeds_pending_transfer_amount,
  timeout_reserved_for_pending,
  invalid_kind_fields,  // e.g. a pending_id on a single-phase transfer
};
std::string_view name_of(TransferResult r);

// Creates accounts; an existing id with the same spec is fine, with another spec an error.
Status create_account(store::Tx& tx, const Clock& clock, const AccountSpec& spec);
Result<std::optional<Account>> get_account(store::Conn& conn, AccountId id);

// Applies transfers in order, each atomically, linked chains atomically together. Returns one
// result per transfer. Storage failures are errors for the whole call. The span is applied in
// memory and written once (each touched account once, new transfers as multi-row INSERTs), so
// a span of many transfers costs far less per transfer than a call per transfer.
Result<std::vector<TransferResult>> create_transfers(store::Tx& tx, const Clock& clock,
                                                     std::span<const TransferSpec> transfers);

// Voids every pending transfer whose timeout has passed (at clock.now_us()), as expiry
// transfers with ids from next_id; returns how many expired. Run by a durable timer.
Result<std::int64_t> expire_pending(store::Tx& tx, const Clock& clock, IdGenerator& ids,
                                    std::size_t limit);

// The first broken invariant, or nullopt when the ledger is sound.
Result<std::optional<std::string>> verify_ledger(store::Conn& conn);

}  // namespace jishi::pay
