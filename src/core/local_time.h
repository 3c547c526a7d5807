// Business dates in the installation's time zone (settlement cut-offs, daily limits, statement
// days). The zone is process-wide: set once at start-up from configuration (default
// Asia/Shanghai) from the system's tz database (/usr/share/zoneinfo, Debian's tzdata).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

// Sets the process's business time zone (IANA name, e.g. "Asia/Shanghai", "UTC"). Call before
// threads start. validation_failed for an unknown zone.
Status set_business_timezone(std::string_view name);
std::string business_timezone();

// "YYYY-MM-DD" of the business day containing unix_us.
std::string business_date(std::int64_t unix_us);
// The first microsecond of a business day, or nullopt when `date` is not a valid YYYY-MM-DD.
std::optional<std::int64_t> business_day_start_us(std::string_view date);
// The next calendar date after `date` (a valid YYYY-MM-DD).
std::string next_date(std::string_view date);

}  // namespace jishi
