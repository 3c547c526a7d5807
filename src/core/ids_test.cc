#include "core/ids.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace jishi {
namespace {

TEST(Ids, AreUniqueAndIncreasingWithinAMillisecond) {
  ManualClock clock(1'800'000'000'000'000);
  IdGenerator gen(clock, 7);
  std::int64_t last = 0;
  for (int i = 0; i < 10'000; ++i) {  // > 4096: forces the sequence to borrow milliseconds
    std::int64_t id = gen.next();
    ASSERT_GT(id, last);
    last = id;
  }
}

TEST(Ids, StayMonotonicWhenTheClockStepsBack) {
  ManualClock clock(1'800'000'000'000'000);
  IdGenerator gen(clock, 1);
  std::int64_t a = gen.next();
  clock.advance_us(-5'000'000);
  EXPECT_GT(gen.next(), a);
}

// A restart with the clock set back: the new generator is told the newest stored id, and
// issues above it (and the clock's own time once it passes it); an older id changes nothing.
TEST(Ids, StayAboveTheNewestStoredIdAcrossARestart) {
  ManualClock clock(1'800'000'000'000'000);
  IdGenerator before(clock, 3);
  std::int64_t stored = 0;
  for (int i = 0; i < 5; ++i) stored = before.next();
  clock.advance_us(-60'000'000);  // the clock set back a minute while jishi was down
  IdGenerator after(clock, 3);
  after.issue_after(stored);
  after.issue_after(stored - (std::int64_t{1000} << 22));  // older: ignored
  std::int64_t id = after.next();
  EXPECT_GT(id, stored);
  EXPECT_GT(after.next(), id);
  clock.advance_us(120'000'000);
  EXPECT_EQ(IdGenerator::unix_ms_of(after.next()), 1'800'000'060'000);
}

TEST(Ids, CarryTheirTimestampAndNode) {
  ManualClock clock(1'800'000'000'123'000);
  IdGenerator gen(clock, 1023);
  std::int64_t id = gen.next();
  EXPECT_EQ(IdGenerator::unix_ms_of(id), 1'800'000'000'123);
  EXPECT_EQ((id >> 12) & 1023, 1023);
}

TEST(Ids, AreUniqueAcrossThreads) {
  SystemClock clock;
  IdGenerator gen(clock, 0);
  std::vector<std::int64_t> ids(40'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) ids[static_cast<std::size_t>(t * 10'000 + i)] = gen.next();
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(Ids, ParseAcceptsOnlyPositiveDecimal) {
  EXPECT_EQ(parse_id("123"), 123);
  EXPECT_EQ(parse_id("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parse_id("9223372036854775808"));
  EXPECT_FALSE(parse_id("0"));
  EXPECT_FALSE(parse_id("-1"));
  EXPECT_FALSE(parse_id("12a"));
  EXPECT_FALSE(parse_id(""));
  EXPECT_FALSE(parse_id("+5"));
}

TEST(Clock, Rfc3339RoundTrips) {
  std::int64_t t = 1'795'000'000'123'456;
  std::string s = format_rfc3339(t);
  EXPECT_EQ(s, "2026-11-18T11:06:40.123456Z");
  EXPECT_EQ(parse_rfc3339(s), t);
  EXPECT_EQ(parse_rfc3339("2026-11-18T19:06:40.123456+08:00"), t);
  EXPECT_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-18 11:06:40Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-18T11:06:40"));
}

// The formatter computes the civil date itself; it agrees with the C library everywhere,
// including leap days, year ends and instants before 1970.
TEST(Clock, Rfc3339AgreesWithGmtime) {
  std::mt19937_64 rng(20261129);
  std::vector<std::int64_t> instants = {0,
                                        -1,
                                        951'782'400'000'000 /* 2000-02-29 */,
                                        4'107'542'399'999'999 /* 2100-02-28T23:59:59.999999 */,
                                        -62'135'596'800'000'000 /* 0001-01-01 */,
                                        253'402'300'799'999'999 /* 9999-12-31T23:59:59.999999 */};
  for (int i = 0; i < 20000; ++i)
    instants.push_back(static_cast<std::int64_t>(rng() % 8'000'000'000'000'000ULL) -
                       2'000'000'000'000'000LL);
  for (std::int64_t t : instants) {
    std::int64_t secs = t / 1'000'000, micros = t % 1'000'000;
    if (micros < 0) {
      micros += 1'000'000;
      secs -= 1;
    }
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros));
    ASSERT_EQ(format_rfc3339(t), want) << t;
    ASSERT_EQ(parse_rfc3339(want), t) << want;
  }
}

}  // namespace
}  // namespace jishi
