#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

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

}  // namespace
}  // namespace jishi
