#include "order/ratings.h"

#include "core/limits.h"

namespace jishi::order {

namespace {

constexpr std::string_view kColumns =
    "order_id, buyer_id, seller_id, described, service, shipping, text, editable_until_us, "
    "created_at_us, updated_at_us";

Rating read(const store::Row& r) {
  return Rating{
      OrderId{r.i64(0)},
      UserId{r.i64(1)},
      OrgId{r.i64(2)},
      Scores{static_cast<int>(r.i64(3)), static_cast<int>(r.i64(4)), static_cast<int>(r.i64(5))},
      r.str(6),
      r.i64(7),
      r.i64(8),
      r.i64(9)};
}

Status check_score(int v, std::string_view field) {
  if (v < 1 || v > 5)
    return fail(Code::validation_failed, std::string(field) + " is 1..5", "/" + std::string(field));
  return {};
}

}  // namespace

Result<RateResult> rate(store::Tx& tx, Env& env, const Order& o, UserId buyer, const Scores& s,
                        std::string_view text) {
  JISHI_TRY(check_score(s.described, "described"));
  JISHI_TRY(check_score(s.service, "service"));
  JISHI_TRY(check_score(s.shipping, "shipping"));
  if (text.size() > limits::rating_text_bytes_max)
    return fail(Code::validation_failed,
                "text has at most " + std::to_string(limits::rating_text_bytes_max) + " bytes",
                "/text");
  if (o.buyer != buyer) return fail(Code::not_found, "no such order");
  if (o.status != "completed")
    return fail(Code::invalid_state, "only a completed order can be rated; it is " + o.status);
  JISHI_ASSIGN_OR_RETURN(auto previous, get_rating(tx, o.id));
  std::int64_t now = env.clock.now_us();
  if (previous) {
    if (now > previous->editable_until_us)
      return fail(Code::invalid_state, "a rating can be edited for 7 days only");
    JISHI_TRY(
        tx.exec("UPDATE ord_ratings SET described = $2, service = $3, shipping = $4, "
                "text = $5, updated_at_us = $6 WHERE order_id = $1",
                {o.id.value, s.described, s.service, s.shipping, text, now}));
    JISHI_TRY(
        tx.exec("UPDATE ord_seller_ratings SET described_sum = described_sum + $2, service_sum = "
                "service_sum + $3, shipping_sum = shipping_sum + $4 WHERE seller_id = $1",
                {o.seller.value, s.described - previous->scores.described,
                 s.service - previous->scores.service, s.shipping - previous->scores.shipping}));
  } else {
    JISHI_TRY(
        tx.exec("INSERT INTO ord_ratings (order_id, buyer_id, seller_id, described, "
                "service, shipping, text, editable_until_us, created_at_us, updated_at_us) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                {o.id.value, buyer.value, o.seller.value, s.described, s.service, s.shipping, text,
                 now + kRatingEditableUs, now}));
    JISHI_TRY(tx.exec(
        "INSERT INTO ord_seller_ratings (seller_id, count, described_sum, service_sum, "
        "shipping_sum) VALUES ($1, 1, $2, $3, $4) ON CONFLICT (seller_id) DO UPDATE SET count = "
        "ord_seller_ratings.count + 1, described_sum = ord_seller_ratings.described_sum + $2, "
        "service_sum = ord_seller_ratings.service_sum + $3, shipping_sum = "
        "ord_seller_ratings.shipping_sum + $4",
        {o.seller.value, s.described, s.service, s.shipping}));
  }
  JISHI_TRY(append_event(tx, env, o.id, previous ? "rating_edited" : "rated", buyer, ""));
  JISHI_ASSIGN_OR_RETURN(auto now_rating, get_rating(tx, o.id));
  return RateResult{*now_rating, previous};
}

Result<std::optional<Rating>> get_rating(store::Conn& conn, OrderId order) {
  return conn.query_one("SELECT " + std::string(kColumns) + " FROM ord_ratings WHERE order_id = $1",
                        {order.value}, read);
}

Result<Page<Rating>> seller_ratings(store::Conn& conn, OrgId seller, std::int64_t before,
                                    std::size_t limit) {
  Page<Rating> page;
  JISHI_TRY(conn.query(
      "SELECT " + std::string(kColumns) +
          " FROM ord_ratings WHERE seller_id = $1 AND order_id < $2 ORDER BY "
          "order_id DESC LIMIT $3",
      {seller.value, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(read(r));
        return true;
      }));
  trim_page(page, limit, [](const Rating& r) { return r.order.value; });
  return page;
}

Result<SellerSummary> seller_summary(store::Conn& conn, OrgId seller) {
  JISHI_ASSIGN_OR_RETURN(
      auto s, conn.query_one("SELECT count, described_sum, service_sum, shipping_sum FROM "
                             "ord_seller_ratings WHERE seller_id = $1",
                             {seller.value}, [](const store::Row& r) {
                               return SellerSummary{r.i64(0), r.i64(1), r.i64(2), r.i64(3)};
                             }));
  return s.value_or(SellerSummary{});
}

}  // namespace jishi::order
