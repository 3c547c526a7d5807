#include "core/error.h"

namespace jishi {

namespace {
struct CodeInfo {
  std::string_view name;
  int status;
  std::string_view title;
};

CodeInfo info(Code code) {
  switch (code) {
    case Code::bad_request:
      return {"bad_request", 400, "Bad request"};
    case Code::invalid_json:
      return {"invalid_json", 400, "Malformed JSON"};
    case Code::validation_failed:
      return {"validation_failed", 400, "Invalid input"};
    case Code::unauthenticated:
      return {"unauthenticated", 401, "Authentication required"};
    case Code::invalid_credentials:
      return {"invalid_credentials", 401, "Invalid credentials"};
    case Code::account_locked:
      return {"account_locked", 403, "Account temporarily locked"};
    case Code::forbidden:
      return {"forbidden", 403, "Forbidden"};
    case Code::not_found:
      return {"not_found", 404, "Not found"};
    case Code::method_not_allowed:
      return {"method_not_allowed", 405, "Method not allowed"};
    case Code::conflict:
      return {"conflict", 409, "Conflict"};
    case Code::already_exists:
      return {"already_exists", 409, "Already exists"};
    case Code::invalid_state:
      return {"invalid_state", 409, "Not allowed in the current state"};
    case Code::insufficient_funds:
      return {"insufficient_funds", 409, "Insufficient funds"};
    case Code::insufficient_stock:
      return {"insufficient_stock", 409, "Insufficient stock"};
    case Code::price_changed:
      return {"price_changed", 409, "Price changed"};
    case Code::payment_declined:
      return {"payment_declined", 402, "Payment declined"};
    case Code::length_required:
      return {"length_required", 411, "Length required"};
    case Code::body_too_large:
      return {"body_too_large", 413, "Request body too large"};
    case Code::unsupported_media_type:
      return {"unsupported_media_type", 415, "Unsupported media type"};
    case Code::idempotency_key_reused:
      return {"idempotency_key_reused", 422, "Idempotency key reused with a different request"};
    case Code::rate_limited:
      return {"rate_limited", 429, "Too many requests"};
    case Code::internal:
      return {"internal", 500, "Internal error"};
    case Code::unavailable:
      return {"unavailable", 503, "Service unavailable"};
    case Code::overloaded:
      return {"overloaded", 503, "Server overloaded, retry later"};
    case Code::storage_failure:
      return {"storage_failure", 503, "Storage failure"};
    case Code::upstream_failure:
      return {"upstream_failure", 502, "Payment channel failure"};
  }
  return {"internal", 500, "Internal error"};
}
}  // namespace

std::string_view code_name(Code code) {
  return info(code).name;
}
int http_status(Code code) {
  return info(code).status;
}
std::string_view code_title(Code code) {
  return info(code).title;
}

}  // namespace jishi
