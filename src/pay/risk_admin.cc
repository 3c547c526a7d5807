// pay/risk administration: rules, block/allow lists, the decision log and the review queue.
#include <algorithm>

#include "core/limits.h"
#include "pay/internal/risk_common.h"
#include "pay/risk.h"

namespace jishi::pay::risk {

namespace {

using internal::read_rule;

Status check_text(std::string_view text, std::size_t max, std::string_view field) {
  if (text.size() > max)
    return fail(Code::validation_failed,
                std::string(field) + " has at most " + std::to_string(max) + " bytes",
                "/" + std::string(field));
  return {};
}

// The fields of a rule after creation or a patch must fit its kind.
Status check_rule(const Rule& r) {
  if (r.outcome == Outcome::allow)
    return fail(Code::validation_failed, "a rule's outcome is review or block", "/outcome");
  JISHI_TRY(check_text(r.description, limits::risk_description_bytes_max, "description"));
  bool limit_kind = r.kind != RuleKind::velocity;
  if (limit_kind) {
    if (!r.max_amount)
      return fail(Code::validation_failed, "a limit rule needs max_amount", "/max_amount");
    if (r.max_amount->minor < 0)
      return fail(Code::validation_failed, "max_amount must not be negative", "/max_amount");
    if (r.velocity_key || r.max_count || r.window_s)
      return fail(Code::validation_failed, "key, max_count and window_s are for velocity rules");
    return {};
  }
  if (r.max_amount)
    return fail(Code::validation_failed, "max_amount is for limit rules", "/max_amount");
  if (!r.velocity_key)
    return fail(Code::validation_failed, "a velocity rule needs key (user, card, device or ip)",
                "/key");
  if (!r.max_count || *r.max_count < 1 || *r.max_count > limits::risk_count_max)
    return fail(Code::validation_failed,
                "max_count must be 1.." + std::to_string(limits::risk_count_max), "/max_count");
  if (!r.window_s || *r.window_s < 1 || *r.window_s > limits::risk_window_s_max)
    return fail(Code::validation_failed,
                "window_s must be 1.." + std::to_string(limits::risk_window_s_max), "/window_s");
  return {};
}

Result<Rule> must_get_rule(store::Conn& conn, RuleId id) {
  JISHI_ASSIGN_OR_RETURN(auto rule, get_rule(conn, id));
  if (!rule) return fail(Code::not_found, "no such rule");
  return *rule;
}

Status write_rule(store::Tx& tx, const Rule& r, bool insert) {
  std::optional<std::string> currency, key;
  std::optional<std::int64_t> max_minor;
  if (r.max_amount) {
    currency = std::string(r.max_amount->currency.code_view());
    max_minor = r.max_amount->minor;
  }
  if (r.velocity_key) key = std::string(name_of(*r.velocity_key));
  std::string_view sql =
      insert ? "INSERT INTO risk_rules (id, kind, action, account_class, outcome, enabled, "
               "currency, max_minor, velocity_key, max_count, window_s, description, "
               "created_at_us, updated_at_us) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
               "$13,$14)"
             : "UPDATE risk_rules SET kind = $2, action = $3, account_class = $4, outcome = $5, "
               "enabled = $6, currency = $7, max_minor = $8, velocity_key = $9, max_count = $10, "
               "window_s = $11, description = $12, updated_at_us = $14 WHERE id = $1 AND "
               "created_at_us = $13";
  JISHI_ASSIGN_OR_RETURN(
      auto n,
      tx.exec(sql, {r.id.value, name_of(r.kind), name_of(r.action), name_of(r.account_class),
                    name_of(r.outcome), r.enabled, currency, max_minor, key, r.max_count,
                    r.window_s, r.description, r.created_at_us, r.updated_at_us}));
  if (n != 1) return fail(Code::internal, "rule write changed " + std::to_string(n) + " rows");
  return {};
}

#define JISHI_RISK_ENTRY_COLUMNS \
  "id, list, kind, display, value_hash, note, created_by, created_at_us"
ListEntry read_entry(const store::Row& r) {
  ListEntry e;
  e.id = ListEntryId{r.i64(0)};
  e.list = parse_list_kind(r.text(1)).value_or(ListKind::block);
  e.kind = parse_entry_kind(r.text(2)).value_or(EntryKind::card);
  e.display = r.str(3);
  e.value_hash = r.str(4);
  e.note = r.str(5);
  e.created_by = UserId{r.i64(6)};
  e.created_at_us = r.i64(7);
  return e;
}

#define JISHI_RISK_DECISION_COLUMNS                                                         \
  "id, action, account_class, party_id, subject_kind, subject_id, amount_minor, currency, " \
  "outcome, rule_id, list_entry_id, review_id, reason, at_us"
DecisionRecord read_decision(const store::Row& r) {
  DecisionRecord d;
  d.id = DecisionId{r.i64(0)};
  d.action = parse_action(r.text(1)).value_or(Action::payment);
  d.account_class = parse_account_class(r.text(2)).value_or(AccountClass::personal);
  d.party_id = r.i64(3);
  d.subject_kind = r.str(4);
  d.subject_id = r.i64(5);
  d.amount = Money{r.i64(6), currency_from_code(r.text(7)).value_or(Currency{})};
  d.outcome = parse_outcome(r.text(8)).value_or(Outcome::block);
  d.rule_id = r.opt_i64(9);
  d.list_entry_id = r.opt_i64(10);
  d.review_id = r.opt_i64(11);
  d.reason = r.str(12);
  d.at_us = r.i64(13);
  return d;
}

#define JISHI_RISK_REVIEW_COLUMNS                                                         \
  "id, subject_kind, subject_id, decision_id, action, party_id, amount_minor, currency, " \
  "reason, status, decided_by, decided_at_us, decision_note, created_at_us"
Review read_review(const store::Row& r) {
  Review v;
  v.id = ReviewId{r.i64(0)};
  v.subject_kind = r.str(1);
  v.subject_id = r.i64(2);
  v.decision_id = DecisionId{r.i64(3)};
  v.action = parse_action(r.text(4)).value_or(Action::payment);
  v.party_id = r.i64(5);
  v.amount = Money{r.i64(6), currency_from_code(r.text(7)).value_or(Currency{})};
  v.reason = r.str(8);
  v.status = parse_review_status(r.text(9)).value_or(ReviewStatus::pending);
  if (!r.is_null(10)) v.decided_by = UserId{r.i64(10)};
  v.decided_at_us = r.opt_i64(11);
  v.decision_note = r.opt_str(12);
  v.created_at_us = r.i64(13);
  return v;
}

// Runs a keyset query that returns limit + 1 rows and turns it into a page.
template <class T, class Read>
Result<Page<T>> page_of(store::Conn& conn, std::string_view sql,
                        std::initializer_list<store::Param> params, std::size_t limit, Read read,
                        std::int64_t (*key)(const T&)) {
  Page<T> page;
  JISHI_TRY(conn.query(sql, params, [&](const store::Row& r) {
    page.items.push_back(read(r));
    return page.items.size() <= limit;
  }));
  trim_page(page, limit, key);
  return page;
}

std::int64_t before_of(std::int64_t cursor) {
  return cursor > 0 ? cursor : INT64_MAX;
}

}  // namespace

Result<Rule> create_rule(store::Tx& tx, const Env& env, const NewRule& n) {
  Rule r;
  r.kind = n.kind;
  r.action = n.action;
  r.account_class = n.account_class;
  r.outcome = n.outcome;
  r.enabled = n.enabled;
  r.max_amount = n.max_amount;
  r.velocity_key = n.velocity_key;
  r.max_count = n.max_count;
  r.window_s = n.window_s;
  r.description = n.description;
  JISHI_TRY(check_rule(r));
  JISHI_ASSIGN_OR_RETURN(auto count,
                         tx.query_one("SELECT COUNT(*) FROM risk_rules", {},
                                      [](const store::Row& row) { return row.i64(0); }));
  if (count.value_or(0) >= static_cast<std::int64_t>(limits::risk_rules_max))
    return fail(Code::invalid_state, "there are already " + std::to_string(limits::risk_rules_max) +
                                         " rules; disable or change one instead");
  r.id = RuleId{env.ids.next()};
  r.created_at_us = r.updated_at_us = env.clock.now_us();
  JISHI_TRY(write_rule(tx, r, true));
  return must_get_rule(tx, r.id);
}

Result<Rule> update_rule(store::Tx& tx, const Env& env, RuleId id, const RulePatch& p) {
  JISHI_ASSIGN_OR_RETURN(Rule r, must_get_rule(tx, id));
  if (p.enabled) r.enabled = *p.enabled;
  if (p.outcome) r.outcome = *p.outcome;
  if (p.max_amount) r.max_amount = p.max_amount;
  if (p.max_count) r.max_count = p.max_count;
  if (p.window_s) r.window_s = p.window_s;
  if (p.description) r.description = *p.description;
  JISHI_TRY(check_rule(r));
  r.updated_at_us = env.clock.now_us();
  JISHI_TRY(write_rule(tx, r, false));
  return must_get_rule(tx, id);
}

Result<std::optional<Rule>> get_rule(store::Conn& conn, RuleId id) {
  return conn.query_one("SELECT " JISHI_RISK_RULE_COLUMNS " FROM risk_rules WHERE id = $1",
                        {id.value}, read_rule);
}

Result<Page<Rule>> list_rules(store::Conn& conn, std::int64_t cursor, std::size_t limit) {
  // Oldest first: the seeded defaults lead, as in a rule book.
  return page_of<Rule>(
      conn, "SELECT " JISHI_RISK_RULE_COLUMNS " FROM risk_rules WHERE id > $1 ORDER BY id LIMIT $2",
      {cursor, static_cast<std::int64_t>(limit + 1)}, limit, read_rule,
      +[](const Rule& r) { return r.id.value; });
}

Result<ListEntry> add_list_entry(store::Tx& tx, const Env& env, const NewListEntry& n) {
  auto canonical = internal::canonical_value(n.kind, n.value);
  if (!canonical) {
    Error e = canonical.error();
    e.field = "/value";
    return fail(e);
  }
  JISHI_TRY(check_text(n.note, limits::reason_bytes_max, "note"));
  JISHI_ASSIGN_OR_RETURN(auto count,
                         tx.query_one("SELECT COUNT(*) FROM risk_list_entries", {},
                                      [](const store::Row& row) { return row.i64(0); }));
  if (count.value_or(0) >= static_cast<std::int64_t>(limits::risk_list_entries_max))
    return fail(Code::invalid_state, "the risk lists are full");
  ListEntry e;
  e.id = ListEntryId{env.ids.next()};
  e.list = n.list;
  e.kind = n.kind;
  e.display = internal::display_value(n.kind, *canonical);
  e.value_hash = internal::value_hash(env.cipher, n.kind, *canonical);
  e.note = n.note;
  e.created_by = n.created_by;
  e.created_at_us = env.clock.now_us();
  auto inserted = tx.exec(
      "INSERT INTO risk_list_entries (id, list, kind, value_hash, display, note, created_by, "
      "created_at_us) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
      {e.id.value, name_of(e.list), name_of(e.kind), e.value_hash, e.display, e.note,
       e.created_by.value, e.created_at_us});
  if (!inserted && inserted.error().code == Code::already_exists)
    return fail(Code::already_exists, "the " + std::string(name_of(n.list)) +
                                          " list already holds this " +
                                          std::string(name_of(n.kind)));
  if (!inserted) return fail(inserted.error());
  return e;
}

Status remove_list_entry(store::Tx& tx, ListEntryId id) {
  JISHI_ASSIGN_OR_RETURN(auto n,
                         tx.exec("DELETE FROM risk_list_entries WHERE id = $1", {id.value}));
  if (n == 0) return fail(Code::not_found, "no such list entry");
  return {};
}

Result<Page<ListEntry>> list_entries(store::Conn& conn, std::optional<ListKind> list,
                                     std::int64_t cursor, std::size_t limit) {
  std::string_view l =
      list ? name_of(*list) : std::string_view("");  // not a null view: that binds NULL
  return page_of<ListEntry>(
      conn,
      "SELECT " JISHI_RISK_ENTRY_COLUMNS
      " FROM risk_list_entries WHERE ($1 = '' OR list = $1) AND id < $2 "
      "ORDER BY id DESC LIMIT $3",
      {l, before_of(cursor), static_cast<std::int64_t>(limit + 1)}, limit, read_entry,
      +[](const ListEntry& e) { return e.id.value; });
}

Result<Page<DecisionRecord>> list_decisions(store::Conn& conn, const DecisionFilter& f) {
  std::string_view outcome =
      f.outcome ? name_of(*f.outcome) : std::string_view("");  // not a null view: that binds NULL
  return page_of<DecisionRecord>(
      conn,
      "SELECT " JISHI_RISK_DECISION_COLUMNS
      " FROM risk_decisions WHERE ($1 = '' OR outcome = $1) AND ($2 = 0 OR party_id = $2) AND "
      "id < $3 ORDER BY id DESC LIMIT $4",
      {outcome, f.party_id.value_or(0), before_of(f.cursor),
       static_cast<std::int64_t>(f.limit + 1)},
      f.limit, read_decision, +[](const DecisionRecord& d) { return d.id.value; });
}

Result<Page<Review>> list_reviews(store::Conn& conn, std::optional<ReviewStatus> status,
                                  std::int64_t cursor, std::size_t limit) {
  auto key = +[](const Review& r) { return r.id.value; };
  auto n = static_cast<std::int64_t>(limit + 1);
  if (status == ReviewStatus::pending)  // the queue: first come, first served
    return page_of<Review>(conn,
                           "SELECT " JISHI_RISK_REVIEW_COLUMNS
                           " FROM risk_reviews WHERE status = 'pending' AND id > $1 ORDER BY id "
                           "LIMIT $2",
                           {cursor, n}, limit, read_review, key);
  std::string_view s =
      status ? name_of(*status) : std::string_view("");  // not a null view: that binds NULL
  return page_of<Review>(conn,
                         "SELECT " JISHI_RISK_REVIEW_COLUMNS
                         " FROM risk_reviews WHERE ($1 = '' OR status = $1) AND id < $2 ORDER BY "
                         "id DESC LIMIT $3",
                         {s, before_of(cursor), n}, limit, read_review, key);
}

Result<std::optional<Review>> get_review(store::Conn& conn, ReviewId id) {
  return conn.query_one("SELECT " JISHI_RISK_REVIEW_COLUMNS " FROM risk_reviews WHERE id = $1",
                        {id.value}, read_review);
}

Result<Review> decide_review(store::Tx& tx, const Env& env, ReviewId id, UserId reviewer,
                             bool approve, const std::string& note) {
  JISHI_TRY(check_text(note, limits::reason_bytes_max, "reason"));
  JISHI_ASSIGN_OR_RETURN(auto review, get_review(tx, id));
  if (!review) return fail(Code::not_found, "no such review");
  if (review->status != ReviewStatus::pending)
    return fail(Code::invalid_state,
                "the review is already " + std::string(name_of(review->status)));
  JISHI_ASSIGN_OR_RETURN(
      auto n, tx.exec("UPDATE risk_reviews SET status = $2, decided_by = $3, decided_at_us = $4, "
                      "decision_note = $5 WHERE id = $1 AND status = 'pending'",
                      {id.value, approve ? "approved" : "rejected", reviewer.value,
                       env.clock.now_us(), note}));
  if (n != 1) return fail(Code::invalid_state, "the review was decided meanwhile");
  // The stored row as decided (a fresh variable: reassigning the optional trips GCC 12's
  // -Wmaybe-uninitialized at -O2).
  JISHI_ASSIGN_OR_RETURN(auto decided, get_review(tx, id));
  if (!decided) return fail(Code::internal, "the review vanished");
  return std::move(*decided);
}

}  // namespace jishi::pay::risk
