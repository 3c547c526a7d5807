#include "core/local_time.h"

#include <gtest/gtest.h>

namespace jishi {
namespace {

TEST(LocalTime, ShanghaiDaysStartAtSixteenHundredUtc) {
  ASSERT_TRUE(set_business_timezone("Asia/Shanghai"));
  // 2026-11-28T00:00:00+08:00 == 2026-11-27T16:00:00Z
  auto start = business_day_start_us("2026-11-28");
  ASSERT_TRUE(start);
  EXPECT_EQ(*start, 1'795'824'000'000'000 - 8LL * 3600 * 1'000'000);
  EXPECT_EQ(business_date(*start), "2026-11-28");
  EXPECT_EQ(business_date(*start - 1), "2026-11-27");
  EXPECT_EQ(next_date("2026-12-31"), "2027-01-01");
  EXPECT_EQ(next_date("2028-02-28"), "2028-02-29");
  EXPECT_FALSE(business_day_start_us("2026-02-30"));
  EXPECT_FALSE(business_day_start_us("2026-1-01"));
  EXPECT_FALSE(set_business_timezone("Mars/Olympus"));
  EXPECT_FALSE(set_business_timezone("../../etc/passwd"));
  ASSERT_TRUE(set_business_timezone("America/New_York"));  // a 23-hour day: DST starts
  EXPECT_EQ(*business_day_start_us("2026-03-09") - *business_day_start_us("2026-03-08"),
            23LL * 3600 * 1'000'000);
  EXPECT_EQ(business_date(*business_day_start_us("2026-03-09") - 1), "2026-03-08");
  ASSERT_TRUE(set_business_timezone("UTC"));
  EXPECT_EQ(*business_day_start_us("2026-11-28"), 1'795'824'000'000'000);
}

}  // namespace
}  // namespace jishi
