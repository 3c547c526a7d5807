// The Idempotency-Key contract on POST: the first request with a key runs; its successful
// response is stored in the same transaction as its writes; a retry with the same key and the
// same request gets the stored response (with Idempotent-Replayed: true) and runs nothing; the
// same key with a different request is refused with 422 idempotency_key_reused. Keys are
// scoped per caller and kept for limits::idempotency_ttl_us.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/field_cipher.h"
#include "core/result.h"
#include "http/message.h"

namespace jishi::http {

struct IdempotencyContext {
  std::string scope;
  std::string key;
  std::string fingerprint;  // keyed hash (HMAC under the server key) of method, path and body
  bool encrypt = false;
};

// Validates the header value: 1..255 visible ASCII characters.
Status validate_idempotency_key(std::string_view key);
// Keyed with the server's key: a stored fingerprint of a body holding a card number must not
// let anyone who reads the database guess the number back.
std::string request_fingerprint(const FieldCipher& cipher, const Request& request);

// The stored response for ctx, if any; idempotency_key_reused if it was for another request.
Result<std::optional<Response>> idempotency_lookup(store::Conn& conn, const FieldCipher& cipher,
                                                   const Clock& clock,
                                                   const IdempotencyContext& ctx);
// Wraps a write so it checks and records the key inside its own transaction.
TxStep with_idempotency(TxStep inner, IdempotencyContext ctx, const FieldCipher& cipher,
                        const Clock& clock);
// Deletes records past their lifetime; returns how many.
Result<std::int64_t> purge_expired_idempotency_keys(store::Tx& tx, const Clock& clock);

}  // namespace jishi::http
