#include "api/identity_json.h"

#include <boost/json.hpp>

#include "api/common.h"
#include "core/regions.h"

namespace jishi::api {

namespace json = boost::json;

namespace {
// JSON null for an absent value, else the value (mapped through f).
template <class T, class F>
json::value nullable(const std::optional<T>& v, F f) {
  return v ? json::value(f(*v)) : json::value(nullptr);
}
json::value nullable(const std::optional<std::string>& v) {
  return nullable(v, [](const std::string& x) { return x; });
}
json::value nullable_time(const std::optional<std::int64_t>& v) {
  return nullable(v, time_json);
}

std::string mask_phone(const std::string& e164) {
  if (e164.size() < 8) return "****";
  return e164.substr(0, e164.size() - 8) + "****" + e164.substr(e164.size() - 4);
}
}  // namespace

json::object user_json(const identity::User& u) {
  json::object o;
  o["id"] = u.id.str();
  o["email"] = nullable(u.email);
  // The full number is personal data; the API shows it masked, as Chinese apps do.
  o["phone"] = nullable(u.phone, mask_phone);
  o["display_name"] = u.display_name;
  o["status"] = u.status;
  o["real_name_verified"] = u.real_name_verified;
  o["created_at"] = time_json(u.created_at_us);
  return o;
}

json::object membership_json(const identity::Membership& m) {
  json::object o;
  o["org_id"] = m.org.str();
  o["org_name"] = m.org_name;
  o["org_kind"] = identity::name_of(m.org_kind);
  o["org_status"] = identity::name_of(m.org_status);
  o["role"] = identity::name_of(m.role);
  return o;
}

json::object org_json(const identity::Org& org, const std::vector<std::string>& warnings) {
  json::object o;
  o["id"] = org.id.str();
  o["kind"] = identity::name_of(org.kind);
  o["name"] = org.name;
  o["credit_code"] = nullable(org.credit_code);
  o["credit_code_checksum_ok"] = org.credit_code_checksum_ok;
  if (org.region_code) {
    json::object region;
    region["code"] = *org.region_code;
    const Region* r = find_region(*org.region_code);
    region["name"] = r ? json::value(r->name) : json::value(nullptr);
    o["region"] = std::move(region);
  } else {
    o["region"] = nullptr;
  }
  o["status"] = identity::name_of(org.status);
  o["status_reason"] = nullable(org.status_reason);
  o["reviewed_at"] = nullable_time(org.reviewed_at_us);
  o["created_by"] = org.created_by.str();
  o["created_at"] = time_json(org.created_at_us);
  o["updated_at"] = time_json(org.updated_at_us);
  json::array w;
  for (const auto& s : warnings) w.push_back(json::value(s));
  o["warnings"] = std::move(w);
  return o;
}

json::object review_json(const identity::OrgReview& r) {
  json::object o;
  o["id"] = std::to_string(r.id);
  o["action"] = r.action;
  o["reason"] = nullable(r.reason);
  o["actor_id"] = r.actor.str();
  o["at"] = time_json(r.at_us);
  return o;
}

json::object member_json(const identity::Member& m) {
  json::object o;
  o["user_id"] = m.user.str();
  o["display_name"] = m.display_name;
  o["email"] = nullable(m.email);
  json::array roles;
  for (auto r : m.roles) roles.push_back(json::value(identity::name_of(r)));
  o["roles"] = std::move(roles);
  o["since"] = time_json(m.since_us);
  return o;
}

json::object api_key_json(const identity::ApiKey& k) {
  json::object o;
  o["id"] = k.id.str();
  o["org_id"] = k.org.str();
  o["name"] = k.name;
  o["token_prefix"] = k.token_prefix;
  json::array scopes;
  for (const auto& s : k.scopes) scopes.push_back(json::value(s));
  o["scopes"] = std::move(scopes);
  o["created_by"] = k.created_by.str();
  o["created_at"] = time_json(k.created_at_us);
  o["revoked_at"] = nullable_time(k.revoked_at_us);
  return o;
}

}  // namespace jishi::api
