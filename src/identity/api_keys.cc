#include "identity/api_keys.h"

#include <sstream>

#include "core/crypto.h"
#include "core/limits.h"
#include "identity/sessions.h"

namespace jishi::identity {

namespace {
// Column list spliced into whole SQL literals (no string building per query).
#define JISHI_API_KEY_COLUMNS \
  "id, org_id, name, token_prefix, scopes, created_by, created_at_us, revoked_at_us"

ApiKey read_key(const store::Row& r) {
  ApiKey k;
  k.id = ApiKeyId{r.i64(0)};
  k.org = OrgId{r.i64(1)};
  k.name = r.str(2);
  k.token_prefix = r.str(3);
  std::istringstream in(r.str(4));
  for (std::string s; in >> s;) k.scopes.push_back(s);
  k.created_by = UserId{r.i64(5)};
  k.created_at_us = r.i64(6);
  k.revoked_at_us = r.opt_i64(7);
  return k;
}
}  // namespace

bool is_known_scope(std::string_view scope) {
  return scope == "read" || scope == "write";
}

Result<NewApiKey> create_api_key(store::Tx& tx, const Env& env, OrgId org, UserId creator,
                                 const std::string& name, const std::vector<std::string>& scopes) {
  std::int64_t active = 0;
  JISHI_TRY(tx.query("SELECT COUNT(*) FROM api_keys WHERE org_id = $1 AND revoked_at_us IS NULL",
                     {org.value}, [&](const store::Row& r) {
                       active = r.i64(0);
                       return false;
                     }));
  if (active >= static_cast<std::int64_t>(limits::api_keys_per_org_max))
    return fail(Code::invalid_state, "an organisation may hold at most " +
                                         std::to_string(limits::api_keys_per_org_max) +
                                         " active API keys; revoke one first");
  NewApiKey out;
  out.token = crypto::new_token(kApiKeyTokenPrefix);
  out.key.id = ApiKeyId{env.ids.next()};
  out.key.org = org;
  out.key.name = name;
  out.key.token_prefix = out.token.substr(0, 10);
  out.key.scopes = scopes;
  out.key.created_by = creator;
  out.key.created_at_us = env.clock.now_us();
  std::string joined;
  for (const auto& s : scopes) joined += (joined.empty() ? "" : " ") + s;
  JISHI_TRY(tx.exec(
      "INSERT INTO api_keys (id, org_id, name, token_hash, token_prefix, scopes, created_by, "
      "created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {out.key.id.value, org.value, name, crypto::token_hash(out.token), out.key.token_prefix,
       joined, creator.value, out.key.created_at_us}));
  return out;
}

Result<Page<ApiKey>> list_api_keys(store::Conn& conn, OrgId org, std::int64_t before,
                                   std::size_t limit) {
  Page<ApiKey> page;
  JISHI_TRY(
      conn.query("SELECT " JISHI_API_KEY_COLUMNS
                 " FROM api_keys WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                 {org.value, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit) + 1},
                 [&](const store::Row& r) {
                   page.items.push_back(read_key(r));
                   return true;
                 }));
  trim_page(page, limit, [](const auto& x) { return x.id.value; });
  return page;
}

Result<ApiKey> revoke_api_key(store::Tx& tx, const Env& env, OrgId org, ApiKeyId id) {
  JISHI_TRY(
      tx.exec("UPDATE api_keys SET revoked_at_us = $3 WHERE id = $1 AND org_id = $2 AND "
              "revoked_at_us IS NULL",
              {id.value, org.value, env.clock.now_us()}));
  std::optional<ApiKey> key;
  JISHI_TRY(tx.query("SELECT " JISHI_API_KEY_COLUMNS " FROM api_keys WHERE id = $1 AND org_id = $2",
                     {id.value, org.value}, [&](const store::Row& r) {
                       key = read_key(r);
                       return false;
                     }));
  if (!key) return fail(Code::not_found, "API key not found");
  return *key;
}

}  // namespace jishi::identity

#undef JISHI_API_KEY_COLUMNS
