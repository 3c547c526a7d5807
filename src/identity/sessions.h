// Sessions: opaque bearer tokens ("jss_" + 256 random bits) stored only as SHA-256 hashes,
// with an expiry; logout revokes. Also resolves a bearer token (session or API key) to the
// calling Principal.
#pragma once

#include <string>

#include "core/env.h"
#include "identity/types.h"
#include "store/database.h"

namespace jishi::identity {

inline constexpr std::string_view kSessionTokenPrefix = "jss_";
inline constexpr std::string_view kApiKeyTokenPrefix = "jsk_";

struct NewSession {
  SessionId id;
  std::string token;  // shown to the client once; only its hash is stored
  std::int64_t expires_at_us;
};

Result<NewSession> create_session(store::Tx& tx, const Env& env, UserId user, std::int64_t ttl_us);
Status revoke_session(store::Tx& tx, const Env& env, SessionId id);

// Deletes sessions that expired or were revoked more than a day ago; returns how many.
Result<std::int64_t> purge_sessions(store::Tx& tx, const Env& env);

// The principal for a bearer token, or unauthenticated when it is unknown, expired, revoked,
// or the user is disabled.
Result<Principal> authenticate(store::Conn& conn, const Env& env, std::string_view token);
// The same with the token's stored form (crypto::token_hash) already computed by the caller.
Result<Principal> authenticate(store::Conn& conn, const Env& env, std::string_view token,
                               std::string_view token_hash);

// Loads a user's memberships (with their organisations' kinds and statuses).
Result<std::vector<Membership>> load_memberships(store::Conn& conn, UserId user);

}  // namespace jishi::identity
