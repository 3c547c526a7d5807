// Ratings (评价): after an order completes its buyer rates it once — 1..5 for item as described,
// service and shipping, plus text — and may edit the rating for 7 days. Only a completed order's
// buyer can rate (verified purchase). Sums per seller are kept in the rating's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/env.h"
#include "core/page.h"
#include "core/result.h"
#include "order/orders.h"
#include "store/database.h"

namespace jishi::order {

inline constexpr std::int64_t kRatingEditableUs = 7LL * 24 * 3600 * 1'000'000;

struct Scores {
  int described = 0, service = 0, shipping = 0;
};

struct Rating {
  OrderId order;
  UserId buyer;
  OrgId seller;
  Scores scores;
  std::string text;
  std::int64_t editable_until_us = 0, created_at_us = 0, updated_at_us = 0;
};

struct RateResult {
  Rating rating;
  std::optional<Rating> previous;  // set when this was an edit
};
// Rates (or, within the edit window, re-rates) a completed order on behalf of its buyer.
Result<RateResult> rate(store::Tx& tx, Env& env, const Order& o, UserId buyer, const Scores& scores,
                        std::string_view text);
Result<std::optional<Rating>> get_rating(store::Conn& conn, OrderId order);
Result<Page<Rating>> seller_ratings(store::Conn& conn, OrgId seller, std::int64_t before,
                                    std::size_t limit);

struct SellerSummary {
  std::int64_t count = 0, described_sum = 0, service_sum = 0, shipping_sum = 0;
};
Result<SellerSummary> seller_summary(store::Conn& conn, OrgId seller);

}  // namespace jishi::order
