// Payment intents and escrow: the buyer's side of the payment service.
//
// An intent is a request to pay an amount for an opaque reference, split between payees (one
// merchant per split; a checkout across merchants is one intent with several splits):
//
//   requires_payment --confirm--> processing --final notification--> succeeded | failed
//          |  \--wallet------------------------------------------->  succeeded
//          \--cancel--> cancelled        (open intents past their deadline) --> expired
//
// A successful payment is captured into escrow and held for each split's payee as a pending
// ledger transfer (escrow -> merchant pending). release() posts it and pays the merchant net of
// commission; refund() returns money to the payer from escrow before release, or from the
// merchant (and the commission) after, booking any shortfall as the merchant's receivable.
// Every function runs inside the caller's transaction and moves money only through the ledger.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/result.h"
#include "pay/gateway.h"
#include "store/database.h"

namespace jishi::pay {

using IntentId = Id<struct PayIntentTag>;
using RefundId = Id<struct PayRefundTag>;

enum class IntentStatus { requires_payment, processing, succeeded, failed, cancelled, expired };
std::string_view name_of(IntentStatus s);
std::optional<IntentStatus> parse_intent_status(std::string_view s);

enum class Purpose { escrow, wallet_topup };
std::string_view name_of(Purpose p);

struct Split {
  std::string reference;  // the escrow's reference (an order id)
  OrgId payee;
  std::int64_t amount = 0;
  std::optional<std::string> category;  // picks the commission rate when the merchant has none
};

struct NewIntent {
  UserId payer;
  Purpose purpose = Purpose::escrow;
  std::string reference;
  std::string description;
  Money amount;
  std::vector<Split> splits;  // escrow: sums to amount; wallet_topup: empty
  std::int64_t ttl_us = 0;    // how long it may stay open
  // The split references were made in this same transaction (a checkout's new orders): nothing
  // can have paid them or hold an open intent for them, so those two lookups are skipped.
  bool fresh_references = false;
  // Not empty: the splits are not stored; the source registered under this name (imply_splits)
  // makes them from its own rows whenever the intent is read. `splits` must be what it will
  // make (they are still validated and returned).
  std::string splits_from;
  // With splits_from: that source also lists the intent among its payer's (intents_of_payer),
  // so it takes no entry in the payer index; the caller then names it with `id`, an id it
  // issued (env.ids) and can find again from its own rows.
  bool listed_by_source = false;
  // With listed_by_source: not stored at all until its first change. The source makes it from
  // its own rows when read (ImpliedSplits::intent_of), exactly as create_intent() returned it.
  bool implied = false;
  std::optional<IntentId> id;  // else a fresh one
  std::int64_t at_us = 0;      // when it is made; 0: the clock's now
};

struct Intent {
  IntentId id;
  UserId payer;
  Purpose purpose = Purpose::escrow;
  std::string reference;
  std::string description;
  Money amount;
  IntentStatus status = IntentStatus::requires_payment;
  std::optional<Channel> channel;
  std::optional<std::string> trade_no, qr_code, cashier_url;
  std::int64_t fee = 0;
  std::optional<std::string> failure_code, failure_reason;
  std::optional<std::int64_t> risk_decision_id;
  std::int64_t expires_at_us = 0, created_at_us = 0, updated_at_us = 0;
  std::optional<std::int64_t> succeeded_at_us;
  std::vector<Split> splits;
  std::string splits_from;        // "": stored as rows; else the source that implies them
  bool listed_by_source = false;  // listed by that source, not the payer index
  bool implied = false;           // no row yet: made by that source (NewIntent::implied)
};

// Splits implied by rows another module owns and never changes (a checkout's intent: one per
// order, from the orders themselves), so that the writer stores no split rows for them.
// Registered once at start (flows::register_on_read); an intent whose source is not registered
// is refused when created and fails (Code::internal) when read, rather than show no splits.
// Such an intent is also the source's to close when it lapses (close_intent): expire_intents()
// passes it over, so that it costs no entry in the expiry index.
//
// A source may also imply the whole intent until its first change (NewIntent::implied): no row
// is stored at creation; reads ask the source (intent_of) when pay_intents has no row for the
// id, and the first change (paying, failing, cancelling, closing) stores the row in its new
// state. Until then the source derives its status from what it pays for: requires_payment
// while something is still payable, expired once all of it was closed (so closing it then
// stores nothing).
struct ImpliedSplits {
  // The intent's splits (any order; sorted by reference by the caller).
  Result<std::vector<Split>> (*splits_of)(store::Conn& conn, const Intent& intent) = nullptr;
  // The intent that may hold `reference` through this source, if any: the open-intent check of
  // create_intent() asks it, as it asks the stored rows.
  Result<std::optional<IntentId>> (*intent_for_reference)(store::Conn& conn,
                                                          std::string_view reference) = nullptr;
  // The intents it lists for `payer` (those created with listed_by_source), newest first: ids
  // below `before`, at most `limit` (list_intents merges them with the payer index's).
  Result<std::vector<IntentId>> (*intents_of_payer)(store::Conn& conn, UserId payer,
                                                    std::int64_t before,
                                                    std::size_t limit) = nullptr;
  // The intent it implies under `id` (created with NewIntent::implied and not changed since),
  // with its splits; nullopt if it implies none there. Null: this source implies no intents.
  Result<std::optional<Intent>> (*intent_of)(store::Conn& conn, IntentId id) = nullptr;
};
void imply_splits(const std::string& source, ImpliedSplits source_fns);

// Validates and stores a new intent. A split reference that is already paid (has an escrow) or
// has another open intent is a conflict.
Result<Intent> create_intent(store::Tx& tx, Env& env, const NewIntent& n);
// On the writer's connection: create_intent() keeps the payees' kind and status in memory
// instead of reading the organisation for every split (a checkout's intent has one per
// merchant). Exact by store::TableWatch; on an engine that cannot watch, it does nothing.
Status prepare_payee_cache(store::Conn& conn);
Result<std::optional<Intent>> get_intent(store::Conn& conn, IntentId id);
Result<Page<Intent>> list_intents(store::Conn& conn, UserId payer, std::int64_t before,
                                  std::size_t limit);
// The payer gives up an open intent (requires_payment only; a processing one may still be paid).
Result<Intent> cancel_intent(store::Tx& tx, Env& env, IntentId id, UserId payer);

// Closes an open intent now (requires_payment or processing -> expired) because what it pays for
// was closed (an unpaid order timed out). A payment the channel reports afterwards is a late
// payment: captured into suspense and refunded. Closing a closed intent changes nothing.
Result<Intent> close_intent(store::Tx& tx, Env& env, IntentId id);

// Called inside the transaction in which an escrow intent succeeds (after the capture), so that
// what was paid for (orders) changes state in the same transaction. Set once at start-up, before
// any thread runs; an error fails the whole command (the notification is retried).
using IntentSucceededHook = Status (*)(store::Tx& tx, Env& env, const Intent& intent);
void set_intent_succeeded_hook(IntentSucceededHook hook);

// Checks that the payer may start paying the intent (open, theirs, not past its deadline).
Result<Intent> payable_intent(store::Conn& conn, const Clock& clock, IntentId id, UserId payer);
// Records that the gateway has a trade for the intent: processing, with what the payer needs
// (QR text, cashier URL). The gateway call happened before this transaction.
Result<Intent> start_channel_payment(store::Tx& tx, Env& env, IntentId id, UserId payer,
                                     Channel channel, const GatewayTrade& trade,
                                     std::optional<std::int64_t> risk_decision_id);
// Pays from the payer's wallet at once: succeeded, captured into escrow.
Result<Intent> pay_with_wallet(store::Tx& tx, Env& env, IntentId id, UserId payer,
                               std::optional<std::int64_t> risk_decision_id);
// Marks an open intent failed (the risk rules blocked it, the channel declined it).
Result<Intent> fail_intent(store::Tx& tx, Env& env, IntentId id, std::string_view code,
                           std::string_view reason);

// What a verified channel notification (or a signed query answer) did.
enum class NotifyVerdict { applied, duplicate, ignored_not_final, stale, rejected };
std::string_view name_of(NotifyVerdict v);
struct NotifyResult {
  NotifyVerdict verdict;
  std::string detail;
};
// Applies a final trade status to its intent exactly once. TRADE_SUCCESS captures the money
// (a late success on a closed intent, or a second payment for a paid reference, is captured into
// suspense and refunded at once); TRADE_CLOSED fails an open intent. Amount, currency or channel
// differing from the intent is `rejected`. Logs the notification with its verdict.
Result<NotifyResult> apply_notification(store::Tx& tx, Env& env, Channel channel,
                                        const Notification& n);
// Logs a notification that never reached apply_notification (bad signature, malformed).
Status log_rejected_notification(store::Tx& tx, Env& env, Channel channel,
                                 const std::map<std::string, std::string>& form,
                                 std::string_view verdict, std::string_view detail);

struct Escrow {
  std::string reference;
  IntentId intent;
  UserId payer;
  OrgId payee;
  Channel channel = Channel::card;
  Currency currency;
  std::optional<std::string> category;
  std::int64_t captured = 0, refunded_before_release = 0, released = 0, commission = 0;
  std::int64_t commission_rate_ppm = 0, refunded_after_release = 0, commission_refunded = 0;
  std::string status;  // held | released | refunded
  std::int64_t created_at_us = 0;
  std::optional<std::int64_t> released_at_us;
  std::int64_t held() const { return status == "held" ? captured - refunded_before_release : 0; }
};
Result<std::optional<Escrow>> get_escrow(store::Conn& conn, std::string_view reference);

// commission = round_half_even(amount * rate_ppm / 1,000,000), exact in 128-bit arithmetic.
std::int64_t commission_of(std::int64_t amount, std::int64_t rate_ppm);
// x * num / den rounded half to even (den > 0, results within int64).
std::int64_t mul_div_half_even(std::int64_t x, std::int64_t num, std::int64_t den);

// The rate for a payee: its own rate, else its category's, else default_ppm.
Result<std::int64_t> commission_rate(store::Conn& conn, OrgId payee,
                                     const std::optional<std::string>& category,
                                     std::int64_t default_ppm);
Status set_commission_rate(store::Tx& tx, Env& env, std::string_view scope, std::string_view key,
                           std::int64_t rate_ppm);

// Releases a held escrow to its merchant net of commission (linked transfers). invalid_state
// when not held (already released or fully refunded).
Result<Escrow> release(store::Tx& tx, Env& env, std::string_view reference,
                       std::int64_t default_commission_ppm);

struct Refund {
  RefundId id;
  std::string reference;
  IntentId intent;
  Channel channel = Channel::card;
  Money amount;
  std::int64_t merchant_share = 0, commission_share = 0, shortfall = 0;
  std::string reason;
  std::string status;  // submitted | succeeded | failed
  std::optional<std::string> gateway_refund_no;
  std::int64_t attempts = 0;
  std::int64_t created_at_us = 0;
  std::optional<std::int64_t> finished_at_us;
};
// Refunds part or all of what is left of a reference's payment. Wallet payments are refunded at
// once; channel refunds are `submitted` and sent to the gateway by the worker after COMMIT.
Result<Refund> refund(store::Tx& tx, Env& env, std::string_view reference, std::int64_t amount,
                      std::string_view reason, std::optional<UserId> requested_by);
Result<Page<Refund>> list_refunds(store::Conn& conn, std::string_view reference,
                                  std::int64_t before, std::size_t limit);

// For the background worker: refunds waiting for the gateway, and recording its answer.
Result<std::vector<Refund>> refunds_to_submit(store::Conn& conn, std::size_t limit);
Status record_refund_answer(store::Tx& tx, Env& env, RefundId id,
                            const Result<GatewayRefund>& answer, std::int64_t attempts_max);
// Open intents past their deadline become expired; returns how many. An intent with implied
// splits is its source's to close, with what it pays for (imply_splits): this passes it over.
Result<std::int64_t> expire_intents(store::Tx& tx, Env& env, std::size_t limit);
// Processing intents older than `older_than_us` with no final notification yet: the worker
// asks the gateway for them (a notification may have been lost).
Result<std::vector<Intent>> stale_processing_intents(store::Conn& conn, const Clock& clock,
                                                     std::int64_t older_than_us, std::size_t limit);

// Balances as the owner sees them.
struct MerchantBalances {
  Currency currency;
  std::int64_t pending = 0, available = 0, reserve = 0, in_transit = 0, receivable = 0;
};
Result<MerchantBalances> merchant_balances(store::Conn& conn, OrgId org, const Currency& c);
Result<std::int64_t> wallet_balance(store::Conn& conn, UserId user, const Currency& c);

// One line of an owner's statement: a ledger transfer touching one of its accounts.
struct StatementEntry {
  std::int64_t transfer_id = 0;
  std::string account;      // chart name, e.g. merchant_available
  std::string code;         // transfer code name, e.g. release
  std::int64_t amount = 0;  // + into the account, - out of it (in its normal direction)
  std::string currency;
  std::string reference;
  std::string kind;  // single | pending | post_pending | void_pending | expire_pending
  std::int64_t created_at_us = 0;
};
// owner_code_min/max pick the owner's accounts (merchant 1101..2299 for an org; wallet for a user).
Result<Page<StatementEntry>> statement(store::Conn& conn, std::int64_t owner, bool merchant,
                                       std::int64_t from_us, std::int64_t to_us,
                                       std::int64_t before, std::size_t limit);

}  // namespace jishi::pay
