#include "core/local_time.h"

#include <cstdio>
#include <mutex>

#include "core/timezone.h"

namespace jishi {

namespace {

std::mutex zone_mutex;
TimeZone& zone() {
  static TimeZone z = TimeZone::fixed("UTC", 0);
  return z;
}

bool parse_date(std::string_view d, int& y, int& m, int& day) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  m = (d[5] - '0') * 10 + (d[6] - '0');
  day = (d[8] - '0') * 10 + (d[9] - '0');
  if (y < 1970 || m < 1 || m > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y + (m <= 2)), m, d);
  return buf;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

Status set_business_timezone(std::string_view name) {
  JISHI_ASSIGN_OR_RETURN(auto z, TimeZone::load(name));
  std::lock_guard lock(zone_mutex);
  zone() = std::move(z);
  return {};
}

std::string business_timezone() {
  std::lock_guard lock(zone_mutex);
  return zone().name();
}

std::string business_date(std::int64_t unix_us) {
  std::int64_t offset;
  {
    std::lock_guard lock(zone_mutex);
    offset = zone().offset_s_at(unix_us);
  }
  std::int64_t local_s = floor_div(unix_us, 1'000'000) + offset;
  return civil_from_days(floor_div(local_s, 86'400));
}

std::optional<std::int64_t> business_day_start_us(std::string_view date) {
  int y, m, d;
  if (!parse_date(date, y, m, d)) return std::nullopt;
  std::int64_t local_midnight_s =
      days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86'400;
  std::lock_guard lock(zone_mutex);
  // The offset in force at that midnight: guess with the offset at the UTC instant, refine once.
  std::int64_t guess = local_midnight_s - zone().offset_s_at(local_midnight_s * 1'000'000);
  std::int64_t utc_s = local_midnight_s - zone().offset_s_at(guess * 1'000'000);
  return utc_s * 1'000'000;
}

std::string next_date(std::string_view date) {
  int y, m, d;
  if (!parse_date(date, y, m, d)) return std::string(date);
  return civil_from_days(days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) +
                         1);
}

}  // namespace jishi
