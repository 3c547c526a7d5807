// Resident ID number (公民身份号码, GB 11643-1999): 6-digit region, 8-digit birth date,
// 3-digit sequence (odd for men), and an ISO 7064 MOD 11-2 check character (0-9 or X).
// Checked for real-name verification of individual sellers and buyers.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

// A well-formed ID number and what it encodes.
struct ResidentId {
  std::string normalized;   // the 18 characters, a lowercase check 'x' turned into 'X'
  int birth_yyyymmdd = 0;   // e.g. 19491231
  char sex = 'M';           // 'M' when the 17th digit is odd, 'F' when even
  std::string region_code;  // first 6 digits (GB/T 2260 at issue; may be outdated, not checked)
};

// Parses an 18-character ID number. Fails with validation_failed and one of the details
// "must be 18 characters", "invalid character at position N" (1-based; digits only, X or x
// last), "invalid birth date" (not a calendar date, before 1850, or after today), or
// "check digit mismatch". `today_yyyymmdd` is the current date, passed in so tests are exact.
Result<ResidentId> parse_resident_id(std::string_view text, int today_yyyymmdd);

// As above with today's date in China Standard Time (UTC+8) from the system clock.
Result<ResidentId> parse_resident_id(std::string_view text);

}  // namespace jishi
