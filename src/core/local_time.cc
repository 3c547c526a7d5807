#include "core/local_time.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace jishi {

namespace {
std::mutex zone_mutex;
std::string zone_name = "UTC";

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
}  // namespace

Status set_business_timezone(std::string_view name) {
  std::string n(name);
  bool ok = !n.empty() && n.find("..") == std::string::npos && n[0] != '/';
  struct stat st {};
  if (ok && n != "UTC") ok = ::stat(("/usr/share/zoneinfo/" + n).c_str(), &st) == 0;
  if (!ok) return fail(Code::validation_failed, "unknown time zone " + n + " (install tzdata)");
  std::lock_guard lock(zone_mutex);
  ::setenv("TZ", n.c_str(), 1);
  ::tzset();
  zone_name = n;
  return {};
}

std::string business_timezone() {
  std::lock_guard lock(zone_mutex);
  return zone_name;
}

std::string business_date(std::int64_t unix_us) {
  std::time_t t = static_cast<std::time_t>(unix_us / 1'000'000 - (unix_us % 1'000'000 < 0));
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

std::optional<std::int64_t> business_day_start_us(std::string_view date) {
  int y, m, d;
  if (!parse_date(date, y, m, d)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_isdst = -1;
  std::time_t t = ::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(t) * 1'000'000;
}

std::string next_date(std::string_view date) {
  int y, m, d;
  if (!parse_date(date, y, m, d)) return std::string(date);
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d + 1;
  tm.tm_hour = 12;  // away from DST edges
  ::timegm(&tm);    // normalises the fields
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

}  // namespace jishi
