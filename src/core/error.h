// Error values shared by every module: a stable snake_case code (the API's
// problem+json `code`), the HTTP status it maps to, and a human detail.
#pragma once

#include <string>
#include <string_view>

namespace jishi {

// Stable error codes. Names are part of the public API: never rename one.
enum class Code {
  // 400
  bad_request,
  invalid_json,
  validation_failed,
  // 401 / 403
  unauthenticated,
  invalid_credentials,
  account_locked,
  forbidden,
  // 404 / 405
  not_found,
  method_not_allowed,
  // 409
  conflict,
  already_exists,
  invalid_state,
  insufficient_funds,  // a balance would go below what its flags allow
  insufficient_stock,  // fewer units available than asked for (nothing was reserved)
  price_changed,       // a price differs from the one the buyer saw (nothing was ordered)
  // 402 / 403 (payments)
  payment_declined,  // the channel or the risk rules refused a payment or withdrawal
  // 411 / 413 / 415
  length_required,
  body_too_large,
  unsupported_media_type,
  // 422
  idempotency_key_reused,
  // 429
  rate_limited,
  // 500 / 503
  internal,
  unavailable,
  overloaded,
  storage_failure,
  // 502
  upstream_failure,  // a payment channel or bank did not answer properly
};

std::string_view code_name(Code code);
int http_status(Code code);
// Short English title for problem+json, the same for every instance of a code.
std::string_view code_title(Code code);

struct Error {
  Code code = Code::internal;
  std::string detail;
  // JSON pointer of the offending input field, when one field is at fault.
  std::string field;

  Error() = default;
  Error(Code c, std::string d = {}, std::string f = {})
      : code(c), detail(std::move(d)), field(std::move(f)) {}
};

}  // namespace jishi
