// Checked money arithmetic, decimal formatting and the JSON shape of an amount.
#include "core/money.h"

#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "core/json_writer.h"

namespace jishi {
namespace {

Status same_currency(const Money& a, const Money& b) {
  if (a.currency != b.currency) {
    return fail(Code::validation_failed, "currency mismatch (" +
                                             std::string(a.currency.code_view()) + " vs " +
                                             std::string(b.currency.code_view()) + ")");
  }
  return {};
}

std::unexpected<Error> overflow() {
  return fail(Code::validation_failed, "amount overflow");
}

// RFC 6901: "~" and "/" inside a key are written "~0" and "~1".
std::string pointer_to(std::string_view base, std::string_view key) {
  std::string out(base);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::int64_t> amount_from_json(const boost::json::value& v, const std::string& field) {
  if (v.is_int64()) return v.get_int64();
  // Boost.JSON stores integers above INT64_MAX as uint64 and those beyond uint64 as double.
  if (v.is_uint64()) return fail(Code::validation_failed, "amount out of range", field);
  if (v.is_double()) {
    double d = v.get_double();
    // 2^63 is exactly representable; anything integral at or beyond it cannot be an int64.
    constexpr double kTwoPow63 = 9223372036854775808.0;
    if (std::isfinite(d) && std::trunc(d) == d && (d >= kTwoPow63 || d < -kTwoPow63)) {
      return fail(Code::validation_failed, "amount out of range", field);
    }
    return fail(Code::validation_failed,
                "amount must be an integer count of minor units (1999 for 19.99)", field);
  }
  if (v.is_string()) {
    return fail(Code::validation_failed,
                "amount must be a JSON integer of minor units, not a string", field);
  }
  return fail(Code::validation_failed, "amount must be an integer count of minor units", field);
}

}  // namespace

Result<Money> add(const Money& a, const Money& b) {
  JISHI_TRY(same_currency(a, b));
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a.minor, b.minor, &sum)) return overflow();
  return Money{sum, a.currency};
}

Result<Money> subtract(const Money& a, const Money& b) {
  JISHI_TRY(same_currency(a, b));
  std::int64_t difference = 0;
  if (__builtin_sub_overflow(a.minor, b.minor, &difference)) return overflow();
  return Money{difference, a.currency};
}

Result<Money> multiply(const Money& unit, std::int64_t quantity) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(unit.minor, quantity, &product)) return overflow();
  return Money{product, unit.currency};
}

Result<Money> negate(const Money& a) {
  if (a.minor == std::numeric_limits<std::int64_t>::min()) return overflow();
  return Money{-a.minor, a.currency};
}

Result<std::strong_ordering> compare(const Money& a, const Money& b) {
  JISHI_TRY(same_currency(a, b));
  return a.minor <=> b.minor;
}

std::string format_decimal(const Money& m) {
  // Work on the magnitude as unsigned so INT64_MIN prints too.
  std::uint64_t magnitude = m.minor < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(m.minor)
                                        : static_cast<std::uint64_t>(m.minor);
  std::string digits = std::to_string(magnitude);
  const std::size_t exponent = m.currency.exponent;
  if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
  if (exponent > 0) digits.insert(digits.size() - exponent, 1, '.');
  if (m.minor < 0) digits.insert(0, 1, '-');
  return digits;
}

Result<Money> parse_decimal(std::string_view text, const Currency& currency) {
  auto bad = [&] {
    return fail(Code::validation_failed, "not a decimal amount in " +
                                             std::string(currency.code_view()) + ": '" +
                                             std::string(text.substr(0, 40)) + "'");
  };
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty()) ||
      fraction.size() > currency.exponent)
    return bad();
  std::int64_t minor = 0;
  auto push = [&](char c) {
    if (c < '0' || c > '9') return false;
    return !__builtin_mul_overflow(minor, 10, &minor) &&
           !__builtin_add_overflow(minor, c - '0', &minor);
  };
  for (char c : whole)
    if (!push(c)) return bad();
  for (std::size_t i = 0; i < currency.exponent; ++i)
    if (!push(i < fraction.size() ? fraction[i] : '0')) return bad();
  return Money{minor, currency};
}

void write_money(JsonWriter& w, std::int64_t amount, const Currency& c) {
  w.begin_object().key("amount").integer(amount).key("currency").string(c.code_view());
  w.end_object();
}

boost::json::value to_json(const Money& m) {
  return boost::json::object{{"amount", m.minor}, {"currency", m.currency.code_view()}};
}

Result<Money> money_from_json(const boost::json::value& v, std::string_view pointer) {
  const boost::json::object* object = v.if_object();
  if (object == nullptr) {
    return fail(Code::validation_failed,
                R"(money must be an object {"amount": <minor units>, "currency": "CNY"})",
                std::string(pointer));
  }
  for (const auto& entry : *object) {
    if (entry.key() != "amount" && entry.key() != "currency") {
      return fail(Code::validation_failed, "unexpected field", pointer_to(pointer, entry.key()));
    }
  }

  const std::string amount_field = pointer_to(pointer, "amount");
  const boost::json::value* amount = object->if_contains("amount");
  if (amount == nullptr) return fail(Code::validation_failed, "missing field", amount_field);
  JISHI_ASSIGN_OR_RETURN(std::int64_t minor, amount_from_json(*amount, amount_field));

  const std::string currency_field = pointer_to(pointer, "currency");
  const boost::json::value* currency = object->if_contains("currency");
  if (currency == nullptr) return fail(Code::validation_failed, "missing field", currency_field);
  if (!currency->is_string()) {
    return fail(Code::validation_failed, "currency must be a string such as \"CNY\"",
                currency_field);
  }
  auto found = currency_from_code(currency->get_string());
  if (!found) {
    found.error().field = currency_field;
    return fail(std::move(found).error());
  }
  return Money{minor, *found};
}

}  // namespace jishi
