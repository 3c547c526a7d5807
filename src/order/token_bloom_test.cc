#include "order/token_bloom.h"

#include <gtest/gtest.h>

#include <string>

namespace jishi::order {
namespace {

std::string token(std::int64_t i) {
  return "checkout-token-" + std::to_string(i * 7919);
}

// Never "no" for a token it took in, through growth into new layers; "maybe" for about 1%
// of the tokens it never took in while within its capacity, and still rarely past it.
TEST(TokenBloom, NeverDeniesATokenItTookInAndRarelyAdmitsOneItDidNot) {
  TokenBloom b;
  b.reset(1'000, 1u << 20);
  EXPECT_EQ(b.layers(), 1u);
  for (std::int64_t i = 0; i < 1'000; ++i) b.add(i % 50, token(i));
  EXPECT_EQ(b.layers(), 1u);
  int admitted = 0;
  for (std::int64_t i = 1'000'000; i < 1'100'000; ++i) admitted += b.may_hold(i % 50, token(i));
  EXPECT_LT(admitted, 2'500) << "false positives within capacity";  // ~1%; 2.5% at most
  for (std::int64_t i = 1'000; i < 100'000; ++i) b.add(i % 50, token(i));
  EXPECT_GE(b.layers(), 7u);  // 1,000 + 2,000 + ... + 64,000 >= 100,000
  EXPECT_GE(b.capacity(), 100'000u);
  for (std::int64_t i = 0; i < 100'000; ++i)
    ASSERT_TRUE(b.may_hold(i % 50, token(i))) << "a token it took in: " << i;
  // The same token under another buyer is another key.
  EXPECT_FALSE(b.may_hold(51, token(0)) && b.may_hold(52, token(0)) && b.may_hold(53, token(0)));
  admitted = 0;
  for (std::int64_t i = 1'000'000; i < 1'100'000; ++i) admitted += b.may_hold(i % 50, token(i));
  EXPECT_LT(admitted, 10'000) << "false positives over seven layers";
}

// At its byte limit it stops adding layers; the last one takes every further token, and none
// of them is ever denied.
TEST(TokenBloom, AtItsByteLimitTheLastLayerTakesTheRest) {
  TokenBloom b;
  b.reset(1'000, 8u << 10);  // 8 KiB: a 2 KiB layer, then one of 4 KiB
  for (std::int64_t i = 0; i < 50'000; ++i) b.add(1, token(i));
  EXPECT_LE(b.bytes(), 8u << 10);
  EXPECT_EQ(b.layers(), 2u);
  for (std::int64_t i = 0; i < 50'000; ++i) ASSERT_TRUE(b.may_hold(1, token(i)));
}

}  // namespace
}  // namespace jishi::order
