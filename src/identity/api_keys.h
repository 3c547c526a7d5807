// API keys for organisations (ERPs and other platforms): "jsk_" + 256 random bits, shown
// once at creation, stored hashed, scoped, revocable.
#pragma once

#include <string>
#include <vector>

#include "core/env.h"
#include "identity/orgs.h"
#include "identity/types.h"
#include "store/database.h"

namespace jishi::identity {

// Scopes a key may carry. "read" reads the organisation's data; "write" changes it.
bool is_known_scope(std::string_view scope);

struct NewApiKey {
  ApiKey key;
  std::string token;  // the secret; never stored, never shown again
};

// invalid_state past limits::api_keys_per_org_max active keys.
Result<NewApiKey> create_api_key(store::Tx& tx, const Env& env, OrgId org, UserId creator,
                                 const std::string& name, const std::vector<std::string>& scopes);
// Newest first, before the key id `before` (0: from the newest).
Result<Page<ApiKey>> list_api_keys(store::Conn& conn, OrgId org, std::int64_t before,
                                   std::size_t limit);
// not_found for another organisation's key; revoking twice is a no-op.
Result<ApiKey> revoke_api_key(store::Tx& tx, const Env& env, OrgId org, ApiKeyId id);

}  // namespace jishi::identity
