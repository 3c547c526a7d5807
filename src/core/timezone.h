// Civil time zones for business days: "the current day" of a per-day limit or a settlement day
// starts at local midnight in the platform's zone (Asia/Shanghai by default), not at UTC
// midnight. Zones come from the system's IANA database (TZif files); loading one does I/O, so
// it happens at startup and the loaded value is passed to code that runs inside transactions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jishi {

class TimeZone {
 public:
  // An IANA name ("Asia/Shanghai", read from $TZDIR or /usr/share/zoneinfo), "UTC", or a fixed
  // offset "+08:00" / "-05:30". Asia/Shanghai falls back to its fixed +08:00 (no DST since
  // 1991) when the system has no zone database. validation_failed for anything else.
  static Result<TimeZone> load(std::string_view name);
  // A zone with one offset forever.
  static TimeZone fixed(std::string name, std::int32_t offset_s);
  // China Standard Time, UTC+8, with no I/O: the default business zone.
  static const TimeZone& asia_shanghai();

  const std::string& name() const { return name_; }
  // Seconds east of UTC in force at the instant unix_us.
  std::int32_t offset_s_at(std::int64_t unix_us) const;
  // The instant (unix microseconds) of the local midnight that starts the day holding unix_us.
  std::int64_t day_start_us(std::int64_t unix_us) const;

 private:
  struct Transition {
    std::int64_t at_s;  // UTC seconds at which offset_s takes effect
    std::int32_t offset_s;
  };
  std::string name_;
  std::int32_t initial_offset_s_ = 0;    // before the first transition
  std::vector<Transition> transitions_;  // ascending at_s
};

}  // namespace jishi
