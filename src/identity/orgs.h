// Organisations, their members, and onboarding: a merchant (or buyer/carrier organisation)
// is submitted with its real-name data, then approved or rejected by an operator with a
// reason; a rejected one may be corrected and resubmitted. The history is append-only.
#pragma once

#include <optional>
#include <vector>

#include "core/env.h"
#include "core/page.h"
#include "identity/types.h"
#include "store/database.h"

namespace jishi::identity {

struct NewOrg {
  OrgKind kind;
  std::string name;
  std::optional<std::string> credit_code;  // validated by the caller (core/uscc.h)
  bool credit_code_checksum_ok = true;
  std::optional<std::string> region_code;
};

// Creates the organisation (platform: approved; others: submitted) and makes the creator
// its admin (admin_role_of). already_exists when the credit code is registered.
Result<Org> create_org(store::Tx& tx, const Env& env, UserId creator, const NewOrg& org);
Result<std::optional<Org>> get_org(store::Conn& conn, OrgId id);

struct OrgFilter {
  std::optional<OrgStatus> status;
  std::optional<OrgKind> kind;
  std::optional<std::int64_t> before_id;  // cursor: newest first
  std::size_t limit = 20;
};
struct OrgPage {
  std::vector<Org> items;
  std::optional<std::int64_t> next_cursor;
};
Result<OrgPage> list_orgs(store::Conn& conn, const OrgFilter& filter);

// Operator decision on a submitted organisation; invalid_state if it is not submitted.
Result<Org> review_org(store::Tx& tx, const Env& env, OrgId id, UserId reviewer, bool approve,
                       const std::optional<std::string>& reason);
// Corrected data for a rejected organisation; back to submitted.
Result<Org> resubmit_org(store::Tx& tx, const Env& env, OrgId id, UserId actor,
                         const NewOrg& corrected);

// The onboarding history, oldest first, after the review id `after` (0: from the start).
Result<Page<OrgReview>> org_reviews(store::Conn& conn, OrgId id, std::int64_t after,
                                    std::size_t limit);

// A member with every role they hold in the organisation.
struct Member {
  UserId user;
  std::string display_name;
  std::optional<std::string> email;
  std::vector<Role> roles;
  std::int64_t since_us;  // their first role there
};
// Members ordered by user id, after the user id `after` (0: from the start).
Result<Page<Member>> list_members(store::Conn& conn, OrgId id, std::int64_t after,
                                  std::size_t limit);
// already_exists when the user already holds the role there.
Status add_member(store::Tx& tx, const Env& env, OrgId org, UserId user, Role role);
// Removes every role of user in org; invalid_state if that would leave it without an admin.
Status remove_member(store::Tx& tx, OrgId org, UserId user);

// True when the organisation may sell (list products, receive escrow): an approved merchant, or
// an individual seller (approved when created, since its creator passed the real-name check).
bool can_sell(const Org& org);

// The platform organisation (kind platform), if `jishi admin create` has made it.
Result<std::optional<OrgId>> platform_org(store::Conn& conn);

}  // namespace jishi::identity
