#include "identity/orgs.h"

#include "core/limits.h"

namespace jishi::identity {

namespace {
// Column list spliced into whole SQL literals (no string building per query).
#define JISHI_ORG_COLUMNS                                                                      \
  "id, kind, name, credit_code, credit_code_checksum_ok, region_code, status, status_reason, " \
  "reviewed_at_us, created_by, created_at_us, updated_at_us"

Org read_org(const store::Row& r) {
  Org o;
  o.id = OrgId{r.i64(0)};
  o.kind = parse_org_kind(r.text(1)).value_or(OrgKind::merchant);
  o.name = r.str(2);
  o.credit_code = r.opt_str(3);
  o.credit_code_checksum_ok = r.i64(4) != 0;
  o.region_code = r.opt_str(5);
  o.status = parse_org_status(r.text(6)).value_or(OrgStatus::submitted);
  o.status_reason = r.opt_str(7);
  o.reviewed_at_us = r.opt_i64(8);
  o.created_by = UserId{r.i64(9)};
  o.created_at_us = r.i64(10);
  o.updated_at_us = r.i64(11);
  return o;
}

Status add_review(store::Tx& tx, const Env& env, OrgId org, std::string_view action,
                  const std::optional<std::string>& reason, UserId actor) {
  JISHI_TRY(
      tx.exec("INSERT INTO org_reviews (id, org_id, action, reason, actor_id, at_us) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {env.ids.next(), org.value, action, reason, actor.value, env.clock.now_us()}));
  return {};
}

Result<Org> must_get(store::Conn& conn, OrgId id) {
  JISHI_ASSIGN_OR_RETURN(auto org, get_org(conn, id));
  if (!org) return fail(Code::not_found, "organisation not found");
  return *org;
}

Status credit_code_taken(const Result<std::int64_t>& r) {
  if (r) return {};
  if (r.error().code == Code::already_exists)
    return fail(Code::already_exists, "an organisation with this credit code is registered",
                "/credit_code");
  return std::unexpected(r.error());
}
}  // namespace

Result<Org> create_org(store::Tx& tx, const Env& env, UserId creator, const NewOrg& org) {
  std::int64_t now = env.clock.now_us();
  OrgId id{env.ids.next()};
  // The platform is trusted by construction; an individual seller's check is its creator's
  // real-name verification, which the caller has made.
  OrgStatus status = org.kind == OrgKind::platform || org.kind == OrgKind::individual
                         ? OrgStatus::approved
                         : OrgStatus::submitted;
  JISHI_TRY(credit_code_taken(tx.exec(
      "INSERT INTO orgs (id, kind, name, credit_code, credit_code_checksum_ok, region_code, "
      "status, created_by, created_at_us, updated_at_us) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
      {id.value, name_of(org.kind), org.name, org.credit_code, org.credit_code_checksum_ok,
       org.region_code, name_of(status), creator.value, now})));
  JISHI_TRY(add_member(tx, env, id, creator, admin_role_of(org.kind)));
  JISHI_TRY(add_review(tx, env, id, "submitted", std::nullopt, creator));
  if (org.kind == OrgKind::individual)
    JISHI_TRY(add_review(tx, env, id, "approved",
                         std::string("real-name verified individual seller"), creator));
  return must_get(tx, id);
}

bool can_sell(const Org& org) {
  return org.status == OrgStatus::approved &&
         (org.kind == OrgKind::merchant || org.kind == OrgKind::individual);
}

Result<std::optional<Org>> get_org(store::Conn& conn, OrgId id) {
  std::optional<Org> out;
  JISHI_TRY(conn.query("SELECT " JISHI_ORG_COLUMNS " FROM orgs WHERE id = $1", {id.value},
                       [&](const store::Row& r) {
                         out = read_org(r);
                         return false;
                       }));
  return out;
}

Result<OrgPage> list_orgs(store::Conn& conn, const OrgFilter& f) {
  OrgPage page;
  std::string status = f.status ? std::string(name_of(*f.status)) : "";
  std::string kind = f.kind ? std::string(name_of(*f.kind)) : "";
  std::int64_t before = f.before_id.value_or(INT64_MAX);
  auto limit = static_cast<std::int64_t>(f.limit);
  JISHI_TRY(conn.query("SELECT " JISHI_ORG_COLUMNS
                       " FROM orgs WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2)"
                       " AND id < $3 ORDER BY id DESC LIMIT $4",
                       {status, kind, before, limit + 1}, [&](const store::Row& r) {
                         page.items.push_back(read_org(r));
                         return true;
                       }));
  if (page.items.size() > f.limit) {
    page.items.pop_back();
    page.next_cursor = page.items.back().id.value;
  }
  return page;
}

Result<Org> review_org(store::Tx& tx, const Env& env, OrgId id, UserId reviewer, bool approve,
                       const std::optional<std::string>& reason) {
  JISHI_ASSIGN_OR_RETURN(Org org, must_get(tx, id));
  if (org.status != OrgStatus::submitted)
    return fail(Code::invalid_state, "the organisation is " + std::string(name_of(org.status)) +
                                         ", only a submitted one can be reviewed");
  std::int64_t now = env.clock.now_us();
  OrgStatus next = approve ? OrgStatus::approved : OrgStatus::rejected;
  JISHI_TRY(tx.exec(
      "UPDATE orgs SET status = $2, status_reason = $3, reviewed_by = $4, reviewed_at_us = $5, "
      "updated_at_us = $5 WHERE id = $1",
      {id.value, name_of(next), reason, reviewer.value, now}));
  JISHI_TRY(add_review(tx, env, id, name_of(next), reason, reviewer));
  return must_get(tx, id);
}

Result<Org> resubmit_org(store::Tx& tx, const Env& env, OrgId id, UserId actor, const NewOrg& c) {
  JISHI_ASSIGN_OR_RETURN(Org org, must_get(tx, id));
  if (org.status != OrgStatus::rejected)
    return fail(Code::invalid_state, "only a rejected organisation can be resubmitted");
  JISHI_TRY(credit_code_taken(
      tx.exec("UPDATE orgs SET name = $2, credit_code = $3, credit_code_checksum_ok = $4, "
              "region_code = $5, status = 'submitted', status_reason = NULL, updated_at_us = $6 "
              "WHERE id = $1",
              {id.value, c.name, c.credit_code, c.credit_code_checksum_ok, c.region_code,
               env.clock.now_us()})));
  JISHI_TRY(add_review(tx, env, id, "resubmitted", std::nullopt, actor));
  return must_get(tx, id);
}

Result<Page<OrgReview>> org_reviews(store::Conn& conn, OrgId id, std::int64_t after,
                                    std::size_t limit) {
  Page<OrgReview> page;
  JISHI_TRY(conn.query(
      "SELECT id, action, reason, actor_id, at_us FROM org_reviews WHERE org_id = $1 AND id > $2 "
      "ORDER BY id LIMIT $3",
      {id.value, after, static_cast<std::int64_t>(limit) + 1}, [&](const store::Row& r) {
        page.items.push_back(
            OrgReview{r.i64(0), r.str(1), r.opt_str(2), UserId{r.i64(3)}, r.i64(4)});
        return true;
      }));
  trim_page(page, limit, [](const auto& x) { return x.id; });
  return page;
}

Result<Page<Member>> list_members(store::Conn& conn, OrgId id, std::int64_t after,
                                  std::size_t limit) {
  Page<Member> page;
  bool more = false;
  // Rows are (user, role); a page holds `limit` whole users, so read until the next user.
  JISHI_TRY(conn.query(
      "SELECT m.user_id, u.display_name, u.email, m.role, m.created_at_us FROM memberships m "
      "JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id > $2 "
      "ORDER BY m.user_id, m.role",
      {id.value, after}, [&](const store::Row& r) {
        UserId user{r.i64(0)};
        auto role = parse_role(r.text(3));
        if (page.items.empty() || page.items.back().user != user) {
          if (page.items.size() == limit) {
            more = true;
            return false;
          }
          page.items.push_back(Member{user, r.str(1), r.opt_str(2), {}, r.i64(4)});
        }
        Member& m = page.items.back();
        if (role) m.roles.push_back(*role);
        m.since_us = std::min(m.since_us, r.i64(4));
        return true;
      }));
  if (more) page.next_cursor = page.items.back().user.value;
  return page;
}

Status add_member(store::Tx& tx, const Env& env, OrgId org, UserId user, Role role) {
  std::int64_t held = 0;
  JISHI_TRY(tx.query("SELECT COUNT(*) FROM memberships WHERE user_id = $1", {user.value},
                     [&](const store::Row& r) {
                       held = r.i64(0);
                       return false;
                     }));
  if (held >= static_cast<std::int64_t>(limits::memberships_per_user_max))
    return fail(Code::invalid_state, "a user may hold at most " +
                                         std::to_string(limits::memberships_per_user_max) +
                                         " organisation roles");
  auto r = tx.exec(
      "INSERT INTO memberships (org_id, user_id, role, created_at_us) VALUES ($1, $2, $3, $4)",
      {org.value, user.value, name_of(role), env.clock.now_us()});
  if (!r) {
    if (r.error().code == Code::already_exists)
      return fail(Code::already_exists, "the user already holds this role here");
    return std::unexpected(r.error());
  }
  return {};
}

Status remove_member(store::Tx& tx, OrgId org, UserId user) {
  JISHI_ASSIGN_OR_RETURN(Org o, must_get(tx, org));
  std::string admin(name_of(admin_role_of(o.kind)));
  std::int64_t other_admins = 0;
  JISHI_TRY(
      tx.query("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = $2 AND user_id <> $3",
               {org.value, admin, user.value}, [&](const store::Row& r) {
                 other_admins = r.i64(0);
                 return false;
               }));
  if (other_admins == 0)
    return fail(Code::invalid_state, "an organisation must keep at least one " + admin);
  JISHI_ASSIGN_OR_RETURN(auto n,
                         tx.exec("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
                                 {org.value, user.value}));
  if (n == 0) return fail(Code::not_found, "the user is not a member");
  return {};
}

Result<std::optional<OrgId>> platform_org(store::Conn& conn) {
  std::optional<OrgId> out;
  JISHI_TRY(conn.query("SELECT id FROM orgs WHERE kind = 'platform' ORDER BY id LIMIT 1", {},
                       [&](const store::Row& r) {
                         out = OrgId{r.i64(0)};
                         return false;
                       }));
  return out;
}

}  // namespace jishi::identity

#undef JISHI_ORG_COLUMNS
