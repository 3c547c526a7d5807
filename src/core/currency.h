// ISO 4217 currencies: the alphabetic code, the numeric code and the exponent (digits of the
// minor unit). Money is stored in minor units, so the exponent decides how an amount prints.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"

namespace jishi {

// A currency from the ISO 4217 table. Value type: copy it freely. Only currency_from_code()
// and known_currencies() produce valid ones, so `code` is always three uppercase letters.
struct Currency {
  std::array<char, 4> code{};  // three letters and a NUL, e.g. "CNY"
  std::uint16_t numeric = 0;   // ISO numeric code, e.g. 156
  std::uint8_t exponent = 0;   // minor-unit digits: CNY 2 (分), JPY 0, KWD 3

  constexpr std::string_view code_view() const { return {code.data(), 3}; }
  friend bool operator==(const Currency&, const Currency&) = default;
};

// Looks up an alphabetic code. Only exact uppercase three-letter codes from the table are
// accepted ("cny" is not CNY: codes are compared, never guessed); otherwise validation_failed
// "unknown currency".
Result<Currency> currency_from_code(std::string_view code);

// Looks up an ISO numeric code (156 -> CNY), for bank and card-scheme messages that carry it.
Result<Currency> currency_from_numeric(std::uint16_t numeric);

// Every currency jishi knows, sorted by alphabetic code.
std::span<const Currency> known_currencies();

}  // namespace jishi
