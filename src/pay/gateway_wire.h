// The gateway protocol's wire details shared by the platform's client (pay/gateway.cc) and the
// built-in simulator (paysim/): amounts as major-unit decimals, Beijing-time timestamps, result
// codes, and signed JSON responses. docs/payments-gateway.md describes the protocol.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pay/gateway_sign.h"

namespace jishi::pay::wire {

inline constexpr std::string_view kApiPath = "/sim/gateway/api";
inline constexpr std::string_view kVersion = "1.0";
// Result codes (Alipay's): success, missing argument, invalid argument (sub_code says which,
// isv.invalid-signature among them), business failure (sub_code ACQ.*).
inline constexpr std::string_view kCodeSuccess = "10000";
inline constexpr std::string_view kCodeMissingArgument = "40001";
inline constexpr std::string_view kCodeInvalidArgument = "40002";
inline constexpr std::string_view kCodeBusinessFailed = "40004";

// "19.99" for CNY 1999; minor units from such a string for a currency code (exact).
Result<std::string> format_amount(std::int64_t minor, std::string_view currency);
Result<std::int64_t> parse_amount(std::string_view text, std::string_view currency);

// "yyyy-MM-dd HH:mm:ss" in Beijing time (UTC+8, no daylight saving), as Chinese gateways send
// timestamp, notify_time and gmt_payment.
std::string format_time(std::int64_t unix_us);
std::optional<std::int64_t> parse_time(std::string_view text);

// "trade.create" -> "trade_create_response": the key of a response object.
std::string response_key(std::string_view method);

// {"<method>_response":<object>,"sign":"<base64>"}; the signature covers the object's JSON text
// exactly as it appears in the body.
Result<std::string> signed_response(const Signer& signer, std::string_view method,
                                    const boost::json::object& response);
// Verifies a body made by signed_response and returns the object. upstream_failure when the body
// is malformed or the signature does not verify.
Result<boost::json::object> verify_response(const Verifier& verifier, std::string_view method,
                                            std::string_view body);

}  // namespace jishi::pay::wire
