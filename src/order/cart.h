// A buyer's cart: SKUs from any number of sellers, with the unit price the buyer saw when carting
// (checkout refuses to charge a different price without the buyer seeing it first).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::order {

struct CartLine {
  std::int64_t sku_id = 0;
  std::int64_t quantity = 0;
  Money price_seen;
  std::int64_t added_at_us = 0, updated_at_us = 0;
};

// Adds quantity to the SKU's line (creating it); the price seen is refreshed to `price`.
Result<CartLine> add_to_cart(store::Tx& tx, Env& env, UserId buyer, std::int64_t sku_id,
                             std::int64_t quantity, const Money& price);
// Sets a line's quantity (and the price the buyer now sees); 0 removes the line.
Result<std::optional<CartLine>> set_cart_quantity(store::Tx& tx, Env& env, UserId buyer,
                                                  std::int64_t sku_id, std::int64_t quantity,
                                                  const Money& price);
Status remove_from_cart(store::Tx& tx, UserId buyer, std::span<const std::int64_t> sku_ids);
Result<std::vector<CartLine>> cart_lines(store::Conn& conn, UserId buyer);

}  // namespace jishi::order
