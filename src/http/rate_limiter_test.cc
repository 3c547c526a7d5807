#include "http/rate_limiter.h"

#include <gtest/gtest.h>

namespace jishi::http {
namespace {

TEST(RateLimiter, AllowsTheBurstThenRefusesUntilRefilled) {
  RateLimiter rl(2.0, 5.0, 1000);
  std::uint32_t retry = 0;
  std::int64_t t = 1'000'000;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.allow("c", t, retry));
  EXPECT_FALSE(rl.allow("c", t, retry));
  EXPECT_EQ(retry, 1u);
  EXPECT_TRUE(rl.allow("other", t, retry));  // per client
  t += 500'000;                              // 0.5 s at 2/s = one token
  EXPECT_TRUE(rl.allow("c", t, retry));
  EXPECT_FALSE(rl.allow("c", t, retry));
}

TEST(RateLimiter, RetryAfterReflectsTheRate) {
  RateLimiter rl(0.1, 1.0, 1000);
  std::uint32_t retry = 0;
  EXPECT_TRUE(rl.allow("c", 0, retry));
  EXPECT_FALSE(rl.allow("c", 0, retry));
  EXPECT_EQ(retry, 10u);
}

TEST(RateLimiter, TracksABoundedNumberOfClients) {
  RateLimiter rl(1.0, 1.0, 32);
  std::uint32_t retry = 0;
  for (int i = 0; i < 100'000; ++i) rl.allow("client" + std::to_string(i), 0, retry);
  // Nothing to assert on memory directly; a flood of new clients must still be served.
  EXPECT_TRUE(rl.allow("fresh", 0, retry));
}

}  // namespace
}  // namespace jishi::http
