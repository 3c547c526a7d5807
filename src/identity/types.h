// identity's vocabulary: users, organisations, roles, onboarding states. Each enum has a
// stable snake_case name used in the database and the API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace jishi::identity {

// individual: a real-name-verified person's shop (C2C, 个人卖家); it sells like a merchant but has
// no credit code and is approved by the real-name check itself.
enum class OrgKind { merchant, enterprise_buyer, government_buyer, carrier, platform, individual };
enum class OrgStatus { submitted, approved, rejected };
enum class Role {
  buyer,         // buys on behalf of an enterprise or government buyer organisation
  seller_admin,  // runs a merchant: products, orders, staff, API keys
  seller_staff,  // works in a merchant's back office
  org_admin,     // administers a buyer or carrier organisation
  carrier,       // a logistics company's staff: waybills and tracking
  operator_,     // platform staff: onboarding, rulings, settlement ("operator")
  regulator,     // reads statistics, credit records, the blacklist; never writes trade data
  ca_officer,    // runs the certification authority
  arbitrator,    // rules on disputes
};

std::string_view name_of(OrgKind k);
std::string_view name_of(OrgStatus s);
std::string_view name_of(Role r);
std::optional<OrgKind> parse_org_kind(std::string_view s);
std::optional<OrgStatus> parse_org_status(std::string_view s);
std::optional<Role> parse_role(std::string_view s);

// Roles a member of an organisation of this kind may hold.
bool role_allowed_in(Role role, OrgKind kind);
// The role the creator of an organisation of this kind receives.
Role admin_role_of(OrgKind kind);
// Platform roles are held in the platform organisation and act across all tenants.
bool is_platform_role(Role role);

struct User {
  UserId id;
  std::optional<std::string> email;
  std::optional<std::string> phone;  // decrypted, E.164
  std::string display_name;
  std::string status;
  bool real_name_verified = false;
  std::int64_t created_at_us = 0;
};

struct Membership {
  OrgId org;
  OrgKind org_kind;
  OrgStatus org_status;
  std::string org_name;
  Role role;
};

struct Org {
  OrgId id;
  OrgKind kind;
  std::string name;
  std::optional<std::string> credit_code;
  bool credit_code_checksum_ok = true;
  std::optional<std::string> region_code;
  OrgStatus status;
  std::optional<std::string> status_reason;
  std::optional<std::int64_t> reviewed_at_us;
  UserId created_by;
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
};

struct OrgReview {
  std::int64_t id;
  std::string action;
  std::optional<std::string> reason;
  UserId actor;
  std::int64_t at_us;
};

struct ApiKey {
  ApiKeyId id;
  OrgId org;
  std::string name;
  std::string token_prefix;
  std::vector<std::string> scopes;
  UserId created_by;
  std::int64_t created_at_us = 0;
  std::optional<std::int64_t> revoked_at_us;
};

// Who is calling: a signed-in user (with memberships) or an organisation's API key.
struct Principal {
  enum class Kind { anonymous, user, api_key };
  Kind kind = Kind::anonymous;
  UserId user;
  SessionId session;
  ApiKeyId api_key;
  OrgId api_key_org;
  std::vector<std::string> scopes;
  std::vector<Membership> memberships;

  bool is_user() const { return kind == Kind::user; }
  bool has_platform_role(Role r) const;
  // True when the principal holds one of roles in org (API keys hold none).
  bool has_role_in(OrgId org, std::initializer_list<Role> roles) const;
  bool is_member_of(OrgId org) const;
  bool has_scope(std::string_view scope) const;
};

}  // namespace jishi::identity
