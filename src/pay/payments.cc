#include "pay/payments.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/limits.h"
#include "core/registry.h"
#include "pay/chart.h"
#include "pay/ledger.h"
#include "store/watched_cache.h"

namespace jishi::pay {

namespace {

constexpr std::string_view kIntentColumns =
    "id, payer_id, purpose, reference, description, amount, currency, status, channel, trade_no, "
    "qr_code, cashier_url, fee, failure_code, failure_reason, risk_decision_id, expires_at_us, "
    "created_at_us, updated_at_us, succeeded_at_us, splits_from, listed_by";

Intent read_intent(const store::Row& r) {
  Intent i;
  i.id = IntentId{r.i64(0)};
  i.payer = UserId{r.i64(1)};
  i.purpose = r.text(2) == "wallet_topup" ? Purpose::wallet_topup : Purpose::escrow;
  i.reference = r.str(3);
  i.description = r.str(4);
  i.amount.minor = r.i64(5);
  if (auto c = currency_from_code(r.text(6))) i.amount.currency = *c;
  i.status = parse_intent_status(r.text(7)).value_or(IntentStatus::failed);
  if (!r.is_null(8)) i.channel = parse_channel(r.text(8));
  i.trade_no = r.opt_str(9);
  i.qr_code = r.opt_str(10);
  i.cashier_url = r.opt_str(11);
  i.fee = r.i64(12);
  i.failure_code = r.opt_str(13);
  i.failure_reason = r.opt_str(14);
  i.risk_decision_id = r.opt_i64(15);
  i.expires_at_us = r.i64(16);
  i.created_at_us = r.i64(17);
  i.updated_at_us = r.i64(18);
  i.succeeded_at_us = r.opt_i64(19);
  i.splits_from = r.opt_str(20).value_or("");
  i.listed_by_source = !r.is_null(21);
  return i;
}

// The sources of implied splits (imply_splits), by name.
NamedRegistry<ImpliedSplits>& sources() {
  static NamedRegistry<ImpliedSplits> s;
  return s;
}

bool is_open(IntentStatus s) {
  return s == IntentStatus::requires_payment || s == IntentStatus::processing;
}

// The intent's row, without its splits; else the intent a source implies under the id (with
// its splits, as the source made them).
Result<std::optional<Intent>> intent_row(store::Conn& conn, IntentId id) {
  JISHI_ASSIGN_OR_RETURN(auto stored, conn.query_one("SELECT " + std::string(kIntentColumns) +
                                                         " FROM pay_intents WHERE id = $1",
                                                     {id.value}, read_intent));
  if (stored) return stored;
  for (const auto& [name, fns] : sources().all()) {
    if (!fns.intent_of) continue;
    JISHI_ASSIGN_OR_RETURN(auto implied, fns.intent_of(conn, id));
    if (!implied) continue;
    if (implied->id != id || implied->splits_from != name || !implied->listed_by_source)
      return fail(Code::internal, "source " + name + " implies intent " + std::to_string(id.value) +
                                      " in a shape it cannot have");
    implied->implied = true;
    return implied;
  }
  return std::optional<Intent>{};
}

void sort_splits(std::vector<Split>& splits) {
  std::sort(splits.begin(), splits.end(),
            [](const Split& a, const Split& b) { return a.reference < b.reference; });
}

Status load_splits(store::Conn& c, Intent& i) {
  if (!i.splits_from.empty()) {
    auto source = sources().find(i.splits_from);
    if (!source)
      return fail(Code::internal, "no source for the splits of intent " +
                                      std::to_string(i.id.value) + " (" + i.splits_from + ")");
    // An implied intent comes with its splits, made from the same rows.
    if (!i.implied) {
      JISHI_ASSIGN_OR_RETURN(i.splits, source->splits_of(c, i));
    }
    sort_splits(i.splits);
    std::int64_t sum = 0;
    for (const auto& s : i.splits) sum += s.amount;
    if (i.splits.empty() || sum != i.amount.minor)
      return fail(Code::internal, "the splits " + i.splits_from + " implies for intent " +
                                      std::to_string(i.id.value) + " do not add up to its amount");
    return {};
  }
  i.splits.clear();
  return c.query(
      "SELECT reference, payee_org_id, amount, category FROM pay_intent_splits WHERE intent_id = "
      "$1 ORDER BY reference",
      {i.id.value}, [&](const store::Row& r) {
        i.splits.push_back(Split{r.str(0), OrgId{r.i64(1)}, r.i64(2), r.opt_str(3)});
        return true;
      });
}

// An open intent (not past its deadline) that holds the reference, stored or implied.
Result<std::optional<std::int64_t>> open_intent_for(store::Tx& tx, std::string_view reference,
                                                    std::int64_t now) {
  JISHI_ASSIGN_OR_RETURN(
      auto open,
      // Driven by the split's reference (indexed): the unary + keeps SQLite from walking
      // every open intent by pay_intents_open instead (that scan grew with open intents).
      tx.query_one("SELECT i.id FROM pay_intent_splits s JOIN pay_intents i ON i.id = "
                   "s.intent_id WHERE s.reference = $1 AND +i.status IN ('requires_payment', "
                   "'processing') AND +i.expires_at_us > $2",
                   {reference, now}, [](const store::Row& r) { return r.i64(0); }));
  if (open) return open;
  for (const auto& [name, fns] : sources().all()) {
    JISHI_ASSIGN_OR_RETURN(auto candidate, fns.intent_for_reference(tx, reference));
    if (!candidate) continue;
    JISHI_ASSIGN_OR_RETURN(auto i, intent_row(tx, *candidate));
    if (i && is_open(i->status) && i->expires_at_us > now) return std::optional(i->id.value);
  }
  return std::optional<std::int64_t>{};
}

Result<Intent> load_intent(store::Conn& c, IntentId id) {
  JISHI_ASSIGN_OR_RETURN(auto found, get_intent(c, id));
  if (!found) return fail(Code::not_found, "no such payment intent");
  return *found;
}

// The owner of a channel's clearing account.
std::int64_t channel_owner(Channel c) {
  return static_cast<std::int64_t>(c) + 1;
}

TransferSpec single(Env& env, AccountId debit, AccountId credit, std::int64_t amount,
                    TransferCode code, std::string_view reference) {
  TransferSpec t;
  t.id = TransferId{env.ids.next()};
  t.debit = debit;
  t.credit = credit;
  t.amount = amount;
  t.code = static_cast<std::int32_t>(code);
  t.reference = std::string(reference);
  return t;
}

// Where a payment came from and where its refunds go: the channel's clearing account, or the
// payer's wallet.
Result<AccountId> source_account(store::Tx& tx, Env& env, Channel channel, UserId payer,
                                 const Currency& c) {
  if (channel == Channel::wallet)
    return account_for(tx, env, AccountCode::buyer_wallet, payer.value, c);
  return account_for(tx, env, AccountCode::clearing, channel_owner(channel), c);
}

// Stores an intent as changed in memory: an implied one's first row, in its new state at once
// (so that paying it costs one INSERT, as paying a stored one costs one UPDATE); else the
// columns that may change.
Status save(store::Tx& tx, Intent& i) {
  store::Param channel = i.channel ? store::Param(name_of(*i.channel)) : store::Param(nullptr);
  if (i.implied) {
    store::Param from = i.splits_from.empty() ? store::Param(nullptr) : store::Param(i.splits_from);
    store::Param listed = i.listed_by_source ? from : store::Param(nullptr);
    JISHI_TRY(tx.exec(
        "INSERT INTO pay_intents (id, payer_id, purpose, reference, description, amount, "
        "currency, status, channel, trade_no, qr_code, cashier_url, fee, failure_code, "
        "failure_reason, risk_decision_id, expires_at_us, created_at_us, updated_at_us, "
        "succeeded_at_us, splits_from, listed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        {i.id.value,
         i.payer.value,
         name_of(i.purpose),
         i.reference,
         i.description,
         i.amount.minor,
         i.amount.currency.code_view(),
         name_of(i.status),
         channel,
         i.trade_no,
         i.qr_code,
         i.cashier_url,
         i.fee,
         i.failure_code,
         i.failure_reason,
         i.risk_decision_id,
         i.expires_at_us,
         i.created_at_us,
         i.updated_at_us,
         i.succeeded_at_us,
         from,
         listed}));
    i.implied = false;
    return {};
  }
  JISHI_ASSIGN_OR_RETURN(
      auto changed,
      tx.exec("UPDATE pay_intents SET status = $2, channel = $3, trade_no = $4, qr_code = $5, "
              "cashier_url = $6, fee = $7, failure_code = $8, failure_reason = $9, "
              "risk_decision_id = $10, updated_at_us = $11, succeeded_at_us = $12 WHERE id = $1",
              {i.id.value, name_of(i.status), channel, i.trade_no, i.qr_code, i.cashier_url, i.fee,
               i.failure_code, i.failure_reason, i.risk_decision_id, i.updated_at_us,
               i.succeeded_at_us}));
  if (changed != 1)
    return fail(Code::internal, "payment intent " + std::to_string(i.id.value) + " has no row");
  return {};
}

Status set_status(store::Tx& tx, Env& env, Intent& i, IntentStatus status) {
  i.status = status;
  i.updated_at_us = env.clock.now_us();
  return save(tx, i);
}

Escrow read_escrow(const store::Row& r) {
  Escrow e;
  e.reference = r.str(0);
  e.intent = IntentId{r.i64(1)};
  e.payer = UserId{r.i64(2)};
  e.payee = OrgId{r.i64(3)};
  e.channel = parse_channel(r.text(4)).value_or(Channel::card);
  if (auto c = currency_from_code(r.text(5))) e.currency = *c;
  e.category = r.opt_str(6);
  e.captured = r.i64(7);
  e.refunded_before_release = r.i64(8);
  e.released = r.i64(9);
  e.commission = r.i64(10);
  e.commission_rate_ppm = r.i64(11);
  e.refunded_after_release = r.i64(12);
  e.commission_refunded = r.i64(13);
  e.status = r.str(14);
  e.created_at_us = r.i64(15);
  e.released_at_us = r.opt_i64(16);
  return e;
}

Result<std::optional<std::int64_t>> hold_of(store::Conn& c, std::string_view reference) {
  JISHI_ASSIGN_OR_RETURN(
      auto row, c.query_one("SELECT hold_transfer_id FROM pay_escrows WHERE "
                            "reference = $1",
                            {reference}, [](const store::Row& r) { return r.opt_i64(0); }));
  if (!row) return std::optional<std::int64_t>();
  return *row;
}

// A pending transfer escrow -> merchant pending that holds `amount` for the payee.
Result<TransferSpec> hold_transfer(store::Tx& tx, Env& env, OrgId payee, const Currency& c,
                                   std::int64_t amount, std::string_view reference) {
  JISHI_ASSIGN_OR_RETURN(auto escrow, account_for(tx, env, AccountCode::escrow, platform_owner, c));
  JISHI_ASSIGN_OR_RETURN(auto pending,
                         account_for(tx, env, AccountCode::merchant_pending, payee.value, c));
  TransferSpec t = single(env, escrow, pending, amount, TransferCode::hold, reference);
  t.kind = TransferKind::pending;
  return t;
}

Refund read_refund(const store::Row& r) {
  Refund f;
  f.id = RefundId{r.i64(0)};
  f.reference = r.str(1);
  f.intent = IntentId{r.i64(2)};
  f.channel = parse_channel(r.text(3)).value_or(Channel::card);
  f.amount.minor = r.i64(4);
  if (auto c = currency_from_code(r.text(5))) f.amount.currency = *c;
  f.merchant_share = r.i64(6);
  f.commission_share = r.i64(7);
  f.shortfall = r.i64(8);
  f.reason = r.str(9);
  f.status = r.str(10);
  f.gateway_refund_no = r.opt_str(11);
  f.attempts = r.i64(12);
  f.created_at_us = r.i64(13);
  f.finished_at_us = r.opt_i64(14);
  return f;
}

constexpr std::string_view kRefundColumns =
    "id, reference, intent_id, channel, amount, currency, merchant_share, commission_share, "
    "shortfall, reason, status, gateway_refund_no, attempts, created_at_us, finished_at_us";

Result<Refund> insert_refund(store::Tx& tx, Env& env, const Refund& f, std::optional<UserId> by) {
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_refunds (id, reference, intent_id, channel, amount, currency, "
      "merchant_share, commission_share, shortfall, reason, status, requested_by, created_at_us, "
      "finished_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
      {f.id.value, f.reference, f.intent.value, name_of(f.channel), f.amount.minor,
       f.amount.currency.code_view(), f.merchant_share, f.commission_share, f.shortfall, f.reason,
       f.status, by ? std::optional(by->value) : std::nullopt, f.created_at_us, f.finished_at_us}));
  (void)env;
  return f;
}

// Captures a successful payment: money from the channel (or wallet) into escrow, held for each
// split's payee; or into the wallet for a top-up.
Status capture(store::Tx& tx, Env& env, const Intent& intent, Channel channel) {
  const Currency& c = intent.amount.currency;
  JISHI_ASSIGN_OR_RETURN(auto from, source_account(tx, env, channel, intent.payer, c));
  std::vector<TransferSpec> chain;
  auto ref = std::to_string(intent.id.value);
  if (intent.purpose == Purpose::wallet_topup) {
    JISHI_ASSIGN_OR_RETURN(auto wallet,
                           account_for(tx, env, AccountCode::buyer_wallet, intent.payer.value, c));
    chain.push_back(
        single(env, from, wallet, intent.amount.minor, TransferCode::wallet_topup, ref));
    return apply_all(tx, env.clock, chain);
  }
  JISHI_ASSIGN_OR_RETURN(auto escrow, account_for(tx, env, AccountCode::escrow, platform_owner, c));
  chain.push_back(single(env, from, escrow, intent.amount.minor, TransferCode::capture, ref));
  for (const auto& s : intent.splits) {
    JISHI_ASSIGN_OR_RETURN(auto hold, hold_transfer(tx, env, s.payee, c, s.amount, s.reference));
    chain.push_back(hold);
  }
  JISHI_TRY(apply_all(tx, env.clock, chain));
  std::int64_t now = env.clock.now_us();
  for (std::size_t i = 0; i < intent.splits.size(); ++i) {
    const auto& s = intent.splits[i];
    JISHI_TRY(tx.exec(
        "INSERT INTO pay_escrows (reference, intent_id, payer_id, payee_org_id, channel, "
        "currency, category, captured, hold_transfer_id, status, created_at_us) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, 'held', $10)",
        {s.reference, intent.id.value, intent.payer.value, s.payee.value, name_of(channel),
         c.code_view(), s.category, s.amount, chain[i + 1].id.value, now}));
  }
  return {};
}

// A payment that cannot be kept (its intent was closed, or its reference is already paid): the
// money is booked into suspense and refunded in full at once.
Status capture_and_refund(store::Tx& tx, Env& env, const Intent& intent, Channel channel,
                          std::string_view why) {
  const Currency& c = intent.amount.currency;
  JISHI_ASSIGN_OR_RETURN(auto from, source_account(tx, env, channel, intent.payer, c));
  JISHI_ASSIGN_OR_RETURN(auto suspense,
                         account_for(tx, env, AccountCode::suspense, platform_owner, c));
  auto ref = std::to_string(intent.id.value);
  std::vector<TransferSpec> chain{
      single(env, from, suspense, intent.amount.minor, TransferCode::late_payment, ref),
      single(env, suspense, from, intent.amount.minor, TransferCode::refund, ref)};
  JISHI_TRY(apply_all(tx, env.clock, chain));
  Refund f;
  f.id = RefundId{env.ids.next()};
  f.reference = "intent:" + ref;
  f.intent = intent.id;
  f.channel = channel;
  f.amount = intent.amount;
  f.reason = std::string(why);
  f.created_at_us = env.clock.now_us();
  f.status = channel == Channel::wallet ? "succeeded" : "submitted";
  if (channel == Channel::wallet) f.finished_at_us = f.created_at_us;
  JISHI_TRY(insert_refund(tx, env, f, std::nullopt));
  return {};
}

}  // namespace

std::string_view name_of(IntentStatus s) {
  switch (s) {
    case IntentStatus::requires_payment:
      return "requires_payment";
    case IntentStatus::processing:
      return "processing";
    case IntentStatus::succeeded:
      return "succeeded";
    case IntentStatus::failed:
      return "failed";
    case IntentStatus::cancelled:
      return "cancelled";
    case IntentStatus::expired:
      return "expired";
  }
  return "failed";
}

std::optional<IntentStatus> parse_intent_status(std::string_view s) {
  for (auto v : {IntentStatus::requires_payment, IntentStatus::processing, IntentStatus::succeeded,
                 IntentStatus::failed, IntentStatus::cancelled, IntentStatus::expired})
    if (s == name_of(v)) return v;
  return std::nullopt;
}

std::string_view name_of(Purpose p) {
  return p == Purpose::wallet_topup ? "wallet_topup" : "escrow";
}

std::string_view name_of(NotifyVerdict v) {
  switch (v) {
    case NotifyVerdict::applied:
      return "applied";
    case NotifyVerdict::duplicate:
      return "duplicate";
    case NotifyVerdict::ignored_not_final:
      return "ignored_not_final";
    case NotifyVerdict::stale:
      return "stale";
    case NotifyVerdict::rejected:
      return "rejected";
  }
  return "rejected";
}

std::int64_t mul_div_half_even(std::int64_t x, std::int64_t num, std::int64_t den) {
  __extension__ typedef __int128 i128;  // GCC/Clang: exact products of two int64
  i128 p = static_cast<i128>(x) * num;
  bool negative = p < 0;
  if (negative) p = -p;
  i128 q = p / den, r = p % den;
  if (2 * r > den || (2 * r == den && (q & 1) == 1)) ++q;
  return static_cast<std::int64_t>(negative ? -q : q);
}

std::int64_t commission_of(std::int64_t amount, std::int64_t rate_ppm) {
  return mul_div_half_even(amount, rate_ppm, 1'000'000);
}

namespace {
// The writer's memory of payees (prepare_payee_cache): kind and status by organisation, exact
// by store::TableWatch on `orgs` (dropped whenever an organisation is written, a transaction
// is rolled back, or another connection commits).
constexpr std::string_view kPayeeCache = "pay.payee_cache";
using PayeeCache = store::WatchedCache<std::int64_t, std::pair<std::string, std::string>>;

// The payee's kind and status; nullopt when there is no such organisation.
Result<std::optional<std::pair<std::string, std::string>>> payee_of(store::Tx& tx, OrgId org) {
  auto* cache = PayeeCache::of(tx, kPayeeCache);
  if (cache)
    if (const auto* kept = cache->find(org.value)) return *kept;
  JISHI_ASSIGN_OR_RETURN(
      auto payee, tx.query_one("SELECT kind, status FROM orgs WHERE id = $1", {org.value},
                               [](const store::Row& r) { return std::pair(r.str(0), r.str(1)); }));
  if (cache && payee) cache->keep(org.value, *payee);
  return payee;
}
}  // namespace

Status prepare_payee_cache(store::Conn& conn) {
  // Every column: an organisation is rarely written, and its key and credit code are unique
  // (a REPLACE on either would delete a row without a DELETE trigger).
  return PayeeCache::prepare(conn, kPayeeCache, "orgs", {}, limits::payee_cache_entries_max);
}

Result<Intent> create_intent(store::Tx& tx, Env& env, const NewIntent& n) {
  if (n.amount.minor <= 0 || n.amount.minor > limits::pay_amount_max)
    return fail(Code::validation_failed,
                "amount must be 1.." + std::to_string(limits::pay_amount_max), "/amount/amount");
  if (n.reference.empty() || n.reference.size() > limits::pay_reference_bytes_max)
    return fail(Code::validation_failed, "reference must be 1..64 bytes", "/reference");
  if (n.purpose == Purpose::escrow) {
    if (n.splits.empty() || n.splits.size() > limits::pay_splits_max)
      return fail(Code::validation_failed, "an escrow payment needs 1..50 splits", "/splits");
    std::int64_t sum = 0;
    std::set<std::string_view> refs;
    for (std::size_t i = 0; i < n.splits.size(); ++i) {
      const auto& s = n.splits[i];
      std::string at = "/splits/" + std::to_string(i);
      if (s.amount <= 0 || s.amount > limits::pay_amount_max)
        return fail(Code::validation_failed, "split amounts must be positive", at + "/amount");
      if (s.reference.empty() || s.reference.size() > limits::pay_reference_bytes_max)
        return fail(Code::validation_failed, "split references must be 1..64 bytes",
                    at + "/reference");
      if (!refs.insert(s.reference).second)
        return fail(Code::validation_failed, "split references must differ", at + "/reference");
      sum += s.amount;
      JISHI_ASSIGN_OR_RETURN(auto payee, payee_of(tx, s.payee));
      if (!payee || (payee->first != "merchant" && payee->first != "individual"))
        return fail(Code::validation_failed, "payee is not a merchant", at + "/payee_org_id");
      if (payee->second != "approved")
        return fail(Code::invalid_state, "the merchant is not approved to receive payments",
                    at + "/payee_org_id");
      if (n.fresh_references) continue;
      JISHI_ASSIGN_OR_RETURN(
          auto paid, tx.query_one("SELECT status FROM pay_escrows WHERE reference = $1",
                                  {s.reference}, [](const store::Row& r) { return r.str(0); }));
      if (paid)
        return fail(Code::conflict, "reference " + s.reference + " is already paid",
                    at + "/reference");
      JISHI_ASSIGN_OR_RETURN(auto open, open_intent_for(tx, s.reference, env.clock.now_us()));
      if (open)
        return fail(Code::conflict,
                    "reference " + s.reference + " already has an open payment intent " +
                        std::to_string(*open) + "; pay or cancel it first",
                    at + "/reference");
    }
    if (sum != n.amount.minor)
      return fail(Code::validation_failed, "the splits must add up to the amount", "/splits");
  } else if (!n.splits.empty()) {
    return fail(Code::validation_failed, "a wallet top-up has no splits", "/splits");
  }
  if (!n.splits_from.empty() && (n.purpose != Purpose::escrow || !sources().find(n.splits_from)))
    return fail(Code::internal, "no source " + n.splits_from + " for an intent's splits");
  if (n.listed_by_source &&
      (n.splits_from.empty() || !n.id || !sources().find(n.splits_from)->intents_of_payer))
    return fail(Code::internal, "an intent listed by its source needs the source and an id");
  if (n.implied && (!n.listed_by_source || !sources().find(n.splits_from)->intent_of))
    return fail(Code::internal, "an implied intent needs a source that lists and implies it");
  Intent i;
  i.id = n.id ? *n.id : IntentId{env.ids.next()};
  i.payer = n.payer;
  i.purpose = n.purpose;
  i.reference = n.reference;
  i.description = n.description;
  i.amount = n.amount;
  i.created_at_us = i.updated_at_us = n.at_us ? n.at_us : env.clock.now_us();
  i.expires_at_us = i.created_at_us + n.ttl_us;
  i.splits = n.splits;
  sort_splits(i.splits);  // as they are read
  i.splits_from = n.splits_from;
  i.listed_by_source = n.listed_by_source;
  i.implied = true;         // until stored: save() INSERTs it
  if (n.implied) return i;  // its source makes it from its own rows until its first change
  JISHI_TRY(save(tx, i));
  // Implied splits are made from their source's rows when read (load_splits).
  if (i.splits_from.empty())
    for (const auto& s : i.splits)
      JISHI_TRY(tx.exec(
          "INSERT INTO pay_intent_splits (intent_id, reference, payee_org_id, amount, category) "
          "VALUES ($1, $2, $3, $4, $5)",
          {i.id.value, s.reference, s.payee.value, s.amount, s.category}));
  return i;
}

void imply_splits(const std::string& source, ImpliedSplits source_fns) {
  sources().set(source, source_fns);
}

Result<std::optional<Intent>> get_intent(store::Conn& conn, IntentId id) {
  // On one snapshot: an implied intent is made by several reads (its row's absence, then its
  // source's rows), which the writer may change in between (storing the row as it pays).
  JISHI_ASSIGN_OR_RETURN(auto snapshot, store::ReadSnapshot::begin(conn));
  JISHI_ASSIGN_OR_RETURN(auto i, intent_row(conn, id));
  if (i) JISHI_TRY(load_splits(conn, *i));
  return i;
}

Result<Page<Intent>> list_intents(store::Conn& conn, UserId payer, std::int64_t before,
                                  std::size_t limit) {
  // The payer index's intents and those their sources list, merged newest first, on one
  // snapshot.
  JISHI_ASSIGN_OR_RETURN(auto snapshot, store::ReadSnapshot::begin(conn));
  std::int64_t below = before > 0 ? before : INT64_MAX;
  auto want = static_cast<std::int64_t>(limit + 1);
  Page<Intent> page;
  std::string sql = "SELECT " + std::string(kIntentColumns) +
                    " FROM pay_intents WHERE payer_id = $1 AND id < $2 AND listed_by IS NULL "
                    "ORDER BY id DESC LIMIT $3";
  JISHI_TRY(conn.query(sql, {payer.value, below, want}, [&](const store::Row& r) {
    page.items.push_back(read_intent(r));
    return true;
  }));
  for (const auto& [name, fns] : sources().all()) {
    if (!fns.intents_of_payer) continue;
    JISHI_ASSIGN_OR_RETURN(auto ids, fns.intents_of_payer(conn, payer, below, limit + 1));
    for (auto id : ids) {
      JISHI_ASSIGN_OR_RETURN(auto i, intent_row(conn, id));
      // What the source names must be an intent it lists, of this payer.
      if (!i || i->payer != payer || !i->listed_by_source || i->splits_from != name)
        return fail(Code::internal, "source " + name + " lists intent " + std::to_string(id.value) +
                                        ", which it does not hold");
      page.items.push_back(std::move(*i));
    }
  }
  std::sort(page.items.begin(), page.items.end(),
            [](const Intent& a, const Intent& b) { return a.id.value > b.id.value; });
  if (page.items.size() > limit + 1) page.items.resize(limit + 1);
  trim_page(page, limit, [](const auto& x) { return x.id.value; });
  for (auto& i : page.items) JISHI_TRY(load_splits(conn, i));
  return page;
}

namespace {
IntentSucceededHook g_succeeded_hook = nullptr;

Status after_success(store::Tx& tx, Env& env, IntentId id) {
  if (!g_succeeded_hook) return {};
  JISHI_ASSIGN_OR_RETURN(auto i, load_intent(tx, id));
  if (i.purpose != Purpose::escrow) return {};
  return g_succeeded_hook(tx, env, i);
}
}  // namespace

void set_intent_succeeded_hook(IntentSucceededHook hook) {
  g_succeeded_hook = hook;
}

Result<Intent> close_intent(store::Tx& tx, Env& env, IntentId id) {
  // An implied intent whose source has closed all it pays for already reads as expired: then
  // nothing is stored.
  JISHI_ASSIGN_OR_RETURN(auto i, load_intent(tx, id));
  if (is_open(i.status)) JISHI_TRY(set_status(tx, env, i, IntentStatus::expired));
  return load_intent(tx, id);
}

Result<Intent> cancel_intent(store::Tx& tx, Env& env, IntentId id, UserId payer) {
  JISHI_ASSIGN_OR_RETURN(auto i, load_intent(tx, id));
  if (i.payer != payer) return fail(Code::not_found, "no such payment intent");
  if (i.status != IntentStatus::requires_payment)
    return fail(Code::invalid_state,
                "only an intent that requires payment can be cancelled; it is " +
                    std::string(name_of(i.status)));
  JISHI_TRY(set_status(tx, env, i, IntentStatus::cancelled));
  return load_intent(tx, id);
}

Result<Intent> payable_intent(store::Conn& conn, const Clock& clock, IntentId id, UserId payer) {
  JISHI_ASSIGN_OR_RETURN(auto i, load_intent(conn, id));
  if (i.payer != payer) return fail(Code::not_found, "no such payment intent");
  if (i.status != IntentStatus::requires_payment && i.status != IntentStatus::processing)
    return fail(Code::invalid_state,
                "the payment intent is " + std::string(name_of(i.status)) + ", not payable");
  if (clock.now_us() >= i.expires_at_us)
    return fail(Code::invalid_state, "the payment intent has expired");
  return i;
}

Result<Intent> start_channel_payment(store::Tx& tx, Env& env, IntentId id, UserId payer,
                                     Channel channel, const GatewayTrade& trade,
                                     std::optional<std::int64_t> risk_decision_id) {
  JISHI_ASSIGN_OR_RETURN(auto i, payable_intent(tx, env.clock, id, payer));
  if (i.status == IntentStatus::processing && i.channel != channel)
    return fail(Code::invalid_state, "the payment is already under way with channel " +
                                         std::string(name_of(*i.channel)));
  if (trade.amount != i.amount.minor || trade.out_trade_no != std::to_string(id.value))
    return fail(Code::upstream_failure, "the gateway answered for another trade or amount");
  i.status = IntentStatus::processing;
  i.channel = channel;
  i.trade_no = trade.trade_no;
  i.qr_code = trade.qr_code.empty() ? std::nullopt : std::optional(trade.qr_code);
  i.cashier_url = trade.cashier_url.empty() ? std::nullopt : std::optional(trade.cashier_url);
  if (risk_decision_id) i.risk_decision_id = risk_decision_id;
  i.updated_at_us = env.clock.now_us();
  JISHI_TRY(save(tx, i));
  return load_intent(tx, id);
}

Result<Intent> pay_with_wallet(store::Tx& tx, Env& env, IntentId id, UserId payer,
                               std::optional<std::int64_t> risk_decision_id) {
  JISHI_ASSIGN_OR_RETURN(auto i, payable_intent(tx, env.clock, id, payer));
  if (i.purpose == Purpose::wallet_topup)
    return fail(Code::validation_failed, "a wallet cannot top itself up", "/channel");
  if (i.status != IntentStatus::requires_payment)
    return fail(Code::invalid_state, "the payment is already under way with another channel");
  JISHI_TRY(capture(tx, env, i, Channel::wallet));
  i.status = IntentStatus::succeeded;
  i.channel = Channel::wallet;
  i.risk_decision_id = risk_decision_id;
  i.updated_at_us = env.clock.now_us();
  i.succeeded_at_us = i.updated_at_us;
  JISHI_TRY(save(tx, i));
  JISHI_TRY(after_success(tx, env, id));
  return load_intent(tx, id);
}

Result<Intent> fail_intent(store::Tx& tx, Env& env, IntentId id, std::string_view code,
                           std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto i, load_intent(tx, id));
  if (!is_open(i.status))
    return fail(Code::invalid_state, "the payment intent is " + std::string(name_of(i.status)));
  i.status = IntentStatus::failed;
  i.failure_code = std::string(code);
  i.failure_reason = std::string(reason);
  i.updated_at_us = env.clock.now_us();
  JISHI_TRY(save(tx, i));
  return load_intent(tx, id);
}

namespace {

Status log_notification(store::Tx& tx, Env& env, Channel channel, const Notification& n,
                        NotifyVerdict v, std::string_view detail) {
  JISHI_TRY(
      tx.exec("INSERT INTO pay_notifications (id, channel, notify_id, out_trade_no, trade_status, "
              "verdict, detail, received_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
              {env.ids.next(), name_of(channel), n.notify_id, n.out_trade_no, n.trade_status,
               name_of(v), detail, env.clock.now_us()}));
  return {};
}

Result<NotifyResult> decide(store::Tx& tx, Env& env, Channel channel, const Notification& n) {
  if (!n.is_final()) return NotifyResult{NotifyVerdict::ignored_not_final, "not a final status"};
  std::int64_t id = 0;
  auto [ptr, ec] =
      std::from_chars(n.out_trade_no.data(), n.out_trade_no.data() + n.out_trade_no.size(), id);
  if (ec != std::errc() || ptr != n.out_trade_no.data() + n.out_trade_no.size() || id <= 0)
    return NotifyResult{NotifyVerdict::rejected, "out_trade_no is not one of our intents"};
  JISHI_ASSIGN_OR_RETURN(auto found, get_intent(tx, IntentId{id}));
  if (!found) return NotifyResult{NotifyVerdict::rejected, "no such intent"};
  Intent i = std::move(*found);
  if (n.amount != i.amount.minor || n.currency != i.amount.currency.code_view())
    return NotifyResult{NotifyVerdict::rejected, "amount or currency differs from the intent"};
  if (i.channel && *i.channel != channel)
    return NotifyResult{NotifyVerdict::rejected, "the intent was started with another channel"};
  if (i.trade_no && !n.trade_no.empty() && *i.trade_no != n.trade_no)
    return NotifyResult{NotifyVerdict::rejected, "trade_no differs from the gateway's answer"};
  std::int64_t now = env.clock.now_us();
  if (n.trade_status == "TRADE_CLOSED") {
    if (!is_open(i.status))
      return NotifyResult{
          i.status == IntentStatus::succeeded ? NotifyVerdict::stale : NotifyVerdict::duplicate,
          "the intent is already " + std::string(name_of(i.status))};
    i.status = IntentStatus::failed;
    i.channel = channel;
    i.failure_code = "channel_closed";
    i.failure_reason = "the channel closed the trade unpaid";
    i.updated_at_us = now;
    JISHI_TRY(save(tx, i));
    return NotifyResult{NotifyVerdict::applied, "failed"};
  }
  // TRADE_SUCCESS
  JISHI_ASSIGN_OR_RETURN(auto late_refund,
                         tx.query_one("SELECT id FROM pay_refunds WHERE reference = $1",
                                      {"intent:" + std::to_string(i.id.value)},
                                      [](const store::Row& r) { return r.i64(0); }));
  if (i.status == IntentStatus::succeeded || late_refund)
    return NotifyResult{NotifyVerdict::duplicate, "already captured"};
  // An intent its source closes (implied splits; expire_intents passes it over) may still be
  // open past its deadline until the source gets to it: it has lapsed all the same, as one the
  // worker would have expired by now.
  if (is_open(i.status) && !i.splits_from.empty() && now >= i.expires_at_us)
    i.status = IntentStatus::expired;  // stored below with the fee
  bool keep = is_open(i.status);
  for (const auto& s : i.splits) {
    JISHI_ASSIGN_OR_RETURN(
        auto paid, tx.query_one("SELECT intent_id FROM pay_escrows WHERE reference = $1",
                                {s.reference}, [](const store::Row& r) { return r.i64(0); }));
    if (paid) keep = false;
  }
  if (!keep) {
    JISHI_TRY(capture_and_refund(tx, env, i, channel,
                                 "paid after the intent was " + std::string(name_of(i.status)) +
                                     " or for a reference already paid: refunded in full"));
    i.fee = n.fee;
    i.updated_at_us = now;
    JISHI_TRY(save(tx, i));
    return NotifyResult{NotifyVerdict::applied, "late payment refunded"};
  }
  JISHI_TRY(capture(tx, env, i, channel));
  i.status = IntentStatus::succeeded;
  i.channel = channel;
  if (!i.trade_no) i.trade_no = n.trade_no;
  i.fee = n.fee;
  i.updated_at_us = now;
  i.succeeded_at_us = n.paid_at_us > 0 ? n.paid_at_us : now;
  JISHI_TRY(save(tx, i));
  JISHI_TRY(after_success(tx, env, i.id));
  return NotifyResult{NotifyVerdict::applied, "succeeded"};
}

}  // namespace

Result<NotifyResult> apply_notification(store::Tx& tx, Env& env, Channel channel,
                                        const Notification& n) {
  JISHI_ASSIGN_OR_RETURN(auto r, decide(tx, env, channel, n));
  JISHI_TRY(log_notification(tx, env, channel, n, r.verdict, r.detail));
  return r;
}

Status log_rejected_notification(store::Tx& tx, Env& env, Channel channel,
                                 const std::map<std::string, std::string>& form,
                                 std::string_view verdict, std::string_view detail) {
  auto field = [&](const char* k) -> std::optional<std::string> {
    auto it = form.find(k);
    if (it == form.end()) return std::nullopt;
    return it->second.substr(0, 64);
  };
  JISHI_TRY(
      tx.exec("INSERT INTO pay_notifications (id, channel, notify_id, out_trade_no, trade_status, "
              "verdict, detail, received_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
              {env.ids.next(), name_of(channel), field("notify_id"), field("out_trade_no"),
               field("trade_status"), verdict, detail, env.clock.now_us()}));
  return {};
}

Result<std::optional<Escrow>> get_escrow(store::Conn& conn, std::string_view reference) {
  return conn.query_one(
      "SELECT reference, intent_id, payer_id, payee_org_id, channel, currency, category, "
      "captured, refunded_before_release, released, commission, commission_rate_ppm, "
      "refunded_after_release, commission_refunded, status, created_at_us, released_at_us FROM "
      "pay_escrows WHERE reference = $1",
      {reference}, read_escrow);
}

Result<std::int64_t> commission_rate(store::Conn& conn, OrgId payee,
                                     const std::optional<std::string>& category,
                                     std::int64_t default_ppm) {
  auto rate = [&](std::string_view scope, std::string_view key) {
    return conn.query_one("SELECT rate_ppm FROM pay_commission_rates WHERE scope = $1 AND key = $2",
                          {scope, key}, [](const store::Row& r) { return r.i64(0); });
  };
  JISHI_ASSIGN_OR_RETURN(auto own, rate("merchant", std::to_string(payee.value)));
  if (own) return *own;
  if (category) {
    JISHI_ASSIGN_OR_RETURN(auto cat, rate("category", *category));
    if (cat) return *cat;
  }
  return default_ppm;
}

Status set_commission_rate(store::Tx& tx, Env& env, std::string_view scope, std::string_view key,
                           std::int64_t rate_ppm) {
  if (scope != "merchant" && scope != "category")
    return fail(Code::validation_failed, "scope must be merchant or category", "/scope");
  if (rate_ppm < 0 || rate_ppm > limits::pay_commission_ppm_max)
    return fail(Code::validation_failed, "rate_ppm must be 0..1000000", "/rate_ppm");
  JISHI_TRY(tx.exec(
      "INSERT INTO pay_commission_rates (scope, key, rate_ppm, updated_at_us) VALUES ($1, $2, $3, "
      "$4) ON CONFLICT (scope, key) DO UPDATE SET rate_ppm = excluded.rate_ppm, updated_at_us = "
      "excluded.updated_at_us",
      {scope, key, rate_ppm, env.clock.now_us()}));
  return {};
}

Result<Escrow> release(store::Tx& tx, Env& env, std::string_view reference,
                       std::int64_t default_commission_ppm) {
  JISHI_ASSIGN_OR_RETURN(auto found, get_escrow(tx, reference));
  if (!found) return fail(Code::not_found, "nothing is held in escrow for this reference");
  Escrow e = std::move(*found);
  if (e.status != "held") return fail(Code::invalid_state, "the escrow is already " + e.status);
  JISHI_ASSIGN_OR_RETURN(auto hold, hold_of(tx, reference));
  if (!hold) return fail(Code::internal, "held escrow without its hold transfer");
  std::int64_t gross = e.held();
  JISHI_ASSIGN_OR_RETURN(auto rate,
                         commission_rate(tx, e.payee, e.category, default_commission_ppm));
  std::int64_t commission = commission_of(gross, rate);
  const Currency& c = e.currency;
  JISHI_ASSIGN_OR_RETURN(auto pending,
                         account_for(tx, env, AccountCode::merchant_pending, e.payee.value, c));
  JISHI_ASSIGN_OR_RETURN(auto available,
                         account_for(tx, env, AccountCode::merchant_available, e.payee.value, c));
  JISHI_ASSIGN_OR_RETURN(auto revenue,
                         account_for(tx, env, AccountCode::commission, platform_owner, c));
  std::vector<TransferSpec> chain;
  TransferSpec post;
  post.id = TransferId{env.ids.next()};
  post.kind = TransferKind::post_pending;
  post.pending_id = TransferId{*hold};
  post.code = static_cast<std::int32_t>(TransferCode::hold);
  post.reference = std::string(reference);
  chain.push_back(post);
  if (gross - commission > 0)
    chain.push_back(
        single(env, pending, available, gross - commission, TransferCode::release, reference));
  if (commission > 0)
    chain.push_back(single(env, pending, revenue, commission, TransferCode::commission, reference));
  JISHI_TRY(apply_all(tx, env.clock, chain));
  JISHI_TRY(tx.exec(
      "UPDATE pay_escrows SET status = 'released', released = $2, commission = $3, "
      "commission_rate_ppm = $4, hold_transfer_id = NULL, released_at_us = $5 WHERE reference = $1",
      {reference, gross, commission, rate, env.clock.now_us()}));
  JISHI_ASSIGN_OR_RETURN(auto after, get_escrow(tx, reference));
  return *after;
}

Result<Refund> refund(store::Tx& tx, Env& env, std::string_view reference, std::int64_t amount,
                      std::string_view reason, std::optional<UserId> requested_by) {
  JISHI_ASSIGN_OR_RETURN(auto found, get_escrow(tx, reference));
  if (!found) return fail(Code::not_found, "nothing was paid for this reference");
  Escrow e = std::move(*found);
  if (amount <= 0) return fail(Code::validation_failed, "amount must be positive", "/amount");
  if (reason.empty() || reason.size() > limits::reason_bytes_max)
    return fail(Code::validation_failed, "a reason of 1..1000 bytes is required", "/reason");
  const Currency& c = e.currency;
  JISHI_ASSIGN_OR_RETURN(auto dest, source_account(tx, env, e.channel, e.payer, c));
  Refund f;
  f.id = RefundId{env.ids.next()};
  f.reference = std::string(reference);
  f.intent = e.intent;
  f.channel = e.channel;
  f.amount = Money{amount, c};
  f.reason = std::string(reason);
  f.created_at_us = env.clock.now_us();
  std::vector<TransferSpec> chain;
  if (e.status == "held") {
    std::int64_t held = e.held();
    if (amount > held)
      return fail(Code::validation_failed, "at most " + std::to_string(held) + " can be refunded",
                  "/amount");
    JISHI_ASSIGN_OR_RETURN(auto hold, hold_of(tx, reference));
    if (!hold) return fail(Code::internal, "held escrow without its hold transfer");
    JISHI_ASSIGN_OR_RETURN(auto escrow,
                           account_for(tx, env, AccountCode::escrow, platform_owner, c));
    TransferSpec v;
    v.id = TransferId{env.ids.next()};
    v.kind = TransferKind::void_pending;
    v.pending_id = TransferId{*hold};
    v.code = static_cast<std::int32_t>(TransferCode::hold);
    v.reference = std::string(reference);
    chain.push_back(v);
    chain.push_back(single(env, escrow, dest, amount, TransferCode::refund, reference));
    std::optional<std::int64_t> new_hold;
    if (held - amount > 0) {
      JISHI_ASSIGN_OR_RETURN(auto h, hold_transfer(tx, env, e.payee, c, held - amount, reference));
      new_hold = h.id.value;
      chain.push_back(h);
    }
    JISHI_TRY(apply_all(tx, env.clock, chain));
    JISHI_TRY(
        tx.exec("UPDATE pay_escrows SET refunded_before_release = refunded_before_release + $2, "
                "hold_transfer_id = $3, status = $4 WHERE reference = $1",
                {reference, amount, new_hold, new_hold ? "held" : "refunded"}));
  } else {
    std::int64_t refundable = e.released - e.refunded_after_release;
    if (amount > refundable)
      return fail(Code::validation_failed,
                  "at most " + std::to_string(refundable) + " can be refunded", "/amount");
    // The commission is returned in proportion, computed on the running total so the shares
    // add up to exactly the commission when everything is refunded.
    std::int64_t total_after = e.refunded_after_release + amount;
    f.commission_share =
        mul_div_half_even(e.commission, total_after, e.released) - e.commission_refunded;
    f.merchant_share = amount - f.commission_share;
    JISHI_ASSIGN_OR_RETURN(auto bal,
                           balance_of(tx, AccountCode::merchant_available, e.payee.value, c));
    std::int64_t usable = std::max<std::int64_t>(0, bal.posted - bal.pending_out);
    std::int64_t from_available = std::min(f.merchant_share, usable);
    f.shortfall = f.merchant_share - from_available;
    JISHI_ASSIGN_OR_RETURN(auto available,
                           account_for(tx, env, AccountCode::merchant_available, e.payee.value, c));
    JISHI_ASSIGN_OR_RETURN(auto receivable,
                           account_for(tx, env, AccountCode::receivable, e.payee.value, c));
    JISHI_ASSIGN_OR_RETURN(auto revenue,
                           account_for(tx, env, AccountCode::commission, platform_owner, c));
    if (from_available > 0)
      chain.push_back(
          single(env, available, dest, from_available, TransferCode::refund, reference));
    if (f.shortfall > 0)
      chain.push_back(
          single(env, receivable, dest, f.shortfall, TransferCode::refund_shortfall, reference));
    if (f.commission_share > 0)
      chain.push_back(single(env, revenue, dest, f.commission_share,
                             TransferCode::refund_commission, reference));
    JISHI_TRY(apply_all(tx, env.clock, chain));
    JISHI_TRY(
        tx.exec("UPDATE pay_escrows SET refunded_after_release = refunded_after_release + $2, "
                "commission_refunded = commission_refunded + $3 WHERE reference = $1",
                {reference, amount, f.commission_share}));
  }
  bool wallet = e.channel == Channel::wallet;
  f.status = wallet ? "succeeded" : "submitted";
  if (wallet) f.finished_at_us = f.created_at_us;
  return insert_refund(tx, env, f, requested_by);
}

Result<Page<Refund>> list_refunds(store::Conn& conn, std::string_view reference,
                                  std::int64_t before, std::size_t limit) {
  Page<Refund> page;
  std::string sql = "SELECT " + std::string(kRefundColumns) +
                    " FROM pay_refunds WHERE reference = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
  JISHI_TRY(conn.query(
      sql, {reference, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(read_refund(r));
        return true;
      }));
  trim_page(page, limit, [](const auto& x) { return x.id.value; });
  return page;
}

Result<std::vector<Refund>> refunds_to_submit(store::Conn& conn, std::size_t limit) {
  std::vector<Refund> out;
  std::string sql = "SELECT " + std::string(kRefundColumns) +
                    " FROM pay_refunds WHERE status = 'submitted' ORDER BY id LIMIT $1";
  JISHI_TRY(conn.query(sql, {static_cast<std::int64_t>(limit)}, [&](const store::Row& r) {
    out.push_back(read_refund(r));
    return true;
  }));
  return out;
}

Status record_refund_answer(store::Tx& tx, Env& env, RefundId id,
                            const Result<GatewayRefund>& answer, std::int64_t attempts_max) {
  std::int64_t now = env.clock.now_us();
  if (answer && answer->status == "REFUND_SUCCESS") {
    JISHI_TRY(tx.exec(
        "UPDATE pay_refunds SET status = 'succeeded', gateway_refund_no = $2, attempts = attempts "
        "+ 1, finished_at_us = $3 WHERE id = $1 AND status = 'submitted'",
        {id.value, answer->refund_no, now}));
    return {};
  }
  // Not done: retried by the worker until attempts_max. A refund the channel never accepts
  // is failed, and its money — taken out of escrow or the merchant when it was requested — is
  // parked in suspense (the channel still owes it to us; we owe it to the payer) until an
  // operator pays the payer another way.
  JISHI_ASSIGN_OR_RETURN(
      auto row, tx.query_one("SELECT " + std::string(kRefundColumns) +
                                 " FROM pay_refunds WHERE id = $1 AND status = 'submitted'",
                             {id.value}, read_refund));
  if (!row) return {};
  bool give_up = row->attempts + 1 >= attempts_max;
  if (give_up) {
    const Currency& c = row->amount.currency;
    JISHI_ASSIGN_OR_RETURN(
        auto clearing, account_for(tx, env, AccountCode::clearing, channel_owner(row->channel), c));
    JISHI_ASSIGN_OR_RETURN(auto suspense,
                           account_for(tx, env, AccountCode::suspense, platform_owner, c));
    std::vector<TransferSpec> chain{single(env, clearing, suspense, row->amount.minor,
                                           TransferCode::correction, row->reference)};
    JISHI_TRY(apply_all(tx, env.clock, chain));
  }
  JISHI_TRY(tx.exec(
      "UPDATE pay_refunds SET attempts = attempts + 1, status = $2, finished_at_us = $3 WHERE id "
      "= $1",
      {id.value, give_up ? "failed" : "submitted",
       give_up ? std::optional<std::int64_t>(now) : std::nullopt}));
  return {};
}

Result<std::int64_t> expire_intents(store::Tx& tx, Env& env, std::size_t limit) {
  std::int64_t now = env.clock.now_us();
  // Intents with implied splits are left to their source, which closes them with what they pay
  // for (the terms match the partial index pay_intents_open).
  return tx.exec(
      "UPDATE pay_intents SET status = 'expired', updated_at_us = $1 WHERE id IN (SELECT id FROM "
      "pay_intents WHERE status IN ('requires_payment', 'processing') AND splits_from IS NULL "
      "AND expires_at_us <= $1 LIMIT $2)",
      {now, static_cast<std::int64_t>(limit)});
}

Result<std::vector<Intent>> stale_processing_intents(store::Conn& conn, const Clock& clock,
                                                     std::int64_t older_than_us,
                                                     std::size_t limit) {
  std::vector<Intent> out;
  std::string sql = "SELECT " + std::string(kIntentColumns) +
                    " FROM pay_intents WHERE status = 'processing' AND updated_at_us < $1 ORDER "
                    "BY updated_at_us LIMIT $2";
  JISHI_TRY(conn.query(sql, {clock.now_us() - older_than_us, static_cast<std::int64_t>(limit)},
                       [&](const store::Row& r) {
                         out.push_back(read_intent(r));
                         return true;
                       }));
  return out;
}

Result<MerchantBalances> merchant_balances(store::Conn& conn, OrgId org, const Currency& c) {
  MerchantBalances b;
  b.currency = c;
  JISHI_ASSIGN_OR_RETURN(auto pending,
                         balance_of(conn, AccountCode::merchant_pending, org.value, c));
  b.pending = pending.posted + pending.pending_in - pending.pending_out;
  JISHI_ASSIGN_OR_RETURN(auto available,
                         balance_of(conn, AccountCode::merchant_available, org.value, c));
  b.available = available.posted;
  JISHI_ASSIGN_OR_RETURN(auto reserve,
                         balance_of(conn, AccountCode::merchant_reserve, org.value, c));
  b.reserve = reserve.posted;
  JISHI_ASSIGN_OR_RETURN(auto transit,
                         balance_of(conn, AccountCode::merchant_in_transit, org.value, c));
  b.in_transit = transit.posted;
  JISHI_ASSIGN_OR_RETURN(auto receivable, balance_of(conn, AccountCode::receivable, org.value, c));
  b.receivable = receivable.posted;
  return b;
}

Result<std::int64_t> wallet_balance(store::Conn& conn, UserId user, const Currency& c) {
  JISHI_ASSIGN_OR_RETURN(auto b, balance_of(conn, AccountCode::buyer_wallet, user.value, c));
  return b.posted;
}

Result<Page<StatementEntry>> statement(store::Conn& conn, std::int64_t owner, bool merchant,
                                       std::int64_t from_us, std::int64_t to_us,
                                       std::int64_t before, std::size_t limit) {
  Page<StatementEntry> page;
  // Each transfer touching one of the owner's accounts, once per account side it touches.
  // The codes are listed, not ranged: platform accounts sit between the merchant's codes.
  std::string codes = merchant ? "1101, 2201, 2202, 2203, 2204" : "2001";
  JISHI_TRY(conn.query(
      "SELECT t.id, a.code, t.code, CASE WHEN t.credit_account_id = a.account_id THEN t.amount "
      "ELSE -t.amount END, t.currency, t.reference, t.kind, t.created_at_us FROM pay_accounts a "
      "JOIN ledger_transfers t ON t.debit_account_id = a.account_id OR t.credit_account_id = "
      "a.account_id WHERE a.owner_id = $1 AND a.code IN (" +
          codes +
          ") AND t.id >= $6 AND t.created_at_us >= $2 AND t.created_at_us < $3 AND t.id < $4 "
          "ORDER BY t.id DESC LIMIT $5",
      {owner, from_us, to_us, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1),
       first_id_at_us(from_us)},
      [&](const store::Row& r) {
        StatementEntry e;
        e.transfer_id = r.i64(0);
        auto code = static_cast<AccountCode>(r.i64(1));
        e.account = std::string(name_of(code));
        e.code = std::string(name_of(static_cast<TransferCode>(r.i64(2))));
        e.amount = r.i64(3);
        // Debit-normal accounts (the receivable) grow with debits.
        if (code == AccountCode::receivable) e.amount = -e.amount;
        e.currency = r.str(4);
        e.reference = r.str(5);
        e.kind = r.str(6);
        e.created_at_us = r.i64(7);
        page.items.push_back(std::move(e));
        return true;
      }));
  trim_page(page, limit, [](const auto& x) { return x.transfer_id; });
  return page;
}

}  // namespace jishi::pay
