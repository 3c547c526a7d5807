// Unified Social Credit Code (统一社会信用代码, GB 32100-2015): the 18-character id of every
// company, institution and individual business in mainland China. Checked when an
// organisation registers, and shown on invoices and contracts.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

// What check_uscc() found in a well-formed code.
struct UsccCheck {
  // False when the 18th character is not the GB 32100 check character. Not an error by
  // itself: some early pilot codes (Fujian) fail the checksum yet are legally issued.
  bool checksum_ok = false;
  // Whether positions 3..8 name a known GB/T 2260 region (is_known_area_code). A warning
  // only: codes stay valid for life even after their region is renamed or merged.
  bool region_known = false;
  std::string region_code;  // positions 3..8 as written
};

// Checks the form of a credit code: exactly 18 characters, every one from the charset
// 0-9 A-H J-N P-R T U W-Y (never I O S V Z) in uppercase. Fails with validation_failed naming
// the first bad position (1-based); a wrong check character is reported in the result, not
// as an error, so an operator can confirm a legacy code.
Result<UsccCheck> check_uscc(std::string_view code);

// check_uscc() plus the checksum: fails with validation_failed "check character mismatch"
// unless accept_bad_checksum (set only after an operator confirmed the code with the issuer).
Status validate_uscc(std::string_view code, bool accept_bad_checksum = false);

}  // namespace jishi
