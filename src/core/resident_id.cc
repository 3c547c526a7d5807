// GB 11643-1999 parsing: character set, birth date, then the MOD 11-2 check character.
#include "core/resident_id.h"

#include <array>
#include <chrono>
#include <string>

namespace jishi {
namespace {

constexpr std::size_t kLength = 18;
constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
// The earliest birth year accepted: no living holder was born earlier, and it keeps typos
// such as 0990 out.
constexpr int kBirthYearMin = 1850;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_real_date(int yyyymmdd) {
  const std::chrono::year_month_day date{
      std::chrono::year{yyyymmdd / 10000},
      std::chrono::month{static_cast<unsigned>(yyyymmdd / 100 % 100)},
      std::chrono::day{static_cast<unsigned>(yyyymmdd % 100)}};
  return date.ok();  // knows the Gregorian leap rule: 1900 was not a leap year, 2000 was
}

}  // namespace

Result<ResidentId> parse_resident_id(std::string_view text, int today_yyyymmdd) {
  if (text.size() != kLength) return fail(Code::validation_failed, "must be 18 characters");
  for (std::size_t i = 0; i < kLength; ++i) {
    const char c = text[i];
    const bool last = i == kLength - 1;
    if (!is_digit(c) && !(last && (c == 'X' || c == 'x'))) {
      return fail(Code::validation_failed,
                  "invalid character at position " + std::to_string(i + 1));
    }
  }

  int birth = 0;
  for (std::size_t i = 6; i < 14; ++i) birth = birth * 10 + (text[i] - '0');
  if (birth / 10000 < kBirthYearMin || !is_real_date(birth) || birth > today_yyyymmdd) {
    return fail(Code::validation_failed, "invalid birth date");
  }

  int sum = 0;
  for (std::size_t i = 0; i < kWeights.size(); ++i) sum += (text[i] - '0') * kWeights[i];
  const int check = (12 - sum % 11) % 11;
  const char expected = check == 10 ? 'X' : static_cast<char>('0' + check);
  ResidentId id;
  id.normalized = std::string(text);
  if (id.normalized.back() == 'x') id.normalized.back() = 'X';
  if (id.normalized.back() != expected)
    return fail(Code::validation_failed, "check digit mismatch");

  id.birth_yyyymmdd = birth;
  id.sex = (text[16] - '0') % 2 == 1 ? 'M' : 'F';
  id.region_code = std::string(text.substr(0, 6));
  return id;
}

Result<ResidentId> parse_resident_id(std::string_view text) {
  // Birth dates are calendar dates in China, so "today" is the date in UTC+8.
  const auto now = std::chrono::system_clock::now() + std::chrono::hours(8);
  const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
  const int today_yyyymmdd = static_cast<int>(today.year()) * 10000 +
                             static_cast<int>(static_cast<unsigned>(today.month())) * 100 +
                             static_cast<int>(static_cast<unsigned>(today.day()));
  return parse_resident_id(text, today_yyyymmdd);
}

}  // namespace jishi
