// The ISO 4217 table (list one, as published by SIX) for the currencies jishi may meet:
// CNY and its neighbours, the major reserve currencies, and those of trading partners.
#include "core/currency.h"

#include <algorithm>
#include <string>

namespace jishi {
namespace {

constexpr Currency make(const char (&code)[4], std::uint16_t numeric, std::uint8_t exponent) {
  return Currency{{code[0], code[1], code[2], '\0'}, numeric, exponent};
}

// Sorted by alphabetic code (checked below) so lookups can binary-search.
constexpr std::array kCurrencies = {
    make("AED", 784, 2), make("AFN", 971, 2), make("ALL", 8, 2),   make("AMD", 51, 2),
    make("ARS", 32, 2),  make("AUD", 36, 2),  make("AZN", 944, 2), make("BAM", 977, 2),
    make("BDT", 50, 2),  make("BGN", 975, 2), make("BHD", 48, 3),  make("BIF", 108, 0),
    make("BND", 96, 2),  make("BRL", 986, 2), make("BYN", 933, 2), make("CAD", 124, 2),
    make("CHF", 756, 2), make("CLP", 152, 0), make("CNY", 156, 2), make("COP", 170, 2),
    make("CZK", 203, 2), make("DJF", 262, 0), make("DKK", 208, 2), make("DZD", 12, 2),
    make("EGP", 818, 2), make("ETB", 230, 2), make("EUR", 978, 2), make("GBP", 826, 2),
    make("GEL", 981, 2), make("GNF", 324, 0), make("HKD", 344, 2), make("HUF", 348, 2),
    make("IDR", 360, 2), make("ILS", 376, 2), make("INR", 356, 2), make("IQD", 368, 3),
    make("ISK", 352, 0), make("JOD", 400, 3), make("JPY", 392, 0), make("KES", 404, 2),
    make("KGS", 417, 2), make("KHR", 116, 2), make("KMF", 174, 0), make("KRW", 410, 0),
    make("KWD", 414, 3), make("KZT", 398, 2), make("LAK", 418, 2), make("LKR", 144, 2),
    make("LYD", 434, 3), make("MAD", 504, 2), make("MMK", 104, 2), make("MNT", 496, 2),
    make("MOP", 446, 2), make("MXN", 484, 2), make("MYR", 458, 2), make("NGN", 566, 2),
    make("NOK", 578, 2), make("NPR", 524, 2), make("NZD", 554, 2), make("OMR", 512, 3),
    make("PEN", 604, 2), make("PHP", 608, 2), make("PKR", 586, 2), make("PLN", 985, 2),
    make("PYG", 600, 0), make("QAR", 634, 2), make("RON", 946, 2), make("RSD", 941, 2),
    make("RUB", 643, 2), make("RWF", 646, 0), make("SAR", 682, 2), make("SEK", 752, 2),
    make("SGD", 702, 2), make("THB", 764, 2), make("TND", 788, 3), make("TRY", 949, 2),
    make("TWD", 901, 2), make("UAH", 980, 2), make("UGX", 800, 0), make("USD", 840, 2),
    make("UYU", 858, 2), make("UZS", 860, 2), make("VND", 704, 0), make("VUV", 548, 0),
    make("XAF", 950, 0), make("XOF", 952, 0), make("XPF", 953, 0), make("ZAR", 710, 2),
};

constexpr bool sorted_and_unique() {
  for (std::size_t i = 1; i < kCurrencies.size(); ++i) {
    if (!(kCurrencies[i - 1].code_view() < kCurrencies[i].code_view())) return false;
  }
  return true;
}
static_assert(sorted_and_unique(), "kCurrencies must stay sorted by code");

// The amount arithmetic assumes at most 4 minor digits (10^4 fits easily in int64).
constexpr bool exponents_small() {
  return std::ranges::all_of(kCurrencies, [](const Currency& c) { return c.exponent <= 4; });
}
static_assert(exponents_small());

}  // namespace

Result<Currency> currency_from_code(std::string_view code) {
  auto it = std::ranges::lower_bound(kCurrencies, code, {}, &Currency::code_view);
  if (code.size() != 3 || it == kCurrencies.end() || it->code_view() != code) {
    return fail(Code::validation_failed,
                "unknown currency (expected an ISO 4217 code in uppercase, e.g. CNY)");
  }
  return *it;
}

Result<Currency> currency_from_numeric(std::uint16_t numeric) {
  auto it = std::ranges::find(kCurrencies, numeric, &Currency::numeric);
  if (it == kCurrencies.end()) {
    return fail(Code::validation_failed,
                "unknown currency (numeric code " + std::to_string(numeric) + ")");
  }
  return *it;
}

std::span<const Currency> known_currencies() {
  return kCurrencies;
}

}  // namespace jishi
