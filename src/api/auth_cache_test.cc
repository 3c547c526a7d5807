#include "api/auth_cache.h"

#include <gtest/gtest.h>

namespace jishi::api {
namespace {

identity::Principal user(std::int64_t id) {
  identity::Principal p;
  p.kind = identity::Principal::Kind::user;
  p.user = UserId{id};
  return p;
}

TEST(AuthCache, ServesWithinTheTtlOnly) {
  AuthCache cache(2'000'000, 100);
  cache.put("t1", user(1), 0, cache.generation());
  ASSERT_TRUE(cache.get("t1", 1'999'999));
  EXPECT_EQ(cache.get("t1", 1'999'999)->user, UserId{1});
  EXPECT_FALSE(cache.get("t1", 2'000'000));
  EXPECT_FALSE(cache.get("unknown", 0));
}

TEST(AuthCache, ForgettingAUserKeepsEveryoneElse) {
  AuthCache cache(2'000'000, 100);
  cache.put("a1", user(1), 0, cache.generation());
  cache.put("a2", user(1), 0, cache.generation());
  cache.put("b1", user(2), 0, cache.generation());
  cache.invalidate_user(UserId{1});
  EXPECT_FALSE(cache.get("a1", 1));
  EXPECT_FALSE(cache.get("a2", 1));
  EXPECT_TRUE(cache.get("b1", 1));
  cache.invalidate();
  EXPECT_FALSE(cache.get("b1", 1));
}

TEST(AuthCache, AReadThatRacedAnInvalidationIsNotStored) {
  AuthCache cache(2'000'000, 100);
  auto generation = cache.generation();  // taken before reading the database
  cache.invalidate_user(UserId{7});      // a commit lands meanwhile
  cache.put("t", user(7), 0, generation);
  EXPECT_FALSE(cache.get("t", 1));
}

TEST(AuthCache, StaysWithinItsBoundAndCanBeDisabled) {
  AuthCache cache(2'000'000, 3);
  for (int i = 0; i < 10; ++i) cache.put("t" + std::to_string(i), user(i), 0, cache.generation());
  int held = 0;
  for (int i = 0; i < 10; ++i) held += cache.get("t" + std::to_string(i), 1).has_value();
  EXPECT_LE(held, 3);
  AuthCache off(0, 3);
  off.put("t", user(1), 0, off.generation());
  EXPECT_FALSE(off.get("t", 0));
}

TEST(AuthCache, WhenFullTheExpiredGoFirstAndTheLiveStay) {
  // A flash sale's crowd: sessions seen once fill the table; the regulars must not pay for it.
  AuthCache cache(1'000, 4);
  cache.put("once1", user(1), 0, cache.generation());
  cache.put("once2", user(2), 0, cache.generation());
  cache.put("regular3", user(3), 900, cache.generation());
  cache.put("regular4", user(4), 900, cache.generation());
  cache.put("new5", user(5), 1'500, cache.generation());  // full: once1 and once2 have expired
  EXPECT_TRUE(cache.get("regular3", 1'500));
  EXPECT_TRUE(cache.get("regular4", 1'500));
  EXPECT_TRUE(cache.get("new5", 1'500));
  // The swept entries left their users' lists too: once user 1's token is held for user 2,
  // forgetting user 1 must not touch it.
  cache.put("once1", user(2), 1'500, cache.generation());
  cache.invalidate_user(UserId{1});
  EXPECT_TRUE(cache.get("once1", 1'500));
  cache.invalidate_user(UserId{3});
  EXPECT_FALSE(cache.get("regular3", 1'500));
  EXPECT_TRUE(cache.get("regular4", 1'500));
  // Full again with nothing expired: a sweep would free nothing, so it starts over.
  cache.put("new6", user(6), 1'500, cache.generation());  // once1, regular4, new5, new6
  cache.put("new7", user(7), 1'500, cache.generation());
  int held = 0;
  for (auto t : {"once1", "regular4", "new5", "new6", "new7"})
    held += cache.get(t, 1'500).has_value();
  EXPECT_EQ(held, 1);
  EXPECT_TRUE(cache.get("new7", 1'500));
}

TEST(AuthCache, ASweepThatWouldFreeLittleStartsOver) {
  // 8 entries, 1 expired: sweeping would leave 7 of 8 and the next put would sweep again.
  AuthCache cache(1'000, 8);
  cache.put("old", user(1), 0, cache.generation());
  for (int i = 0; i < 7; ++i)
    cache.put("live" + std::to_string(i), user(10 + i), 600, cache.generation());
  cache.put("next", user(2), 1'200, cache.generation());
  int held = 0;
  for (int i = 0; i < 7; ++i) held += cache.get("live" + std::to_string(i), 1'200).has_value();
  EXPECT_EQ(held, 0);
  EXPECT_TRUE(cache.get("next", 1'200));
  // Replacing a token already held never sweeps or starts over.
  AuthCache small(1'000, 2);
  small.put("a", user(1), 0, small.generation());
  small.put("b", user(2), 0, small.generation());
  small.put("a", user(1), 10, small.generation());
  EXPECT_TRUE(small.get("b", 10));
}

}  // namespace
}  // namespace jishi::api
