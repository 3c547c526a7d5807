#include "order/cart.h"

#include "core/limits.h"

namespace jishi::order {

namespace {

// Codes in the table were validated when written.
Currency stored_currency(std::string_view code) {
  auto c = currency_from_code(code);
  return c ? *c : Currency{};
}

Status check_quantity(std::int64_t q, bool zero_ok) {
  if (q < (zero_ok ? 0 : 1) || q > limits::order_line_quantity_max)
    return fail(Code::validation_failed,
                std::string("quantity must be ") + (zero_ok ? "0" : "1") + ".." +
                    std::to_string(limits::order_line_quantity_max),
                "/quantity");
  return {};
}

Result<std::optional<CartLine>> line(store::Conn& conn, UserId buyer, std::int64_t sku_id) {
  return conn.query_one(
      "SELECT sku_id, quantity, price_seen, currency, added_at_us, updated_at_us FROM "
      "ord_cart_items WHERE buyer_id = $1 AND sku_id = $2",
      {buyer.value, sku_id}, [](const store::Row& r) {
        return CartLine{r.i64(0), r.i64(1), Money{r.i64(2), stored_currency(r.text(3))}, r.i64(4),
                        r.i64(5)};
      });
}

}  // namespace

Result<CartLine> add_to_cart(store::Tx& tx, Env& env, UserId buyer, std::int64_t sku_id,
                             std::int64_t quantity, const Money& price) {
  JISHI_TRY(check_quantity(quantity, false));
  JISHI_ASSIGN_OR_RETURN(auto existing, line(tx, buyer, sku_id));
  std::int64_t now = env.clock.now_us();
  if (!existing) {
    JISHI_ASSIGN_OR_RETURN(
        auto n, tx.query_one("SELECT COUNT(*) FROM ord_cart_items WHERE "
                             "buyer_id = $1",
                             {buyer.value}, [](const store::Row& r) { return r.i64(0); }));
    if (n.value_or(0) >= static_cast<std::int64_t>(limits::cart_lines_max))
      return fail(Code::conflict,
                  "a cart holds at most " + std::to_string(limits::cart_lines_max) + " lines");
    JISHI_TRY(
        tx.exec("INSERT INTO ord_cart_items (buyer_id, sku_id, quantity, price_seen, "
                "currency, added_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                {buyer.value, sku_id, quantity, price.minor, price.currency.code_view(), now}));
  } else {
    std::int64_t total = existing->quantity + quantity;
    JISHI_TRY(check_quantity(total, false));
    JISHI_TRY(
        tx.exec("UPDATE ord_cart_items SET quantity = $3, price_seen = $4, currency = $5, "
                "updated_at_us = $6 WHERE buyer_id = $1 AND sku_id = $2",
                {buyer.value, sku_id, total, price.minor, price.currency.code_view(), now}));
  }
  JISHI_ASSIGN_OR_RETURN(auto after, line(tx, buyer, sku_id));
  return *after;
}

Result<std::optional<CartLine>> set_cart_quantity(store::Tx& tx, Env& env, UserId buyer,
                                                  std::int64_t sku_id, std::int64_t quantity,
                                                  const Money& price) {
  JISHI_TRY(check_quantity(quantity, true));
  JISHI_ASSIGN_OR_RETURN(auto existing, line(tx, buyer, sku_id));
  if (!existing) return fail(Code::not_found, "the SKU is not in the cart");
  if (quantity == 0) {
    JISHI_TRY(tx.exec("DELETE FROM ord_cart_items WHERE buyer_id = $1 AND sku_id = $2",
                      {buyer.value, sku_id}));
    return std::optional<CartLine>{};
  }
  JISHI_TRY(
      tx.exec("UPDATE ord_cart_items SET quantity = $3, price_seen = $4, currency = $5, "
              "updated_at_us = $6 WHERE buyer_id = $1 AND sku_id = $2",
              {buyer.value, sku_id, quantity, price.minor, price.currency.code_view(),
               env.clock.now_us()}));
  return line(tx, buyer, sku_id);
}

Status remove_from_cart(store::Tx& tx, UserId buyer, std::span<const std::int64_t> sku_ids) {
  for (auto sku : sku_ids)
    JISHI_TRY(tx.exec("DELETE FROM ord_cart_items WHERE buyer_id = $1 AND sku_id = $2",
                      {buyer.value, sku}));
  return {};
}

Result<std::vector<CartLine>> cart_lines(store::Conn& conn, UserId buyer) {
  std::vector<CartLine> out;
  JISHI_TRY(conn.query(
      "SELECT sku_id, quantity, price_seen, currency, added_at_us, updated_at_us FROM "
      "ord_cart_items WHERE buyer_id = $1 ORDER BY added_at_us, sku_id",
      {buyer.value}, [&](const store::Row& r) {
        out.push_back(CartLine{r.i64(0), r.i64(1), Money{r.i64(2), stored_currency(r.text(3))},
                               r.i64(4), r.i64(5)});
        return true;
      }));
  return out;
}

}  // namespace jishi::order
