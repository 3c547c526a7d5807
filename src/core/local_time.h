// Business dates in the installation's time zone (settlement cut-offs, statement days). The
// zone is process-wide, set at start-up from configuration pay_timezone (default
// Asia/Shanghai; core/timezone.h reads the tz database, UTC or a fixed offset like +08:00).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

// Sets the process's business time zone (see TimeZone::load). validation_failed when unknown.
Status set_business_timezone(std::string_view name);
std::string business_timezone();

// "YYYY-MM-DD" of the business day containing unix_us.
std::string business_date(std::int64_t unix_us);
// The first microsecond of a business day, or nullopt when `date` is not a valid YYYY-MM-DD.
std::optional<std::int64_t> business_day_start_us(std::string_view date);
// The next calendar date after `date` (a valid YYYY-MM-DD).
std::string next_date(std::string_view date);

}  // namespace jishi
