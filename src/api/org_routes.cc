// Organisations: creation with real-name data, onboarding review, members, API keys.
#include <boost/json.hpp>

#include "api/audit_log.h"
#include "api/common.h"
#include "api/identity_json.h"
#include "api/routes.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/regions.h"
#include "core/uscc.h"
#include "identity/api_keys.h"
#include "identity/orgs.h"
#include "identity/users.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;
using identity::Role;

namespace {

// Reads name + credit code (+ legacy confirmation) shared by create and resubmit.
Result<identity::NewOrg> read_org_fields(FieldReader& f, identity::OrgKind kind,
                                         std::vector<std::string>& warnings) {
  identity::NewOrg org;
  org.kind = kind;
  org.name = f.string("name", limits::org_name_bytes_max);
  std::string code = f.string("credit_code", 18);
  bool legacy = f.optional_bool("credit_code_legacy_confirmed").value_or(false);
  JISHI_TRY(f.finish());
  auto check = check_uscc(code);
  if (!check) {
    Error e = check.error();
    e.field = "/credit_code";
    return fail(e);
  }
  if (!check->checksum_ok) {
    if (!legacy)
      return fail(Code::validation_failed,
                  "credit_code check character mismatch; if this is an early pilot code that "
                  "legitimately fails the checksum, resubmit with credit_code_legacy_confirmed "
                  "true and an operator will confirm it",
                  "/credit_code");
    warnings.push_back("credit_code fails the GB 32100 checksum; an operator must confirm it");
  }
  if (!check->region_known)
    warnings.push_back("credit_code region " + check->region_code +
                       " is not in the GB/T 2260 table (outdated codes stay valid)");
  org.credit_code = code;
  org.credit_code_checksum_ok = check->checksum_ok;
  org.region_code = check->region_code;
  return org;
}

Reply create_org(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("organisations are created by people, not API keys");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string kind_name = f.string("kind", 32);
  if (!f.ok()) API_CHECK(f.finish());
  auto kind = identity::parse_org_kind(kind_name);
  if (!kind)
    return http::problem(
        Error(Code::validation_failed,
              "kind must be merchant, individual, enterprise_buyer, government_buyer or carrier",
              "/kind"));
  if (*kind == identity::OrgKind::platform)
    return forbidden("the platform organisation is created with `jishi admin create`");
  std::vector<std::string> warnings;
  identity::NewOrg org;
  if (*kind == identity::OrgKind::individual) {
    // A person's shop (C2C): no credit code; the real-name check is the onboarding.
    org.kind = *kind;
    org.name = f.string("name", limits::org_name_bytes_max);
    API_CHECK(f.finish());
  } else {
    API_ASSIGN(org, read_org_fields(f, *kind, warnings));
  }
  return Reply::write([&s, user = p.user, org, warnings](store::Tx& tx) -> Response {
    if (org.kind == identity::OrgKind::individual) {
      API_ASSIGN(auto u, identity::get_user(tx, s.env, user));
      if (!u || !u->real_name_verified)
        return http::problem(Error(Code::forbidden,
                                   "an individual seller must first verify their real name "
                                   "(POST /api/v1/me/real-name)"));
    }
    API_ASSIGN(auto created, identity::create_org(tx, s.env, user, org));
    return invalidates_access_of(s, user, ok_json(org_json(created, warnings), 201));
  });
}

Reply list_orgs(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p) && !is_regulator(p))
    return forbidden("listing organisations needs the operator or regulator role");
  identity::OrgFilter filter;
  if (auto st = req.query_param("status")) {
    filter.status = identity::parse_org_status(*st);
    if (!filter.status)
      return http::problem(Error(Code::validation_failed,
                                 "status must be submitted, approved or rejected", "status"));
  }
  if (auto k = req.query_param("kind")) {
    filter.kind = identity::parse_org_kind(*k);
    if (!filter.kind) return http::problem(Error(Code::validation_failed, "unknown kind", "kind"));
  }
  API_ASSIGN(auto page, read_page(req));
  filter.limit = page.limit;
  filter.before_id = page.cursor;
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto result, identity::list_orgs(*lease, filter));
  return ok_json(page_json(to_array(result.items, [](const auto& x) { return org_json(x); }),
                           result.next_cursor));
}

// Loads the organisation named in the path and checks that p may read it.
Result<identity::Org> readable_org(Services& s, const Principal& p, const Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto id, path_id(req, "id"));
  OrgId org_id{id};
  bool allowed =
      is_operator(p) || is_regulator(p) ||
      (p.kind == Principal::Kind::api_key ? p.api_key_org == org_id && p.has_scope("read")
                                          : p.is_member_of(org_id));
  if (!allowed) return fail(Code::not_found, "no such organisation");  // do not reveal it exists
  auto lease = s.store.reads().lease();
  JISHI_ASSIGN_OR_RETURN(auto org, identity::get_org(*lease, org_id));
  if (!org) return fail(Code::not_found, "no such organisation");
  return *org;
}

Reply get_org(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, readable_org(s, p, req));
  return ok_json(org_json(org));
}

Reply review(Services& s, Request& req, bool approve) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("reviewing organisations needs the operator role");
  API_ASSIGN(auto id, path_id(req, "id"));
  std::optional<std::string> reason;
  if (!req.body.empty() || !approve) {
    API_ASSIGN(auto body, read_json(req));
    FieldReader f(body);
    reason = approve ? f.optional_string("note", limits::reason_bytes_max)
                     : std::optional(f.string("reason", limits::reason_bytes_max));
    API_CHECK(f.finish());
  }
  return Reply::write([&s, id, reviewer = p.user, approve, reason](store::Tx& tx) -> Response {
    API_ASSIGN(auto org, identity::review_org(tx, s.env, OrgId{id}, reviewer, approve, reason));
    API_CHECK(audit_log(
        tx, s, approve ? "identity.org_approved" : "identity.org_rejected", reviewer.value,
        json::object{{"org_id", std::to_string(id)}, {"reason", json_or_null(reason)}}));
    return invalidates_access(s, ok_json(org_json(org)));
  });
}

Reply resubmit(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, readable_org(s, p, req));
  if (!p.has_role_in(org.id, {identity::admin_role_of(org.kind)}))
    return forbidden("only the organisation's admin can resubmit it");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::vector<std::string> warnings;
  API_ASSIGN(auto corrected, read_org_fields(f, org.kind, warnings));
  return Reply::write(
      [&s, id = org.id, user = p.user, corrected, warnings](store::Tx& tx) -> Response {
        API_ASSIGN(auto updated, identity::resubmit_org(tx, s.env, id, user, corrected));
        return invalidates_access(s, ok_json(org_json(updated, warnings)));
      });
}

Reply reviews(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, readable_org(s, p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return identity::org_reviews(c, org.id, cursor, limit);
      },
      [](const auto& x) { return review_json(x); });
}

// The org in the path, if p administers it (its admin role; operators for the platform org).
Result<identity::Org> administered_org(Services& s, const Principal& p, const Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto org, readable_org(s, p, req));
  if (!p.has_role_in(org.id, {identity::admin_role_of(org.kind)}))
    return fail(Code::forbidden,
                "this needs the " +
                    std::string(identity::name_of(identity::admin_role_of(org.kind))) +
                    " role in the organisation");
  return org;
}

Reply members(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, readable_org(s, p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return identity::list_members(c, org.id, cursor, limit);
      },
      [](const auto& x) { return member_json(x); });
}

Reply add_member(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, administered_org(s, p, req));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string login = f.string("login", limits::email_bytes_max);
  std::string role_name = f.string("role", 32);
  API_CHECK(f.finish());
  auto role = identity::parse_role(role_name);
  if (!role || !identity::role_allowed_in(*role, org.kind))
    return http::problem(Error(Code::validation_failed,
                               "role " + role_name + " does not exist in a " +
                                   std::string(identity::name_of(org.kind)) + " organisation",
                               "/role"));
  return Reply::write(
      [&s, org_id = org.id, login, role = *role, by = p.user](store::Tx& tx) -> Response {
        API_ASSIGN(auto rec, identity::find_login(tx, s.env, login));
        if (!rec)
          return http::problem(
              Error(Code::not_found, "no user signs in with this email or phone", "/login"));
        API_CHECK(identity::add_member(tx, s.env, org_id, rec->id, role));
        API_CHECK(audit_log(tx, s, "identity.role_granted", by.value,
                            json::object{{"org_id", std::to_string(org_id.value)},
                                         {"user_id", std::to_string(rec->id.value)},
                                         {"role", identity::name_of(role)}}));
        // The member as they now stand there (all their roles).
        API_ASSIGN(auto one, identity::list_members(tx, org_id, rec->id.value - 1, 1));
        if (one.items.empty()) return http::problem(Error(Code::internal, "member vanished"));
        return invalidates_access_of(s, rec->id, ok_json(member_json(one.items.front()), 201));
      });
}

Reply remove_member(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, administered_org(s, p, req));
  API_ASSIGN(auto user, path_id(req, "user_id"));
  return Reply::write([&s, org_id = org.id, user, by = p.user](store::Tx& tx) -> Response {
    API_CHECK(identity::remove_member(tx, org_id, UserId{user}));
    API_CHECK(audit_log(
        tx, s, "identity.member_removed", by.value,
        json::object{{"org_id", std::to_string(org_id.value)}, {"user_id", std::to_string(user)}}));
    return invalidates_access_of(s, UserId{user}, http::no_content());
  });
}

Reply list_keys(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, administered_org(s, p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return identity::list_api_keys(c, org.id, cursor, limit);
      },
      [](const auto& x) { return api_key_json(x); });
}

Reply create_key(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, administered_org(s, p, req));
  if (org.status != identity::OrgStatus::approved)
    return http::problem(
        Error(Code::invalid_state, "API keys are issued once the organisation is approved"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string name = f.string("name", limits::api_key_name_bytes_max);
  const json::value* scopes_v = f.value("scopes", true);
  API_CHECK(f.finish());
  std::vector<std::string> scopes;
  if (!scopes_v->is_array() || scopes_v->get_array().empty())
    return http::problem(
        Error(Code::validation_failed, "scopes must be a non-empty array", "/scopes"));
  for (const auto& v : scopes_v->get_array()) {
    if (!v.is_string() || !identity::is_known_scope(v.get_string()))
      return http::problem(
          Error(Code::validation_failed, "scopes may be read and write", "/scopes"));
    std::string sc(v.get_string());
    if (std::find(scopes.begin(), scopes.end(), sc) == scopes.end()) scopes.push_back(sc);
  }
  return Reply::write(
      [&s, org_id = org.id, user = p.user, name, scopes](store::Tx& tx) -> Response {
        API_ASSIGN(auto created, identity::create_api_key(tx, s.env, org_id, user, name, scopes));
        json::array sc;
        for (const auto& x : scopes) sc.emplace_back(x);
        API_CHECK(audit_log(tx, s, "identity.api_key_created", user.value,
                            json::object{{"org_id", std::to_string(org_id.value)},
                                         {"api_key_id", created.key.id.str()},
                                         {"scopes", std::move(sc)}}));
        json::object o = api_key_json(created.key);
        o["token"] = created.token;
        return ok_json(o, 201);
      });
}

Reply revoke_key(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, administered_org(s, p, req));
  API_ASSIGN(auto key, path_id(req, "key_id"));
  return Reply::write([&s, org_id = org.id, key, by = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto revoked, identity::revoke_api_key(tx, s.env, org_id, ApiKeyId{key}));
    API_CHECK(audit_log(tx, s, "identity.api_key_revoked", by.value,
                        json::object{{"org_id", std::to_string(org_id.value)},
                                     {"api_key_id", std::to_string(key)}}));
    return invalidates_access(s, ok_json(api_key_json(revoked)));
  });
}

}  // namespace

void add_org_routes(http::Router& router, Services& s) {
  http::RouteOptions secret;
  secret.secret_response = true;
  auto bind = [&s](Reply (*fn)(Services&, Request&)) {
    return [&s, fn](Request& r) { return fn(s, r); };
  };
  router.add(Method::post, "/api/v1/orgs", bind(create_org));
  router.add(Method::get, "/api/v1/orgs", bind(list_orgs));
  router.add(Method::get, "/api/v1/orgs/{id}", bind(get_org));
  router.add(Method::post, "/api/v1/orgs/{id}/approve",
             [&s](Request& r) { return review(s, r, true); });
  router.add(Method::post, "/api/v1/orgs/{id}/reject",
             [&s](Request& r) { return review(s, r, false); });
  router.add(Method::post, "/api/v1/orgs/{id}/resubmit", bind(resubmit));
  router.add(Method::get, "/api/v1/orgs/{id}/reviews", bind(reviews));
  router.add(Method::get, "/api/v1/orgs/{id}/members", bind(members));
  router.add(Method::post, "/api/v1/orgs/{id}/members", bind(add_member));
  router.add(Method::delete_, "/api/v1/orgs/{id}/members/{user_id}", bind(remove_member));
  router.add(Method::get, "/api/v1/orgs/{id}/api-keys", bind(list_keys));
  router.add(Method::post, "/api/v1/orgs/{id}/api-keys", bind(create_key), secret);
  router.add(Method::delete_, "/api/v1/orgs/{id}/api-keys/{key_id}", bind(revoke_key));
}

}  // namespace jishi::api
