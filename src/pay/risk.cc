#include "pay/risk.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/limits.h"
#include "pay/internal/risk_common.h"

namespace jishi::pay::risk {

namespace {

template <class E, std::size_t N>
std::optional<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 2> kActions{"payment", "withdrawal"};
constexpr std::array<std::string_view, 2> kClasses{"personal", "merchant"};
constexpr std::array<std::string_view, 3> kOutcomes{"allow", "review", "block"};
constexpr std::array<std::string_view, 3> kRuleKinds{"per_transaction", "per_day", "velocity"};
constexpr std::array<std::string_view, 4> kVelocityKeys{"user", "card", "device", "ip"};
constexpr std::array<std::string_view, 2> kLists{"block", "allow"};
constexpr std::array<std::string_view, 5> kEntryKinds{"card", "account", "user", "device", "ip"};
constexpr std::array<std::string_view, 3> kReviewStatuses{"pending", "approved", "rejected"};

constexpr std::int64_t kUsPerS = 1'000'000;

}  // namespace

// clang-format off
std::string_view name_of(Action v) { return kActions[static_cast<std::size_t>(v)]; }
std::string_view name_of(AccountClass v) { return kClasses[static_cast<std::size_t>(v)]; }
std::string_view name_of(Outcome v) { return kOutcomes[static_cast<std::size_t>(v)]; }
std::string_view name_of(RuleKind v) { return kRuleKinds[static_cast<std::size_t>(v)]; }
std::string_view name_of(VelocityKey v) { return kVelocityKeys[static_cast<std::size_t>(v)]; }
std::string_view name_of(ListKind v) { return kLists[static_cast<std::size_t>(v)]; }
std::string_view name_of(EntryKind v) { return kEntryKinds[static_cast<std::size_t>(v)]; }
std::string_view name_of(ReviewStatus v) { return kReviewStatuses[static_cast<std::size_t>(v)]; }
std::optional<Action> parse_action(std::string_view s) { return parse_enum<Action>(kActions, s); }
std::optional<AccountClass> parse_account_class(std::string_view s) { return parse_enum<AccountClass>(kClasses, s); }
std::optional<Outcome> parse_outcome(std::string_view s) { return parse_enum<Outcome>(kOutcomes, s); }
std::optional<RuleKind> parse_rule_kind(std::string_view s) { return parse_enum<RuleKind>(kRuleKinds, s); }
std::optional<VelocityKey> parse_velocity_key(std::string_view s) { return parse_enum<VelocityKey>(kVelocityKeys, s); }
std::optional<ListKind> parse_list_kind(std::string_view s) { return parse_enum<ListKind>(kLists, s); }
std::optional<EntryKind> parse_entry_kind(std::string_view s) { return parse_enum<EntryKind>(kEntryKinds, s); }
std::optional<ReviewStatus> parse_review_status(std::string_view s) { return parse_enum<ReviewStatus>(kReviewStatuses, s); }
// clang-format on

namespace internal {

Result<std::string> canonical_value(EntryKind kind, std::string_view raw) {
  std::string out;
  switch (kind) {
    case EntryKind::card:
      for (char c : raw) {
        if (c == ' ' || c == '-') continue;
        if (c < '0' || c > '9')
          return fail(Code::validation_failed, "a card number has digits only");
        out += c;
      }
      if (out.size() < limits::risk_card_digits_min || out.size() > limits::risk_card_digits_max)
        return fail(Code::validation_failed,
                    "a card number has " + std::to_string(limits::risk_card_digits_min) + ".." +
                        std::to_string(limits::risk_card_digits_max) + " digits");
      return out;
    case EntryKind::account:
      for (char c : raw) {
        if (c == ' ' || c == '-') continue;
        if (!std::isalnum(static_cast<unsigned char>(c)))
          return fail(Code::validation_failed, "an account number has letters and digits only");
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (out.size() < limits::risk_account_bytes_min ||
          out.size() > limits::risk_account_bytes_max)
        return fail(Code::validation_failed,
                    "an account number has " + std::to_string(limits::risk_account_bytes_min) +
                        ".." + std::to_string(limits::risk_account_bytes_max) + " characters");
      return out;
    case EntryKind::user: {
      auto id = parse_id(raw);
      if (!id) return fail(Code::validation_failed, "a user is a decimal id");
      return std::to_string(*id);
    }
    case EntryKind::device:
      if (raw.empty() || raw.size() > limits::risk_device_id_bytes_max ||
          !std::all_of(raw.begin(), raw.end(), [](char c) { return c > ' ' && c < 0x7f; }))
        return fail(Code::validation_failed, "a device id has 1.." +
                                                 std::to_string(limits::risk_device_id_bytes_max) +
                                                 " printable ASCII characters");
      return std::string(raw);
    case EntryKind::ip: {
      if (raw.empty() || raw.size() > limits::risk_ip_bytes_max)
        return fail(Code::validation_failed, "not an IP address");
      std::string text(raw);
      std::array<unsigned char, 16> bin{};
      std::array<char, 64> buf{};
      int family = text.find(':') == std::string::npos ? AF_INET : AF_INET6;
      if (inet_pton(family, text.c_str(), bin.data()) != 1 ||
          inet_ntop(family, bin.data(), buf.data(), buf.size()) == nullptr)
        return fail(Code::validation_failed, "not an IPv4 or IPv6 address");
      return std::string(buf.data());
    }
  }
  return fail(Code::internal, "unknown entry kind");
}

std::string value_hash(const FieldCipher& cipher, EntryKind kind, std::string_view canonical) {
  return cipher.lookup_hash("risk_" + std::string(name_of(kind)), canonical);
}

std::string display_value(EntryKind kind, std::string_view canonical) {
  if (kind != EntryKind::card && kind != EntryKind::account) return std::string(canonical);
  return "****" + std::string(canonical.substr(canonical.size() - 4));
}

Rule read_rule(const store::Row& r) {
  Rule rule;
  rule.id = RuleId{r.i64(0)};
  rule.kind = parse_rule_kind(r.text(1)).value_or(RuleKind::per_transaction);
  rule.action = parse_action(r.text(2)).value_or(Action::payment);
  rule.account_class = parse_account_class(r.text(3)).value_or(AccountClass::personal);
  rule.outcome = parse_outcome(r.text(4)).value_or(Outcome::review);
  rule.enabled = r.i64(5) != 0;
  if (!r.is_null(6) && !r.is_null(7))
    if (auto c = currency_from_code(r.text(6))) rule.max_amount = Money{r.i64(7), *c};
  if (!r.is_null(8)) rule.velocity_key = parse_velocity_key(r.text(8));
  rule.max_count = r.opt_i64(9);
  rule.window_s = r.opt_i64(10);
  rule.description = r.str(11);
  rule.created_at_us = r.i64(12);
  rule.updated_at_us = r.i64(13);
  return rule;
}

}  // namespace internal

namespace {

using internal::canonical_value;
using internal::display_value;
using internal::value_hash;

// One identifying value of the evaluation, hashed.
struct Key {
  EntryKind kind;
  std::string hash;
  std::string display;
};

struct Verdict {
  Outcome outcome = Outcome::allow;
  std::optional<std::int64_t> rule_id;
  std::optional<std::int64_t> list_entry_id;
  std::optional<std::int64_t> review_id;
  std::string reason;
};

Status check_context(const Context& ctx) {
  if (ctx.subject_kind != "payment_intent" && ctx.subject_kind != "withdrawal")
    return fail(Code::validation_failed, "subject_kind must be payment_intent or withdrawal");
  if (ctx.subject_id <= 0 || ctx.party_id <= 0)
    return fail(Code::validation_failed, "subject_id and party_id must be ids");
  if (ctx.amount.minor < 0)
    return fail(Code::validation_failed, "a risk check needs a non-negative amount");
  return {};
}

Result<std::vector<Key>> keys_of(const FieldCipher& cipher, const Context& ctx) {
  std::vector<Key> keys;
  auto add = [&](EntryKind kind, const std::optional<std::string>& raw) -> Status {
    if (!raw) return {};
    auto canonical = canonical_value(kind, *raw);
    if (!canonical) {
      Error e = canonical.error();
      e.field = std::string(name_of(kind));
      return fail(e);
    }
    keys.push_back({kind, value_hash(cipher, kind, *canonical), display_value(kind, *canonical)});
    return {};
  };
  JISHI_TRY(add(EntryKind::user, std::to_string(ctx.party_id)));
  JISHI_TRY(add(EntryKind::card, ctx.card_no));
  JISHI_TRY(add(EntryKind::account, ctx.account_no));
  JISHI_TRY(add(EntryKind::device, ctx.device_id));
  JISHI_TRY(add(EntryKind::ip, ctx.ip));
  return keys;
}

const Key* find_key(const std::vector<Key>& keys, EntryKind kind) {
  for (const auto& k : keys)
    if (k.kind == kind) return &k;
  return nullptr;
}

EntryKind entry_kind_of(VelocityKey k) {
  switch (k) {
    case VelocityKey::user:
      return EntryKind::user;
    case VelocityKey::card:
      return EntryKind::card;
    case VelocityKey::device:
      return EntryKind::device;
    case VelocityKey::ip:
      return EntryKind::ip;
  }
  return EntryKind::user;
}

// The first entry of `list` matching one of the keys.
Result<std::optional<Verdict>> list_hit(store::Tx& tx, ListKind list,
                                        const std::vector<Key>& keys) {
  for (const auto& k : keys) {
    JISHI_ASSIGN_OR_RETURN(
        auto id, tx.query_one("SELECT id FROM risk_list_entries WHERE list = $1 AND kind = $2 "
                              "AND value_hash = $3",
                              {name_of(list), name_of(k.kind), k.hash},
                              [](const store::Row& r) { return r.i64(0); }));
    if (!id) continue;
    Verdict v;
    v.outcome = list == ListKind::block ? Outcome::block : Outcome::allow;
    v.list_entry_id = *id;
    v.reason = std::string(name_of(k.kind)) + " " + k.display + " is on the " +
               std::string(name_of(list)) + " list (entry " + std::to_string(*id) + ")";
    return std::optional(v);
  }
  return std::optional<Verdict>();
}

// The verdict of the subject's existing review, if it has one.
Result<std::optional<Verdict>> review_verdict(store::Tx& tx, const Context& ctx) {
  JISHI_ASSIGN_OR_RETURN(
      auto row, tx.query_one("SELECT id, status FROM risk_reviews WHERE subject_kind = $1 AND "
                             "subject_id = $2",
                             {ctx.subject_kind, ctx.subject_id},
                             [](const store::Row& r) { return std::pair(r.i64(0), r.str(1)); }));
  if (!row) return std::optional<Verdict>();
  Verdict v;
  v.review_id = row->first;
  std::string id = std::to_string(row->first);
  auto status = parse_review_status(row->second).value_or(ReviewStatus::pending);
  switch (status) {
    case ReviewStatus::approved:
      v.outcome = Outcome::allow;
      v.reason = "review " + id + " approved";
      break;
    case ReviewStatus::rejected:
      v.outcome = Outcome::block;
      v.reason = "review " + id + " rejected";
      break;
    case ReviewStatus::pending:
      v.outcome = Outcome::review;
      v.reason = "review " + id + " pending";
      break;
  }
  return std::optional(v);
}

// Allowed amounts of the party for the action since local midnight, in one currency.
Result<std::int64_t> allowed_today(store::Tx& tx, const Context& ctx, std::int64_t day_start_us) {
  JISHI_ASSIGN_OR_RETURN(
      auto sum,
      tx.query_one("SELECT COALESCE(SUM(amount_minor), 0) FROM risk_decisions WHERE party_id = $1 "
                   "AND action = $2 AND account_class = $3 AND currency = $4 AND outcome = "
                   "'allow' AND at_us >= $5",
                   {ctx.party_id, name_of(ctx.action), name_of(ctx.account_class),
                    ctx.amount.currency.code_view(), day_start_us},
                   [](const store::Row& r) { return r.i64(0); }));
  return sum.value_or(0);
}

// Evaluations with the key within the window ending now, counting at most `cap`.
Result<std::int64_t> events_in_window(store::Tx& tx, const Context& ctx, const Key& key,
                                      std::int64_t since_us, std::int64_t cap) {
  JISHI_ASSIGN_OR_RETURN(
      auto n, tx.query_one("SELECT COUNT(*) FROM (SELECT 1 FROM risk_events WHERE key_kind = $1 "
                           "AND key_hash = $2 AND action = $3 AND at_us > $4 LIMIT $5) AS w",
                           {name_of(key.kind), key.hash, name_of(ctx.action), since_us, cap},
                           [](const store::Row& r) { return r.i64(0); }));
  return n.value_or(0);
}

// The rule's verdict, or nullopt when it does not fire.
Result<std::optional<Verdict>> check_rule(store::Tx& tx, const Context& ctx, const Rule& rule,
                                          const std::vector<Key>& keys, std::int64_t now,
                                          const TimeZone& zone) {
  Verdict v;
  v.outcome = rule.outcome;
  v.rule_id = rule.id.value;
  std::string tag = " (rule " + rule.id.str() + ")";
  switch (rule.kind) {
    case RuleKind::per_transaction: {
      if (!rule.max_amount || rule.max_amount->currency != ctx.amount.currency) break;
      if (ctx.amount.minor <= rule.max_amount->minor) break;
      v.reason = "amount " + std::to_string(ctx.amount.minor) + " > per-transaction limit " +
                 std::to_string(rule.max_amount->minor) + tag;
      return std::optional(v);
    }
    case RuleKind::per_day: {
      if (!rule.max_amount || rule.max_amount->currency != ctx.amount.currency) break;
      std::int64_t day_start = zone.day_start_us(now);
      JISHI_ASSIGN_OR_RETURN(std::int64_t earlier, allowed_today(tx, ctx, day_start));
      std::int64_t total = 0;
      if (__builtin_add_overflow(earlier, ctx.amount.minor, &total)) total = INT64_MAX;
      if (total <= rule.max_amount->minor) break;
      v.reason = "day total " + std::to_string(total) + " (" + std::to_string(earlier) +
                 " allowed earlier today in " + zone.name() + " + amount " +
                 std::to_string(ctx.amount.minor) + ") > per-day limit " +
                 std::to_string(rule.max_amount->minor) + tag;
      return std::optional(v);
    }
    case RuleKind::velocity: {
      if (!rule.velocity_key || !rule.max_count || !rule.window_s) break;
      const Key* key = find_key(keys, entry_kind_of(*rule.velocity_key));
      if (!key) break;
      std::int64_t since = now - *rule.window_s * kUsPerS;
      JISHI_ASSIGN_OR_RETURN(std::int64_t n,
                             events_in_window(tx, ctx, *key, since, *rule.max_count + 1));
      if (n <= *rule.max_count) break;
      v.reason = "more than " + std::to_string(*rule.max_count) + " " +
                 std::string(name_of(ctx.action)) + "s by " + std::string(name_of(key->kind)) +
                 " " + key->display + " within " + std::to_string(*rule.window_s) + " s (limit " +
                 std::to_string(*rule.max_count) + ")" + tag;
      return std::optional(v);
    }
  }
  return std::optional<Verdict>();
}

// Every enabled rule for the action and account class; the worst outcome wins, the lowest
// rule id among equals gives the reason.
Result<Verdict> check_rules(store::Tx& tx, const Context& ctx, const std::vector<Key>& keys,
                            std::int64_t now, const TimeZone& zone) {
  std::vector<Rule> rules;
  JISHI_TRY(tx.query("SELECT " JISHI_RISK_RULE_COLUMNS
                     " FROM risk_rules WHERE action = $1 AND account_class = $2 AND enabled = 1 "
                     "ORDER BY id",
                     {name_of(ctx.action), name_of(ctx.account_class)}, [&](const store::Row& r) {
                       rules.push_back(internal::read_rule(r));
                       return rules.size() < limits::risk_rules_max;
                     }));
  Verdict worst;
  worst.reason = "no rule fired (" + std::to_string(rules.size()) + " checked)";
  for (const auto& rule : rules) {
    JISHI_ASSIGN_OR_RETURN(auto v, check_rule(tx, ctx, rule, keys, now, zone));
    if (v && v->outcome > worst.outcome) worst = std::move(*v);
    if (worst.outcome == Outcome::block) break;
  }
  return worst;
}

}  // namespace

Result<Decision> evaluate(store::Tx& tx, const Env& env, const Context& ctx,
                          const TimeZone& day_zone) {
  JISHI_TRY(check_context(ctx));
  JISHI_ASSIGN_OR_RETURN(auto keys, keys_of(env.cipher, ctx));
  std::int64_t now = env.clock.now_us();

  // Velocity counts every evaluation, this one included, whatever its outcome.
  for (const auto& k : keys) {
    if (k.kind == EntryKind::account) continue;  // no velocity rule keys on accounts
    JISHI_TRY(tx.exec(
        "INSERT INTO risk_events (id, action, key_kind, key_hash, at_us) VALUES ($1,$2,$3,$4,$5)",
        {env.ids.next(), name_of(ctx.action), name_of(k.kind), k.hash, now}));
  }

  std::optional<Verdict> verdict;
  JISHI_ASSIGN_OR_RETURN(verdict, list_hit(tx, ListKind::block, keys));
  bool had_review = false;
  if (!verdict) {
    JISHI_ASSIGN_OR_RETURN(verdict, review_verdict(tx, ctx));
    had_review = verdict.has_value();
  }
  if (!verdict) {
    JISHI_ASSIGN_OR_RETURN(verdict, list_hit(tx, ListKind::allow, keys));
  }
  if (!verdict) {
    JISHI_ASSIGN_OR_RETURN(verdict, check_rules(tx, ctx, keys, now, day_zone));
  }

  std::int64_t decision_id = env.ids.next();
  if (verdict->outcome == Outcome::review && !had_review) {
    verdict->review_id = env.ids.next();
    JISHI_TRY(tx.exec(
        "INSERT INTO risk_reviews (id, subject_kind, subject_id, decision_id, action, party_id, "
        "amount_minor, currency, reason, status, created_at_us) VALUES "
        "($1,$2,$3,$4,$5,$6,$7,$8,$9,'pending',$10)",
        {*verdict->review_id, ctx.subject_kind, ctx.subject_id, decision_id, name_of(ctx.action),
         ctx.party_id, ctx.amount.minor, ctx.amount.currency.code_view(), verdict->reason, now}));
  }
  JISHI_TRY(tx.exec(
      "INSERT INTO risk_decisions (id, action, account_class, party_id, subject_kind, subject_id, "
      "amount_minor, currency, outcome, rule_id, list_entry_id, review_id, reason, at_us) VALUES "
      "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
      {decision_id, name_of(ctx.action), name_of(ctx.account_class), ctx.party_id, ctx.subject_kind,
       ctx.subject_id, ctx.amount.minor, ctx.amount.currency.code_view(), name_of(verdict->outcome),
       verdict->rule_id, verdict->list_entry_id, verdict->review_id, verdict->reason, now}));
  return Decision{verdict->outcome, decision_id, verdict->rule_id, verdict->reason,
                  verdict->review_id};
}

Result<std::int64_t> prune_events(store::Tx& tx, const Env& env, std::size_t limit) {
  std::int64_t before = env.clock.now_us() - limits::risk_window_s_max * kUsPerS;
  return tx.exec(
      "DELETE FROM risk_events WHERE id IN (SELECT id FROM risk_events WHERE at_us <= $1 LIMIT $2)",
      {before, static_cast<std::int64_t>(std::min(limit, limits::risk_prune_batch_max))});
}

}  // namespace jishi::pay::risk
