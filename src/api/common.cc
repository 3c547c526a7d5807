#include "api/common.h"

#include "api/key_use.h"
#include "audit/audit.h"
#include "store/writer.h"

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/limits.h"
#include "identity/sessions.h"

namespace jishi::api {

Result<identity::Principal> authenticate(Services& s, http::Request& req) {
  auto auth = req.header("authorization");
  if (!auth)
    return fail(Code::unauthenticated, "sign in first: send Authorization: Bearer <token>");
  if (!auth->starts_with("Bearer ") || auth->size() <= 7)
    return fail(Code::unauthenticated, "the Authorization header must be Bearer <token>");
  std::string_view token = auth->substr(7);
  std::int64_t now = s.env.clock.now_us();
  std::string hash = crypto::token_hash(token);  // once: the cache key and the stored form
  std::optional<identity::Principal> cached;
  if (s.auth_cache) cached = s.auth_cache->get(hash, now);  // nullopt when disabled
  identity::Principal p;
  if (cached) {
    p = std::move(*cached);
  } else {
    std::uint64_t generation = s.auth_cache ? s.auth_cache->generation() : 0;
    auto lease = s.store.reads().lease();
    JISHI_ASSIGN_OR_RETURN(p, identity::authenticate(*lease, s.env, token, hash));
    if (s.auth_cache) s.auth_cache->put(hash, p, now, generation);
  }
  if (p.kind == identity::Principal::Kind::api_key && s.key_use &&
      s.key_use->first_use(p.api_key.value, now / 86'400'000'000, req.remote_address)) {
    boost::json::object data{{"api_key_id", p.api_key.str()},
                             {"org_id", p.api_key_org.str()},
                             {"remote_address", req.remote_address}};
    s.store.writer().submit(store::make_command(
        [&s, text = boost::json::serialize(data)](store::Tx& tx) {
          return audit::append(tx, s.env.clock, "identity.api_key_used", std::nullopt, text)
              .has_value();
        },
        [](store::Outcome) {}));
  }
  req.idempotency_scope = p.kind == identity::Principal::Kind::api_key
                              ? "org:" + p.api_key_org.str()
                              : "user:" + p.user.str();
  return p;
}

Result<boost::json::value> read_json(const http::Request& req) {
  auto ct = req.header("content-type");
  if (!ct ||
      !(ct->starts_with("application/json") || ct->starts_with("application/merge-patch+json")))
    return fail(Code::unsupported_media_type, "send the body as Content-Type: application/json");
  return parse_json(req.body);
}

Result<PageParams> read_page(const http::Request& req) {
  PageParams p{limits::page_size_default, std::nullopt};
  if (auto l = req.query_param("limit")) {
    auto n = parse_id(*l);
    if (!n || *n < 1 || *n > static_cast<std::int64_t>(limits::page_size_max))
      return fail(Code::validation_failed,
                  "limit must be 1.." + std::to_string(limits::page_size_max), "limit");
    p.limit = static_cast<std::size_t>(*n);
  }
  if (auto c = req.query_param("cursor")) {
    auto n = parse_id(*c);
    if (!n) return fail(Code::validation_failed, "cursor is not one this API issued", "cursor");
    p.cursor = *n;
  }
  return p;
}

Result<std::int64_t> path_id(const http::Request& req, std::string_view name) {
  auto id = parse_id(req.param(name));
  if (!id) return fail(Code::not_found, "no such " + std::string(name));
  return *id;
}

http::Response invalidates_access(Services& s, http::Response r) {
  if (s.auth_cache) r.on_committed = [cache = s.auth_cache] { cache->invalidate(); };
  return r;
}

http::Response invalidates_access_of(Services& s, UserId user, http::Response r) {
  if (s.auth_cache) r.on_committed = [cache = s.auth_cache, user] { cache->invalidate_user(user); };
  return r;
}

http::Response ok_json(const boost::json::value& v, int status) {
  return http::json_response(status, v);
}

http::Response ok_json_later(std::function<boost::json::value()> build, int status) {
  http::Response r;
  r.status = status;
  r.render = [build = std::move(build)](http::Response& out) {
    out.body = boost::json::serialize(build());
  };
  return r;
}

http::Response ok_json_text_later(std::function<std::string()> build, int status) {
  http::Response r;
  r.status = status;
  r.render = [build = std::move(build)](http::Response& out) { out.body = build(); };
  return r;
}

boost::json::object page_json(boost::json::array items, std::optional<std::int64_t> next) {
  boost::json::object o;
  o["items"] = std::move(items);
  if (next)
    o["next_cursor"] = std::to_string(*next);
  else
    o["next_cursor"] = nullptr;
  return o;
}

std::string time_json(std::int64_t unix_us) {
  return format_rfc3339(unix_us);
}

void write_time_or_null(JsonWriter& w, const std::optional<std::int64_t>& unix_us) {
  if (unix_us)
    w.string(time_json(*unix_us));
  else
    w.null();
}

boost::json::value json_or_null(const std::optional<std::string>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

boost::json::value time_or_null(const std::optional<std::int64_t>& unix_us) {
  return unix_us ? boost::json::value(time_json(*unix_us)) : boost::json::value(nullptr);
}

boost::json::value id_or_null(const std::optional<std::int64_t>& id) {
  return id ? boost::json::value(std::to_string(*id)) : boost::json::value(nullptr);
}

http::Response forbidden(std::string_view why) {
  return http::problem(Error(Code::forbidden, std::string(why)));
}
bool is_operator(const identity::Principal& p) {
  return p.has_platform_role(identity::Role::operator_);
}
bool is_regulator(const identity::Principal& p) {
  return p.has_platform_role(identity::Role::regulator);
}

}  // namespace jishi::api
