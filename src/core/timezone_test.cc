#include "core/timezone.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/clock.h"

namespace jishi {
namespace {

std::int64_t at(std::string_view rfc3339) {
  return parse_rfc3339(rfc3339).value();
}

TEST(TimeZone, ShanghaiDayStartsAtSixteenUtcTheDayBefore) {
  auto zone = TimeZone::load("Asia/Shanghai");
  ASSERT_TRUE(zone) << zone.error().detail;
  EXPECT_EQ(zone->offset_s_at(at("2026-11-28T00:00:00Z")), 8 * 3600);
  EXPECT_EQ(zone->day_start_us(at("2026-11-27T15:59:59.999999Z")), at("2026-11-26T16:00:00Z"));
  EXPECT_EQ(zone->day_start_us(at("2026-11-27T16:00:00Z")), at("2026-11-27T16:00:00Z"));
  EXPECT_EQ(TimeZone::asia_shanghai().day_start_us(at("2026-11-27T23:00:00Z")),
            at("2026-11-27T16:00:00Z"));
}

TEST(TimeZone, ShanghaiHadSummerTimeIn1988) {
  auto zone = TimeZone::load("Asia/Shanghai").value();
  EXPECT_EQ(zone.offset_s_at(at("1988-07-01T00:00:00Z")), 9 * 3600);
}

TEST(TimeZone, DayWithADstChangeStartsAtItsOwnMidnight) {
  auto zone = TimeZone::load("America/New_York");
  ASSERT_TRUE(zone) << zone.error().detail;
  // 8 March 2026: clocks go from EST (-5) to EDT (-4) at 02:00; midnight was still EST.
  EXPECT_EQ(zone->day_start_us(at("2026-03-08T16:00:00Z")), at("2026-03-08T05:00:00Z"));
  EXPECT_EQ(zone->day_start_us(at("2026-07-01T03:59:59Z")), at("2026-06-30T04:00:00Z"));
}

TEST(TimeZone, FixedOffsetsAndUtc) {
  EXPECT_EQ(TimeZone::load("+05:30").value().offset_s_at(0), 19'800);
  EXPECT_EQ(TimeZone::load("-08:00").value().day_start_us(at("2026-01-02T07:00:00Z")),
            at("2026-01-01T08:00:00Z"));
  EXPECT_EQ(TimeZone::load("UTC").value().day_start_us(at("1969-12-31T12:00:00Z")),
            at("1969-12-31T00:00:00Z"));
}

TEST(TimeZone, RefusesUnknownOrUnsafeNames) {
  for (auto name : {"", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "+25:00", "8"})
    EXPECT_EQ(TimeZone::load(name).error().code, Code::validation_failed) << name;
}

TEST(TimeZone, ShanghaiWorksWithoutASystemZoneDatabase) {
  const char* old = std::getenv("TZDIR");
  std::string saved = old ? old : "";
  ::setenv("TZDIR", ::testing::TempDir().c_str(), 1);  // no zone files there
  auto shanghai = TimeZone::load("Asia/Shanghai");
  auto berlin = TimeZone::load("Europe/Berlin");
  if (old)
    ::setenv("TZDIR", saved.c_str(), 1);
  else
    ::unsetenv("TZDIR");
  ASSERT_TRUE(shanghai);
  EXPECT_EQ(shanghai->offset_s_at(at("2026-11-28T00:00:00Z")), 8 * 3600);
  EXPECT_FALSE(berlin);
}

}  // namespace
}  // namespace jishi
