// GB 32100-2015 check: a weighted sum modulo 31 over the first 17 characters.
#include "core/uscc.h"

#include <array>
#include <cstddef>
#include <string>

#include "core/regions.h"

namespace jishi {
namespace {

constexpr std::string_view kCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static_assert(kCharset.size() == 31);

// Weight of position i is 3^i mod 31 (GB 32100-2015, 5.2).
constexpr std::array<int, 17> kWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                          29, 25, 13, 8,  24, 10, 30, 28};

constexpr std::size_t kLength = 18;

// The value 0..30 of a charset character, or -1.
int value_of(char c) {
  std::size_t at = kCharset.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::string bad_character(std::string_view code, std::size_t index) {
  std::string position = std::to_string(index + 1);
  char c = code[index];
  if (c >= 'a' && c <= 'z' && value_of(static_cast<char>(c - 'a' + 'A')) >= 0) {
    return "lowercase character at position " + position + " (letters must be uppercase)";
  }
  return "invalid character at position " + position +
         " (allowed: digits and uppercase letters except I, O, S, V, Z)";
}

}  // namespace

Result<UsccCheck> check_uscc(std::string_view code) {
  if (code.size() != kLength) {
    return fail(Code::validation_failed,
                "must be 18 characters (got " + std::to_string(code.size()) + ")");
  }
  int sum = 0;
  for (std::size_t i = 0; i < kLength; ++i) {
    int value = value_of(code[i]);
    if (value < 0) return fail(Code::validation_failed, bad_character(code, i));
    if (i < kWeights.size()) sum += value * kWeights[i];
  }
  UsccCheck check;
  check.checksum_ok = code[kLength - 1] == kCharset[(31 - sum % 31) % 31];
  check.region_code = std::string(code.substr(2, 6));
  check.region_known = is_known_area_code(check.region_code);
  return check;
}

Status validate_uscc(std::string_view code, bool accept_bad_checksum) {
  JISHI_ASSIGN_OR_RETURN(UsccCheck check, check_uscc(code));
  if (!check.checksum_ok && !accept_bad_checksum) {
    return fail(Code::validation_failed, "check character mismatch");
  }
  return {};
}

}  // namespace jishi
