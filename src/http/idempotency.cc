#include "http/idempotency.h"

#include <boost/json.hpp>

#include "core/crypto.h"
#include "core/limits.h"

namespace jishi::http {

namespace {
constexpr std::string_view kBodyField = "idempotency.body";

std::string encode_headers(const Fields& headers) {
  boost::json::array a;
  for (const auto& [k, v] : headers) a.push_back(boost::json::array{k, v});
  return boost::json::serialize(a);
}

Fields decode_headers(std::string_view text) {
  Fields out;
  std::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.get_array()) {
    const auto* pair = e.if_array();
    if (pair && pair->size() == 2 && (*pair)[0].is_string() && (*pair)[1].is_string())
      out.emplace_back(std::string((*pair)[0].get_string()), std::string((*pair)[1].get_string()));
  }
  return out;
}
}  // namespace

Status validate_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > limits::idempotency_key_bytes_max)
    return fail(Code::bad_request, "Idempotency-Key must be 1 to " +
                                       std::to_string(limits::idempotency_key_bytes_max) +
                                       " characters");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return fail(Code::bad_request, "Idempotency-Key must be visible ASCII characters");
  return {};
}

std::string request_fingerprint(const FieldCipher& cipher, const Request& request) {
  std::string text(method_name(request.method));
  text += '\n';
  text += request.target;
  text += '\n';
  text += request.body;
  return cipher.lookup_hash("idempotency_request", text);
}

Result<std::optional<Response>> idempotency_lookup(store::Conn& conn, const FieldCipher& cipher,
                                                   const Clock& clock,
                                                   const IdempotencyContext& ctx) {
  std::optional<Response> out;
  bool mismatch = false;
  std::optional<Error> decrypt_error;
  JISHI_TRY(conn.query(
      "SELECT request_hash, status, content_type, body, body_encrypted, headers FROM "
      "idempotency_keys WHERE scope = $1 AND idem_key = $2 AND created_at_us > $3",
      {ctx.scope, ctx.key, clock.now_us() - limits::idempotency_ttl_us}, [&](const store::Row& r) {
        if (r.text(0) != ctx.fingerprint) {
          mismatch = true;
          return false;
        }
        Response resp;
        resp.status = static_cast<int>(r.i64(1));
        resp.content_type = r.str(2);
        if (r.i64(4) != 0) {
          auto plain = cipher.decrypt(kBodyField, r.text(3));
          if (!plain) {
            decrypt_error = plain.error();
            return false;
          }
          resp.body = std::move(*plain);
        } else {
          resp.body = r.str(3);
        }
        resp.headers = decode_headers(r.text(5));
        resp.headers.emplace_back("Idempotent-Replayed", "true");
        out = std::move(resp);
        return false;
      }));
  if (decrypt_error) return fail(*decrypt_error);
  if (mismatch)
    return fail(Code::idempotency_key_reused,
                "this Idempotency-Key was used with a different request; use a new key");
  return out;
}

TxStep with_idempotency(TxStep inner, IdempotencyContext ctx, const FieldCipher& cipher,
                        const Clock& clock) {
  return [inner = std::move(inner), ctx = std::move(ctx), &cipher, &clock](store::Tx& tx) {
    auto stored = idempotency_lookup(tx, cipher, clock, ctx);
    if (!stored) return problem(stored.error());
    if (*stored) return std::move(**stored);
    Response r = inner(tx);
    if (r.status >= 200 && r.status < 300) {
      render_now(r);  // the body is stored with the key
      std::string body = ctx.encrypt ? cipher.encrypt(kBodyField, r.body) : r.body;
      auto saved = tx.exec(
          "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, content_type, "
          "body, body_encrypted, headers, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
          "$9) ON CONFLICT (scope, idem_key) DO UPDATE SET request_hash = excluded.request_hash, "
          "status = excluded.status, content_type = excluded.content_type, body = excluded.body, "
          "body_encrypted = excluded.body_encrypted, headers = excluded.headers, "
          "created_at_us = excluded.created_at_us",
          {ctx.scope, ctx.key, ctx.fingerprint, r.status, r.content_type, body, ctx.encrypt,
           encode_headers(r.headers), clock.now_us()});
      // Without the record the contract would break silently: fail the command instead.
      if (!saved) return problem(saved.error());
    }
    return r;
  };
}

Result<std::int64_t> purge_expired_idempotency_keys(store::Tx& tx, const Clock& clock) {
  return tx.exec("DELETE FROM idempotency_keys WHERE created_at_us <= $1",
                 {clock.now_us() - limits::idempotency_ttl_us});
}

}  // namespace jishi::http
