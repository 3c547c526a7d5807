// Risk control before a payment or a withdrawal (风控). evaluate() runs inside the caller's
// writer transaction (the payment or withdrawal command) and decides allow, review or block:
//
//   1. a block-list hit (user, card, account, device, ip) blocks;
//   2. a subject that already has a review gets its verdict: approved -> allow,
//      rejected -> block, pending -> review (no second review is opened);
//   3. an allow-list hit allows, skipping the limit and velocity rules;
//   4. otherwise every enabled rule for the action and account class is checked and the worst
//      outcome wins (block over review over allow); a review outcome opens a review.
//
// Every evaluation is recorded as a decision with a reason that names the rule or list entry
// and the numbers ("amount 600000 > per-transaction limit 500000"), and as velocity events.
// Card and account numbers arrive raw and are hashed (FieldCipher::lookup_hash) at once; they
// are never stored raw. Rules and lists are operator data (tables risk_*, migration 0005).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/result.h"
#include "core/timezone.h"
#include "store/database.h"

namespace jishi::pay::risk {

using RuleId = Id<struct RiskRuleTag>;
using ListEntryId = Id<struct RiskListEntryTag>;
using DecisionId = Id<struct RiskDecisionTag>;
using ReviewId = Id<struct RiskReviewTag>;

enum class Action { payment, withdrawal };
enum class AccountClass { personal, merchant };  // buyer wallets/cards vs merchant accounts
enum class Outcome { allow, review, block };     // in rising severity: the worst one wins
enum class RuleKind { per_transaction, per_day, velocity };
// What a velocity rule counts by; user is the context's party (a user, or the withdrawing org).
enum class VelocityKey { user, card, device, ip };
enum class ListKind { block, allow };
enum class EntryKind { card, account, user, device, ip };
enum class ReviewStatus { pending, approved, rejected };

std::string_view name_of(Action v);
std::string_view name_of(AccountClass v);
std::string_view name_of(Outcome v);
std::string_view name_of(RuleKind v);
std::string_view name_of(VelocityKey v);
std::string_view name_of(ListKind v);
std::string_view name_of(EntryKind v);
std::string_view name_of(ReviewStatus v);
std::optional<Action> parse_action(std::string_view s);
std::optional<AccountClass> parse_account_class(std::string_view s);
std::optional<Outcome> parse_outcome(std::string_view s);
std::optional<RuleKind> parse_rule_kind(std::string_view s);
std::optional<VelocityKey> parse_velocity_key(std::string_view s);
std::optional<ListKind> parse_list_kind(std::string_view s);
std::optional<EntryKind> parse_entry_kind(std::string_view s);
std::optional<ReviewStatus> parse_review_status(std::string_view s);

// --- Evaluation -------------------------------------------------------------------------------

struct Context {
  Action action = Action::payment;
  AccountClass account_class = AccountClass::personal;
  std::int64_t party_id = 0;    // the paying user, or the withdrawing organisation
  std::string subject_kind;     // "payment_intent" | "withdrawal"
  std::int64_t subject_id = 0;  // its id: reviews are per subject
  Money amount;                 // >= 0
  std::optional<std::string> card_no, account_no;  // raw; hashed inside, never stored raw
  std::optional<std::string> device_id, ip;
};

struct Decision {
  Outcome outcome = Outcome::allow;
  std::int64_t decision_id = 0;
  std::optional<std::int64_t> rule_id;  // the deciding rule
  std::string reason;
  std::optional<std::int64_t> review_id;  // set when the outcome is review, or a review decided
};

// Evaluates every enabled rule and list; records the decision (and the velocity events); opens
// a review when the outcome is review. If the subject already has a review: approved -> allow,
// rejected -> block, pending -> review (no second review). The per-day limit sums the party's
// allowed amounts since local midnight in day_zone (config key pay_timezone). A block or review
// is not an error: the caller commits the decision and refuses or holds the payment.
// validation_failed for a malformed context (unknown subject kind, oversized strings).
Result<Decision> evaluate(store::Tx& tx, const Env& env, const Context& ctx,
                          const TimeZone& day_zone = TimeZone::asia_shanghai());

// Deletes velocity events older than the longest window a rule may have; at most `limit` rows
// per call (a housekeeping job). Returns how many were deleted.
Result<std::int64_t> prune_events(store::Tx& tx, const Env& env, std::size_t limit);

// --- Rules ------------------------------------------------------------------------------------

struct Rule {
  RuleId id;
  RuleKind kind = RuleKind::per_transaction;
  Action action = Action::payment;
  AccountClass account_class = AccountClass::personal;
  Outcome outcome = Outcome::review;  // review | block
  bool enabled = true;
  std::optional<Money> max_amount;          // per_transaction, per_day
  std::optional<VelocityKey> velocity_key;  // velocity
  std::optional<std::int64_t> max_count;    // velocity
  std::optional<std::int64_t> window_s;     // velocity
  std::string description;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
};

// A rule as created: the fields of its kind must be set and the others absent.
struct NewRule {
  RuleKind kind = RuleKind::per_transaction;
  Action action = Action::payment;
  AccountClass account_class = AccountClass::personal;
  Outcome outcome = Outcome::review;
  bool enabled = true;
  std::optional<Money> max_amount;
  std::optional<VelocityKey> velocity_key;
  std::optional<std::int64_t> max_count;
  std::optional<std::int64_t> window_s;
  std::string description;
};

// A change to a rule; absent fields stay. Fields of another kind are validation_failed.
struct RulePatch {
  std::optional<bool> enabled;
  std::optional<Outcome> outcome;
  std::optional<Money> max_amount;
  std::optional<std::int64_t> max_count;
  std::optional<std::int64_t> window_s;
  std::optional<std::string> description;
};

template <class T>
using Page = jishi::Page<T>;  // newest first: pass next_cursor as cursor for the next page

// validation_failed for a bad combination or a value out of limits::risk_*; invalid_state when
// limits::risk_rules_max rules exist.
Result<Rule> create_rule(store::Tx& tx, const Env& env, const NewRule& rule);
Result<Rule> update_rule(store::Tx& tx, const Env& env, RuleId id, const RulePatch& patch);
Result<std::optional<Rule>> get_rule(store::Conn& conn, RuleId id);
Result<Page<Rule>> list_rules(store::Conn& conn, std::int64_t cursor, std::size_t limit);

// --- Lists ------------------------------------------------------------------------------------

struct ListEntry {
  ListEntryId id;
  ListKind list = ListKind::block;
  EntryKind kind = EntryKind::card;
  std::string display;  // ****1234 for card and account; the value itself otherwise
  std::string value_hash;
  std::string note;
  UserId created_by;
  std::int64_t created_at_us = 0;
};

struct NewListEntry {
  ListKind list = ListKind::block;
  EntryKind kind = EntryKind::card;
  std::string value;  // raw: card 12..19 digits, account 6..34 letters/digits, user id,
                      // device id, IPv4/IPv6 address
  std::string note;
  UserId created_by;
};

// validation_failed for a malformed value; already_exists when the list has it.
Result<ListEntry> add_list_entry(store::Tx& tx, const Env& env, const NewListEntry& entry);
// not_found when absent.
Status remove_list_entry(store::Tx& tx, ListEntryId id);
Result<Page<ListEntry>> list_entries(store::Conn& conn, std::optional<ListKind> list,
                                     std::int64_t cursor, std::size_t limit);

// --- Decisions and reviews --------------------------------------------------------------------

struct DecisionRecord {
  DecisionId id;
  Action action = Action::payment;
  AccountClass account_class = AccountClass::personal;
  std::int64_t party_id = 0;
  std::string subject_kind;
  std::int64_t subject_id = 0;
  Money amount;
  Outcome outcome = Outcome::allow;
  std::optional<std::int64_t> rule_id;
  std::optional<std::int64_t> list_entry_id;
  std::optional<std::int64_t> review_id;
  std::string reason;
  std::int64_t at_us = 0;
};

struct DecisionFilter {
  std::optional<Outcome> outcome;
  std::optional<std::int64_t> party_id;
  std::int64_t cursor = 0;  // 0 = from the newest
  std::size_t limit = 20;
};
Result<Page<DecisionRecord>> list_decisions(store::Conn& conn, const DecisionFilter& filter);

struct Review {
  ReviewId id;
  std::string subject_kind;
  std::int64_t subject_id = 0;
  DecisionId decision_id;
  Action action = Action::payment;
  std::int64_t party_id = 0;
  Money amount;
  std::string reason;  // why it was opened
  ReviewStatus status = ReviewStatus::pending;
  std::optional<UserId> decided_by;
  std::optional<std::int64_t> decided_at_us;
  std::optional<std::string> decision_note;
  std::int64_t created_at_us = 0;
};

// The queue: oldest first when status is pending (first come, first served), else newest first.
Result<Page<Review>> list_reviews(store::Conn& conn, std::optional<ReviewStatus> status,
                                  std::int64_t cursor, std::size_t limit);
Result<std::optional<Review>> get_review(store::Conn& conn, ReviewId id);
// Approves or rejects a pending review, once: invalid_state when already decided, not_found
// when absent. The payment or withdrawal learns the verdict at its next evaluate().
Result<Review> decide_review(store::Tx& tx, const Env& env, ReviewId id, UserId reviewer,
                             bool approve, const std::string& note);

}  // namespace jishi::pay::risk
