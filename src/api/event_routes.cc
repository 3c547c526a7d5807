// Merchants' webhooks, their delivery log, and the event pull API for ERPs.
#include <boost/json.hpp>

#include "api/common.h"
#include "api/routes.h"
#include "core/json.h"
#include "core/limits.h"
#include "events/events.h"
#include "events/webhooks.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;

namespace {

// Reading events and deliveries: the org's seller people, or its API key with `read`.
bool reads_events(const Principal& p, OrgId org) {
  if (p.kind == Principal::Kind::api_key) return p.api_key_org == org && p.has_scope("read");
  return p.is_member_of(org);
}
// Managing webhooks: the org's admin, or its API key with `write`.
bool manages_webhooks(const Principal& p, OrgId org) {
  if (p.kind == Principal::Kind::api_key) return p.api_key_org == org && p.has_scope("write");
  return p.has_role_in(org, {identity::Role::seller_admin, identity::Role::org_admin});
}

json::object webhook_json(const events::Webhook& w) {
  json::object o;
  o["id"] = std::to_string(w.id);
  o["org_id"] = std::to_string(w.org.value);
  o["url"] = w.url;
  json::array types;
  for (const auto& t : w.event_types) types.push_back(json::value(t));
  o["event_types"] = std::move(types);
  o["description"] = w.description ? json::value(*w.description) : json::value(nullptr);
  o["enabled"] = w.enabled;
  o["created_at"] = time_json(w.created_at_us);
  o["updated_at"] = time_json(w.updated_at_us);
  return o;
}

json::object delivery_json(const events::Delivery& d) {
  json::object o;
  o["id"] = std::to_string(d.id);
  o["webhook_id"] = std::to_string(d.webhook_id);
  o["event_id"] = std::to_string(d.event_id);
  o["event_type"] = d.event_type;
  o["status"] = d.status;
  o["attempts"] = d.attempts;
  o["next_attempt_at"] =
      d.status == "pending" ? json::value(time_json(d.next_attempt_at_us)) : nullptr;
  o["last_status_code"] = d.last_status_code ? json::value(*d.last_status_code) : nullptr;
  o["last_error"] = d.last_error ? json::value(*d.last_error) : nullptr;
  o["created_at"] = time_json(d.created_at_us);
  o["finished_at"] = d.finished_at_us ? json::value(time_json(*d.finished_at_us)) : nullptr;
  json::array log;
  for (const auto& a : d.log) {
    json::object x;
    x["attempt"] = a.attempt;
    x["status_code"] = a.status_code ? json::value(*a.status_code) : nullptr;
    x["error"] = a.error ? json::value(*a.error) : nullptr;
    x["duration_ms"] = a.duration_ms;
    x["at"] = time_json(a.at_us);
    log.push_back(std::move(x));
  }
  o["log"] = std::move(log);
  return o;
}

Result<events::WebhookFields> read_fields(FieldReader& f) {
  events::WebhookFields w;
  w.url = f.string("url", limits::webhook_url_bytes_max);
  w.description = f.optional_string("description", limits::reason_bytes_max);
  const auto* types = f.value("event_types", true);
  if (!f.ok()) {
    JISHI_TRY(f.finish());
  }
  if (!types->is_array())
    return fail(Code::validation_failed, "event_types is an array of strings", "/event_types");
  for (const auto& t : types->as_array()) {
    if (!t.is_string())
      return fail(Code::validation_failed, "event_types is an array of strings", "/event_types");
    w.event_types.emplace_back(t.as_string());
  }
  JISHI_TRY(events::validate_webhook(w));
  return w;
}

Result<OrgId> org_param(const Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto id, path_id(req, "id"));
  return OrgId{id};
}

Reply create_webhook(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  if (!manages_webhooks(p, org))
    return http::problem(Error(Code::not_found, "no such organisation"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto fields, read_fields(f));
  API_CHECK(f.finish());
  return Reply::write([&s, org, by = p.user, fields](store::Tx& tx) -> Response {
    API_ASSIGN(auto created, events::create_webhook(tx, s.env, org, by, fields));
    auto o = webhook_json(created.first);
    o["secret"] = created.second;  // shown once
    return ok_json(o, 201);
  });
}

Reply list_webhooks(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  if (!reads_events(p, org)) return http::problem(Error(Code::not_found, "no such organisation"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, events::list_webhooks(*lease, org));
  json::object out;
  out["items"] = to_array(list, webhook_json);
  out["next_cursor"] = nullptr;
  return ok_json(out);
}

Reply get_webhook(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  if (!reads_events(p, org)) return http::problem(Error(Code::not_found, "no such organisation"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto w, events::get_webhook(*lease, org, wid));
  return ok_json(webhook_json(w));
}

Reply patch_webhook(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  if (!manages_webhooks(p, org))
    return http::problem(Error(Code::not_found, "no such organisation"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto enabled = f.optional_bool("enabled");
  std::optional<events::WebhookFields> fields;
  if (body.is_object() && body.as_object().contains("url")) {
    API_ASSIGN(fields, read_fields(f));
  }
  API_CHECK(f.finish());
  return Reply::write([&s, org, wid, fields, enabled](store::Tx& tx) -> Response {
    API_ASSIGN(auto w, events::update_webhook(tx, s.env, org, wid, fields, enabled));
    return ok_json(webhook_json(w));
  });
}

Reply delete_webhook(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  if (!manages_webhooks(p, org))
    return http::problem(Error(Code::not_found, "no such organisation"));
  return Reply::write([&s, org, wid](store::Tx& tx) -> Response {
    API_CHECK(events::update_webhook(tx, s.env, org, wid, std::nullopt, false));
    Response r;
    r.status = 204;
    return r;
  });
}

Reply ping_webhook(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  if (!manages_webhooks(p, org))
    return http::problem(Error(Code::not_found, "no such organisation"));
  return Reply::write([&s, org, wid](store::Tx& tx) -> Response {
    API_ASSIGN(auto w, events::get_webhook(tx, org, wid));
    events::NewEvent e{"webhook.ping", org, std::to_string(w.id),
                       "{\"webhook_id\":\"" + std::to_string(w.id) + "\"}"};
    API_ASSIGN(auto id, events::publish_to(tx, s.env, e, w.id));
    json::object o;
    o["event_id"] = std::to_string(id.value);
    return ok_json(o, 202);
  });
}

Reply list_deliveries(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  if (!reads_events(p, org)) return http::problem(Error(Code::not_found, "no such organisation"));
  {
    auto lease = s.store.reads().lease();
    API_CHECK(events::get_webhook(*lease, org, wid));
  }
  return list_response(
      s, req,
      [wid](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return events::list_deliveries(c, wid, cursor, limit);
      },
      delivery_json);
}

Reply retry_delivery(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  API_ASSIGN(auto wid, path_id(req, "webhook_id"));
  API_ASSIGN(auto did, path_id(req, "delivery_id"));
  if (!manages_webhooks(p, org))
    return http::problem(Error(Code::not_found, "no such organisation"));
  return Reply::write([&s, org, wid, did](store::Tx& tx) -> Response {
    API_CHECK(events::get_webhook(tx, org, wid));
    API_ASSIGN(auto d, events::retry_delivery(tx, s.env, wid, did));
    return ok_json(delivery_json(d), 202);
  });
}

Reply pull_events(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_param(req));
  if (!reads_events(p, org)) return http::problem(Error(Code::not_found, "no such organisation"));
  std::int64_t after = 0;
  auto a = req.query_param("after");
  if (!a) a = req.query_param("cursor");  // next_cursor of the previous page
  if (a) {
    auto id = parse_id(*a);
    if (!id) return http::problem(Error(Code::validation_failed, "after is a cursor", "after"));
    after = *id;
  }
  std::optional<std::string> type;
  if (auto t = req.query_param("type")) type = std::string(*t);
  std::size_t limit = limits::page_size_default;
  if (auto l = req.query_param("limit")) {
    auto n = parse_id(*l);
    if (!n || *n < 1 || *n > static_cast<std::int64_t>(limits::page_size_max))
      return http::problem(Error(Code::validation_failed, "limit is 1..100", "limit"));
    limit = static_cast<std::size_t>(*n);
  }
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, events::events_after(*lease, org, after, type, limit));
  // Items are the delivered envelopes; next_cursor is the last id (poll again with after=it).
  json::array items;
  for (const auto& e : list.items) items.push_back(json::parse(events::event_envelope(e)));
  json::object out;
  std::optional<std::int64_t> last;
  if (!list.items.empty()) last = list.items.back().id.value;
  out["items"] = std::move(items);
  out["next_cursor"] = last ? json::value(std::to_string(*last)) : json::value(nullptr);
  out["has_more"] = list.next_cursor.has_value();
  return ok_json(out);
}

}  // namespace

void add_event_routes(http::Router& router, Services& s) {
  router.add(Method::post, "/api/v1/orgs/{id}/webhooks",
             [&s](Request& r) { return create_webhook(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/webhooks",
             [&s](Request& r) { return list_webhooks(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/webhooks/{webhook_id}",
             [&s](Request& r) { return get_webhook(s, r); });
  router.add(Method::patch, "/api/v1/orgs/{id}/webhooks/{webhook_id}",
             [&s](Request& r) { return patch_webhook(s, r); });
  router.add(Method::delete_, "/api/v1/orgs/{id}/webhooks/{webhook_id}",
             [&s](Request& r) { return delete_webhook(s, r); });
  router.add(Method::post, "/api/v1/orgs/{id}/webhooks/{webhook_id}/test",
             [&s](Request& r) { return ping_webhook(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/webhooks/{webhook_id}/deliveries",
             [&s](Request& r) { return list_deliveries(s, r); });
  router.add(Method::post, "/api/v1/orgs/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
             [&s](Request& r) { return retry_delivery(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/events",
             [&s](Request& r) { return pull_events(s, r); });
}

}  // namespace jishi::api
