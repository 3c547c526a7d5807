// Sign-up, sign-in, sign-out and the caller's own account.
#include <boost/json.hpp>

#include "api/audit_log.h"
#include "api/common.h"
#include "api/identity_json.h"
#include "api/routes.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/resident_id.h"
#include "identity/password.h"
#include "identity/sessions.h"
#include "identity/users.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;

namespace {

json::object session_json(const identity::NewSession& s) {
  json::object o;
  o["token"] = s.token;
  o["token_type"] = "Bearer";
  o["expires_at"] = time_json(s.expires_at_us);
  return o;
}

Response locked_response(const Services& s, std::int64_t until_us) {
  Response r = http::problem(Error(
      Code::account_locked, "too many failed sign-ins; try again after " + time_json(until_us)));
  auto wait_s = std::max<std::int64_t>(1, (until_us - s.env.clock.now_us()) / 1'000'000);
  r.headers.emplace_back("Retry-After", std::to_string(wait_s));
  return r;
}

Reply do_register(Services& s, Request& req) {
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto email_raw = f.optional_string("email", limits::email_bytes_max);
  auto phone_raw = f.optional_string("phone", 32);
  auto password = f.optional_string("password", limits::password_bytes_max, FieldReader::Trim::no);
  auto name = f.optional_string("display_name", limits::display_name_bytes_max);
  API_CHECK(f.finish());
  if (!email_raw && !phone_raw)
    return http::problem(
        Error(Code::validation_failed, "give an email or a phone number", "/email"));
  if (!password)
    return http::problem(Error(Code::validation_failed, "password is required", "/password"));
  identity::NewUser nu;
  if (email_raw) {
    API_ASSIGN(nu.email, identity::normalize_email(*email_raw));
  }
  if (phone_raw) {
    API_ASSIGN(nu.phone, identity::normalize_phone(*phone_raw));
  }
  API_CHECK(identity::validate_password(*password));
  nu.display_name = name       ? *name
                    : nu.email ? nu.email->substr(0, std::min<std::size_t>(nu.email->find('@'), 64))
                               : "用户" + nu.phone->substr(nu.phone->size() - 4);
  return Reply::on_cpu([&s, nu = std::move(nu), pw = std::move(*password)]() mutable -> Reply {
    nu.password_hash = identity::hash_password(pw, s.hash_cost);
    return Reply::write([&s, nu = std::move(nu)](store::Tx& tx) -> Response {
      API_ASSIGN(auto user, identity::create_user(tx, s.env, nu));
      API_ASSIGN(auto session, identity::create_session(tx, s.env, user.id, s.session_ttl_us));
      json::object o;
      o["user"] = user_json(user);
      o["session"] = session_json(session);
      return ok_json(o, 201);
    });
  });
}

Reply do_login(Services& s, Request& req) {
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string login = f.string("login", limits::email_bytes_max);
  std::string password = f.string("password", limits::password_bytes_max, FieldReader::Trim::no);
  API_CHECK(f.finish());
  std::optional<identity::LoginRecord> record;
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(record, identity::find_login(*lease, s.env, login));
  }
  if (!record || record->status != "active") {
    // Same work and same answer as a wrong password: no account enumeration by timing.
    return Reply::on_cpu([&s]() -> Reply {
      identity::verify_password_dummy(s.hash_cost);
      return http::problem(Error(Code::invalid_credentials, "wrong login or password"));
    });
  }
  if (record->locked_until_us > s.env.clock.now_us())
    return locked_response(s, record->locked_until_us);
  return Reply::on_cpu(
      [&s, rec = *record, pw = std::move(password), from = req.remote_address]() -> Reply {
        bool ok = identity::verify_password(rec.password_hash, pw);
        return Reply::write([&s, rec, ok, from](store::Tx& tx) -> Response {
          if (!ok) {
            API_ASSIGN(auto locked_until, identity::record_login_failure(tx, s.env, rec.id));
            API_CHECK(audit_log(tx, s, "auth.login_failed", rec.id.value,
                                json::object{{"user_id", std::to_string(rec.id.value)},
                                             {"remote_address", from},
                                             {"locked", locked_until != 0}}));
            Response r =
                locked_until
                    ? locked_response(s, locked_until)
                    : http::problem(Error(Code::invalid_credentials, "wrong login or password"));
            r.keep_writes = true;  // the failure must count even though we answer with an error
            return r;
          }
          API_CHECK(identity::record_login_success(tx, s.env, rec.id));
          API_CHECK(audit_log(
              tx, s, "auth.login", rec.id.value,
              json::object{{"user_id", std::to_string(rec.id.value)}, {"remote_address", from}}));
          API_ASSIGN(auto session, identity::create_session(tx, s.env, rec.id, s.session_ttl_us));
          API_ASSIGN(auto user, identity::get_user(tx, s.env, rec.id));
          json::object o;
          o["user"] = user ? json::value(user_json(*user)) : json::value(nullptr);
          o["session"] = session_json(session);
          return ok_json(o);
        });
      });
}

Reply do_logout(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user())
    return http::problem(Error(Code::forbidden, "API keys have no session to sign out of"));
  return Reply::write([&s, session = p.session, user = p.user](store::Tx& tx) -> Response {
    API_CHECK(identity::revoke_session(tx, s.env, session));
    return invalidates_access_of(s, user, http::no_content());
  });
}

Reply do_me(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  json::object o;
  if (!p.is_user()) {
    o["kind"] = "api_key";
    o["api_key_id"] = p.api_key.str();
    o["org_id"] = p.api_key_org.str();
    json::array scopes;
    for (const auto& sc : p.scopes) scopes.push_back(json::value(sc));
    o["scopes"] = std::move(scopes);
    return ok_json(o);
  }
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto user, identity::get_user(*lease, s.env, p.user));
  if (!user) return http::problem(Error(Code::unauthenticated, "the account no longer exists"));
  o["kind"] = "user";
  o["user"] = user_json(*user);
  json::array ms;
  for (const auto& m : p.memberships) ms.push_back(membership_json(m));
  o["memberships"] = std::move(ms);
  return ok_json(o);
}

Reply do_real_name(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return http::problem(Error(Code::forbidden, "only people have real names"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string name = f.string("name", limits::display_name_bytes_max);
  std::string id_number = f.string("resident_id", 18);
  API_CHECK(f.finish());
  std::time_t t = static_cast<std::time_t>(s.env.clock.now_us() / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  int today = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
  auto parsed = parse_resident_id(id_number, today);
  if (!parsed) {
    Error e = parsed.error();
    e.field = "/resident_id";
    return http::problem(e);
  }
  return Reply::write([&s, user = p.user, name, id = *parsed](store::Tx& tx) -> Response {
    API_CHECK(identity::set_real_name(tx, s.env, user, name, id.normalized));
    json::object o;
    o["real_name_verified"] = true;
    o["resident_id_masked"] = id.normalized.substr(0, 4) + "**********" + id.normalized.substr(14);
    return ok_json(o);
  });
}

}  // namespace

void add_auth_routes(http::Router& router, Services& s) {
  http::RouteOptions secret;
  secret.secret_response = true;
  secret.limit_by_address = true;
  router.add(
      Method::post, "/api/v1/auth/register", [&s](Request& r) { return do_register(s, r); },
      secret);
  router.add(
      Method::post, "/api/v1/auth/login", [&s](Request& r) { return do_login(s, r); }, secret);
  router.add(Method::post, "/api/v1/auth/logout", [&s](Request& r) { return do_logout(s, r); });
  router.add(Method::get, "/api/v1/me", [&s](Request& r) { return do_me(s, r); });
  router.add(Method::post, "/api/v1/me/real-name", [&s](Request& r) { return do_real_name(s, r); });
}

}  // namespace jishi::api
