// Money: an integer count of minor units (分, cents) in one currency. Never a double, so sums
// are exact; every operation that could overflow int64 or mix currencies returns a Result.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/value.hpp>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/currency.h"
#include "core/result.h"

namespace jishi {

class JsonWriter;

// An amount in the minor unit of `currency`: {1999, CNY} is ¥19.99, {1999, JPY} is ¥1999.
// Negative amounts are allowed (refunds, adjustments). Equality is exact: same currency and
// same amount; ordering needs compare(), because there is no order across currencies.
struct Money {
  std::int64_t minor = 0;
  Currency currency;

  friend bool operator==(const Money&, const Money&) = default;
};

// a + b. Fails with validation_failed "currency mismatch" or "amount overflow".
Result<Money> add(const Money& a, const Money& b);
// a - b. Same failures as add().
Result<Money> subtract(const Money& a, const Money& b);
// Unit price times a quantity (order lines). Fails with "amount overflow".
Result<Money> multiply(const Money& unit, std::int64_t quantity);
// -a. Fails with "amount overflow" for the one amount that has no negation (INT64_MIN).
Result<Money> negate(const Money& a);

// Orders two amounts of one currency; "currency mismatch" otherwise (CNY 1 vs USD 1 has no
// answer without an exchange rate, and guessing one would be a silent bug).
Result<std::strong_ordering> compare(const Money& a, const Money& b);

// The amount as a plain decimal with exactly `exponent` fraction digits and no currency sign:
// CNY 1999 -> "19.99", CNY -5 -> "-0.05", JPY 1999 -> "1999", KWD 1999 -> "1.999".
// This is the form bank and payment gateways expect (total_fee, amount fields).
std::string format_decimal(const Money& m);

// The inverse of format_decimal for non-negative amounts, exact (no floating point): "19.99"
// CNY -> 1999, "20" or "20.0" CNY -> 2000. At most `exponent` fraction digits, digits only (no
// sign, exponent or spaces); validation_failed otherwise or on overflow.
Result<Money> parse_decimal(std::string_view text, const Currency& currency);

// The API's JSON shape: {"amount":1999,"currency":"CNY"}, amount in minor units as an integer.
boost::json::value to_json(const Money& m);
// The same shape as text, for JsonWriter replies and events.
void write_money(JsonWriter& w, std::int64_t amount, const Currency& c);

// Reads the shape written by to_json(). Rejects (validation_failed) a non-object, a missing
// or unexpected field, an amount that is not an integer (19.99 and "1999" both fail: a client
// sending major units must be told, not have its amount silently scaled), an amount outside
// int64, and an unknown currency. Error.field is the JSON pointer of the offending field,
// `pointer` + "/amount" etc., so callers pass the money object's own pointer (e.g. "/price").
Result<Money> money_from_json(const boost::json::value& v, std::string_view pointer = "");

}  // namespace jishi
