// Risk control administration: rules, block/allow lists, the decision log and the review
// queue. Operators manage; regulators read; everyone else gets 403.
#include <boost/json.hpp>

#include "api/common.h"
#include "api/routes.h"
#include "core/json.h"
#include "core/limits.h"
#include "pay/risk.h"

namespace jishi::api {

namespace json = boost::json;
namespace risk = pay::risk;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;
using identity::Role;

namespace {

// Bytes of the keyed hash shown next to a list entry: enough to tell entries apart and to
// match a hash an operator got elsewhere, too few to be worth brute-forcing.
constexpr std::size_t kHashPrefixChars = 12;
// A raw list value as sent (a card number with spaces, an IPv6 address, a device id).
constexpr std::size_t kListValueBytesMax = 160;
static_assert(kListValueBytesMax >= limits::risk_device_id_bytes_max);

Result<Principal> reader(Services& s, Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto p, authenticate(s, req));
  if (!p.has_platform_role(Role::operator_) && !p.has_platform_role(Role::regulator))
    return fail(Code::forbidden, "risk control is for operators and regulators");
  return p;
}

Result<Principal> manager(Services& s, Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto p, authenticate(s, req));
  if (!p.has_platform_role(Role::operator_))
    return fail(Code::forbidden, "managing risk control needs the operator role");
  return p;
}

template <class T, class F>
json::value nullable(const std::optional<T>& v, F f) {
  if (!v) return nullptr;
  return json::value(f(*v));
}
json::value id_or_null(const std::optional<std::int64_t>& v) {
  return nullable(v, [](std::int64_t x) { return std::to_string(x); });
}

json::object rule_json(const risk::Rule& r) {
  json::object o;
  o["id"] = r.id.str();
  o["kind"] = risk::name_of(r.kind);
  o["action"] = risk::name_of(r.action);
  o["account_class"] = risk::name_of(r.account_class);
  o["outcome"] = risk::name_of(r.outcome);
  o["enabled"] = r.enabled;
  o["max_amount"] = nullable(r.max_amount, [](const Money& m) { return to_json(m); });
  o["key"] = nullable(r.velocity_key, [](risk::VelocityKey k) { return risk::name_of(k); });
  o["max_count"] = nullable(r.max_count, [](std::int64_t x) { return x; });
  o["window_s"] = nullable(r.window_s, [](std::int64_t x) { return x; });
  o["description"] = r.description;
  o["created_at"] = time_json(r.created_at_us);
  o["updated_at"] = time_json(r.updated_at_us);
  return o;
}

json::object entry_json(const risk::ListEntry& e) {
  json::object o;
  o["id"] = e.id.str();
  o["list"] = risk::name_of(e.list);
  o["kind"] = risk::name_of(e.kind);
  o["value"] = e.display;
  o["hash_prefix"] = e.value_hash.substr(0, kHashPrefixChars);
  o["note"] = e.note;
  o["created_by"] = e.created_by.str();
  o["created_at"] = time_json(e.created_at_us);
  return o;
}

json::object decision_json(const risk::DecisionRecord& d) {
  json::object o;
  o["id"] = d.id.str();
  o["action"] = risk::name_of(d.action);
  o["account_class"] = risk::name_of(d.account_class);
  o["party_id"] = std::to_string(d.party_id);
  o["subject_kind"] = d.subject_kind;
  o["subject_id"] = std::to_string(d.subject_id);
  o["amount"] = to_json(d.amount);
  o["outcome"] = risk::name_of(d.outcome);
  o["rule_id"] = id_or_null(d.rule_id);
  o["list_entry_id"] = id_or_null(d.list_entry_id);
  o["review_id"] = id_or_null(d.review_id);
  o["reason"] = d.reason;
  o["created_at"] = time_json(d.at_us);
  return o;
}

json::object review_json(const risk::Review& r) {
  json::object o;
  o["id"] = r.id.str();
  o["subject_kind"] = r.subject_kind;
  o["subject_id"] = std::to_string(r.subject_id);
  o["decision_id"] = r.decision_id.str();
  o["action"] = risk::name_of(r.action);
  o["party_id"] = std::to_string(r.party_id);
  o["amount"] = to_json(r.amount);
  o["reason"] = r.reason;
  o["status"] = risk::name_of(r.status);
  o["decided_by"] = nullable(r.decided_by, [](UserId u) { return u.str(); });
  o["decided_at"] = nullable(r.decided_at_us, time_json);
  o["decision_reason"] = nullable(r.decision_note, [](const std::string& x) { return x; });
  o["created_at"] = time_json(r.created_at_us);
  return o;
}

// Reads a required or optional enum-valued field; the error names the allowed values.
template <class E>
std::optional<E> read_enum(FieldReader& f, std::string_view key, bool required,
                           std::optional<E> (*parse)(std::string_view), std::string_view allowed) {
  auto text = required ? std::optional(f.string(key, 32)) : f.optional_string(key, 32);
  if (!f.ok() || !text) return std::nullopt;
  auto v = parse(*text);
  if (!v)
    f.set_error(Error(Code::validation_failed,
                      std::string(key) + " must be one of " + std::string(allowed),
                      "/" + std::string(key)));
  return v;
}

std::optional<Money> read_money(FieldReader& f, std::string_view key) {
  const json::value* v = f.value(key, false);
  if (!v || !f.ok()) return std::nullopt;
  auto m = money_from_json(*v, "/" + std::string(key));
  if (!m) {
    f.set_error(m.error());
    return std::nullopt;
  }
  return *m;
}

Reply list_rules(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  return list_response(
      s, req,
      [](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return risk::list_rules(c, cursor, limit);
      },
      rule_json);
}

Reply create_rule(Services& s, Request& req) {
  API_CHECK(manager(s, req));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  risk::NewRule n;
  auto kind = read_enum(f, "kind", true, risk::parse_rule_kind, "per_transaction per_day velocity");
  auto action = read_enum(f, "action", true, risk::parse_action, "payment withdrawal");
  auto cls = read_enum(f, "account_class", true, risk::parse_account_class, "personal merchant");
  auto outcome = read_enum(f, "outcome", true, risk::parse_outcome, "review block");
  n.enabled = f.optional_bool("enabled").value_or(true);
  n.max_amount = read_money(f, "max_amount");
  n.velocity_key = read_enum(f, "key", false, risk::parse_velocity_key, "user card device ip");
  n.max_count = f.optional_integer("max_count", 1, limits::risk_count_max);
  n.window_s = f.optional_integer("window_s", 1, limits::risk_window_s_max);
  n.description = f.optional_string("description", limits::risk_description_bytes_max).value_or("");
  API_CHECK(f.finish());
  n.kind = *kind;
  n.action = *action;
  n.account_class = *cls;
  n.outcome = *outcome;
  return Reply::write([&s, n](store::Tx& tx) -> Response {
    API_ASSIGN(auto rule, risk::create_rule(tx, s.env, n));
    return ok_json(rule_json(rule), 201);
  });
}

Reply get_rule(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto rule, risk::get_rule(*lease, risk::RuleId{id}));
  if (!rule) return http::problem(Error(Code::not_found, "no such rule"));
  return ok_json(rule_json(*rule));
}

Reply patch_rule(Services& s, Request& req) {
  API_CHECK(manager(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  risk::RulePatch p;
  p.enabled = f.optional_bool("enabled");
  p.outcome = read_enum(f, "outcome", false, risk::parse_outcome, "review block");
  p.max_amount = read_money(f, "max_amount");
  p.max_count = f.optional_integer("max_count", 1, limits::risk_count_max);
  p.window_s = f.optional_integer("window_s", 1, limits::risk_window_s_max);
  p.description = f.optional_string("description", limits::risk_description_bytes_max);
  API_CHECK(f.finish());
  if (!p.enabled && !p.outcome && !p.max_amount && !p.max_count && !p.window_s && !p.description)
    return http::problem(Error(Code::validation_failed,
                               "send at least one of enabled, outcome, max_amount, max_count, "
                               "window_s, description"));
  return Reply::write([&s, id, p](store::Tx& tx) -> Response {
    API_ASSIGN(auto rule, risk::update_rule(tx, s.env, risk::RuleId{id}, p));
    return ok_json(rule_json(rule));
  });
}

Reply list_entries(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  std::optional<risk::ListKind> list;
  if (auto l = req.query_param("list")) {
    list = risk::parse_list_kind(*l);
    if (!list)
      return http::problem(Error(Code::validation_failed, "list must be block or allow", "list"));
  }
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return risk::list_entries(c, list, cursor, limit);
      },
      entry_json);
}

Reply add_entry(Services& s, Request& req) {
  API_ASSIGN(auto p, manager(s, req));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  risk::NewListEntry n;
  auto list = read_enum(f, "list", true, risk::parse_list_kind, "block allow");
  auto kind = read_enum(f, "kind", true, risk::parse_entry_kind, "card account user device ip");
  n.value = f.string("value", kListValueBytesMax);
  n.note = f.optional_string("note", limits::reason_bytes_max).value_or("");
  API_CHECK(f.finish());
  n.list = *list;
  n.kind = *kind;
  n.created_by = p.user;
  return Reply::write([&s, n](store::Tx& tx) -> Response {
    API_ASSIGN(auto entry, risk::add_list_entry(tx, s.env, n));
    return ok_json(entry_json(entry), 201);
  });
}

Reply remove_entry(Services& s, Request& req) {
  API_CHECK(manager(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  return Reply::write([id](store::Tx& tx) -> Response {
    API_CHECK(risk::remove_list_entry(tx, risk::ListEntryId{id}));
    return http::no_content();
  });
}

Reply list_decisions(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  risk::DecisionFilter filter;
  if (auto o = req.query_param("outcome")) {
    filter.outcome = risk::parse_outcome(*o);
    if (!filter.outcome)
      return http::problem(
          Error(Code::validation_failed, "outcome must be allow, review or block", "outcome"));
  }
  if (auto party = req.query_param("party")) {
    filter.party_id = parse_id(*party);
    if (!filter.party_id)
      return http::problem(Error(Code::validation_failed, "party must be an id", "party"));
  }
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        filter.cursor = cursor;
        filter.limit = limit;
        return risk::list_decisions(c, filter);
      },
      decision_json);
}

Reply list_reviews(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  std::optional<risk::ReviewStatus> status;
  if (auto st = req.query_param("status")) {
    status = risk::parse_review_status(*st);
    if (!status)
      return http::problem(
          Error(Code::validation_failed, "status must be pending, approved or rejected", "status"));
  }
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return risk::list_reviews(c, status, cursor, limit);
      },
      review_json);
}

Reply get_review(Services& s, Request& req) {
  API_CHECK(reader(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto review, risk::get_review(*lease, risk::ReviewId{id}));
  if (!review) return http::problem(Error(Code::not_found, "no such review"));
  return ok_json(review_json(*review));
}

Reply decide_review(Services& s, Request& req, bool approve) {
  API_ASSIGN(auto p, manager(s, req));
  if (!p.is_user())
    return http::problem(Error(Code::forbidden, "a person decides reviews, not an API key"));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string reason = f.string("reason", limits::reason_bytes_max);
  API_CHECK(f.finish());
  return Reply::write([&s, id, reviewer = p.user, approve, reason](store::Tx& tx) -> Response {
    API_ASSIGN(auto review,
               risk::decide_review(tx, s.env, risk::ReviewId{id}, reviewer, approve, reason));
    return ok_json(review_json(review));
  });
}

}  // namespace

void add_risk_routes(http::Router& router, Services& s) {
  auto bind = [&s](Reply (*fn)(Services&, Request&)) {
    return [&s, fn](Request& r) { return fn(s, r); };
  };
  router.add(Method::get, "/api/v1/risk/rules", bind(list_rules));
  router.add(Method::post, "/api/v1/risk/rules", bind(create_rule));
  router.add(Method::get, "/api/v1/risk/rules/{id}", bind(get_rule));
  router.add(Method::patch, "/api/v1/risk/rules/{id}", bind(patch_rule));
  router.add(Method::get, "/api/v1/risk/lists", bind(list_entries));
  router.add(Method::post, "/api/v1/risk/lists", bind(add_entry));
  router.add(Method::delete_, "/api/v1/risk/lists/{id}", bind(remove_entry));
  router.add(Method::get, "/api/v1/risk/decisions", bind(list_decisions));
  router.add(Method::get, "/api/v1/risk/reviews", bind(list_reviews));
  router.add(Method::get, "/api/v1/risk/reviews/{id}", bind(get_review));
  router.add(Method::post, "/api/v1/risk/reviews/{id}/approve",
             [&s](Request& r) { return decide_review(s, r, true); });
  router.add(Method::post, "/api/v1/risk/reviews/{id}/reject",
             [&s](Request& r) { return decide_review(s, r, false); });
}

}  // namespace jishi::api
