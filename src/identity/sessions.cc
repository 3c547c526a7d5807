#include "identity/sessions.h"

#include <sstream>

#include "core/crypto.h"

namespace jishi::identity {

Result<NewSession> create_session(store::Tx& tx, const Env& env, UserId user, std::int64_t ttl_us) {
  NewSession s{SessionId{env.ids.next()}, crypto::new_token(kSessionTokenPrefix),
               env.clock.now_us() + ttl_us};
  JISHI_TRY(tx.exec(
      "INSERT INTO sessions (id, token_hash, user_id, created_at_us, expires_at_us) "
      "VALUES ($1, $2, $3, $4, $5)",
      {s.id.value, crypto::token_hash(s.token), user.value, env.clock.now_us(), s.expires_at_us}));
  return s;
}

Status revoke_session(store::Tx& tx, const Env& env, SessionId id) {
  JISHI_TRY(
      tx.exec("UPDATE sessions SET revoked_at_us = $2 WHERE id = $1 AND revoked_at_us IS NULL",
              {id.value, env.clock.now_us()}));
  return {};
}

Result<std::int64_t> purge_sessions(store::Tx& tx, const Env& env) {
  std::int64_t cutoff = env.clock.now_us() - 24LL * 3600 * 1'000'000;
  return tx.exec(
      "DELETE FROM sessions WHERE expires_at_us < $1 OR (revoked_at_us IS NOT NULL AND "
      "revoked_at_us < $1)",
      {cutoff});
}

Result<std::vector<Membership>> load_memberships(store::Conn& conn, UserId user) {
  std::vector<Membership> out;
  JISHI_TRY(
      conn.query("SELECT m.org_id, o.kind, o.status, o.name, m.role FROM memberships m "
                 "JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY m.org_id, m.role",
                 {user.value}, [&](const store::Row& r) {
                   auto kind = parse_org_kind(r.text(1));
                   auto status = parse_org_status(r.text(2));
                   auto role = parse_role(r.text(4));
                   if (kind && status && role)
                     out.push_back(Membership{OrgId{r.i64(0)}, *kind, *status, r.str(3), *role});
                   return true;
                 }));
  return out;
}

Result<Principal> authenticate(store::Conn& conn, const Env& env, std::string_view token) {
  return authenticate(conn, env, token, crypto::token_hash(token));
}

Result<Principal> authenticate(store::Conn& conn, const Env& env, std::string_view token,
                               std::string_view hash) {
  std::int64_t now = env.clock.now_us();
  Principal p;
  if (token.starts_with(kSessionTokenPrefix)) {
    bool found = false;
    JISHI_TRY(
        conn.query("SELECT s.id, s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
                   "WHERE s.token_hash = $1 AND s.revoked_at_us IS NULL AND s.expires_at_us > $2 "
                   "AND u.status = 'active'",
                   {hash, now}, [&](const store::Row& r) {
                     p.kind = Principal::Kind::user;
                     p.session = SessionId{r.i64(0)};
                     p.user = UserId{r.i64(1)};
                     found = true;
                     return false;
                   }));
    if (!found) return fail(Code::unauthenticated, "the session is invalid or has expired");
    JISHI_ASSIGN_OR_RETURN(p.memberships, load_memberships(conn, p.user));
    return p;
  }
  if (token.starts_with(kApiKeyTokenPrefix)) {
    bool found = false;
    JISHI_TRY(
        conn.query("SELECT k.id, k.org_id, k.scopes FROM api_keys k JOIN orgs o ON o.id = k.org_id "
                   "WHERE k.token_hash = $1 AND k.revoked_at_us IS NULL AND o.status = 'approved'",
                   {hash}, [&](const store::Row& r) {
                     p.kind = Principal::Kind::api_key;
                     p.api_key = ApiKeyId{r.i64(0)};
                     p.api_key_org = OrgId{r.i64(1)};
                     std::istringstream in(r.str(2));
                     for (std::string s; in >> s;) p.scopes.push_back(s);
                     found = true;
                     return false;
                   }));
    if (!found) return fail(Code::unauthenticated, "the API key is invalid or revoked");
    return p;
  }
  return fail(Code::unauthenticated, "unrecognised bearer token");
}

}  // namespace jishi::identity
