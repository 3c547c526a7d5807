#include "identity/types.h"

#include <algorithm>
#include <array>

namespace jishi::identity {

namespace {
constexpr std::array<std::pair<OrgKind, std::string_view>, 6> kKinds = {{
    {OrgKind::merchant, "merchant"},
    {OrgKind::enterprise_buyer, "enterprise_buyer"},
    {OrgKind::government_buyer, "government_buyer"},
    {OrgKind::carrier, "carrier"},
    {OrgKind::platform, "platform"},
    {OrgKind::individual, "individual"},
}};
constexpr std::array<std::pair<OrgStatus, std::string_view>, 3> kStatuses = {{
    {OrgStatus::submitted, "submitted"},
    {OrgStatus::approved, "approved"},
    {OrgStatus::rejected, "rejected"},
}};
constexpr std::array<std::pair<Role, std::string_view>, 9> kRoles = {{
    {Role::buyer, "buyer"},
    {Role::seller_admin, "seller_admin"},
    {Role::seller_staff, "seller_staff"},
    {Role::org_admin, "org_admin"},
    {Role::carrier, "carrier"},
    {Role::operator_, "operator"},
    {Role::regulator, "regulator"},
    {Role::ca_officer, "ca_officer"},
    {Role::arbitrator, "arbitrator"},
}};

template <class E, std::size_t N>
std::string_view name_in(const std::array<std::pair<E, std::string_view>, N>& t, E v) {
  for (const auto& [e, n] : t)
    if (e == v) return n;
  return "unknown";
}
template <class E, std::size_t N>
std::optional<E> parse_in(const std::array<std::pair<E, std::string_view>, N>& t,
                          std::string_view s) {
  for (const auto& [e, n] : t)
    if (n == s) return e;
  return std::nullopt;
}
}  // namespace

std::string_view name_of(OrgKind k) {
  return name_in(kKinds, k);
}
std::string_view name_of(OrgStatus s) {
  return name_in(kStatuses, s);
}
std::string_view name_of(Role r) {
  return name_in(kRoles, r);
}
std::optional<OrgKind> parse_org_kind(std::string_view s) {
  return parse_in(kKinds, s);
}
std::optional<OrgStatus> parse_org_status(std::string_view s) {
  return parse_in(kStatuses, s);
}
std::optional<Role> parse_role(std::string_view s) {
  return parse_in(kRoles, s);
}

bool is_platform_role(Role r) {
  return r == Role::operator_ || r == Role::regulator || r == Role::ca_officer ||
         r == Role::arbitrator;
}

bool role_allowed_in(Role role, OrgKind kind) {
  switch (kind) {
    case OrgKind::merchant:
    case OrgKind::individual:
      return role == Role::seller_admin || role == Role::seller_staff;
    case OrgKind::enterprise_buyer:
    case OrgKind::government_buyer:
      return role == Role::org_admin || role == Role::buyer;
    case OrgKind::carrier:
      return role == Role::org_admin || role == Role::carrier;
    case OrgKind::platform:
      return is_platform_role(role);
  }
  return false;
}

Role admin_role_of(OrgKind kind) {
  switch (kind) {
    case OrgKind::merchant:
    case OrgKind::individual:
      return Role::seller_admin;
    case OrgKind::platform:
      return Role::operator_;
    default:
      return Role::org_admin;
  }
}

bool Principal::has_platform_role(Role r) const {
  return std::any_of(memberships.begin(), memberships.end(), [&](const Membership& m) {
    return m.org_kind == OrgKind::platform && m.role == r;
  });
}

bool Principal::has_role_in(OrgId org, std::initializer_list<Role> roles) const {
  return std::any_of(memberships.begin(), memberships.end(), [&](const Membership& m) {
    return m.org == org && std::find(roles.begin(), roles.end(), m.role) != roles.end();
  });
}

bool Principal::is_member_of(OrgId org) const {
  if (kind == Kind::api_key) return api_key_org == org;
  return std::any_of(memberships.begin(), memberships.end(),
                     [&](const Membership& m) { return m.org == org; });
}

bool Principal::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

}  // namespace jishi::identity
