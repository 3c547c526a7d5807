#include "order/aftersales.h"

namespace jishi::order {

namespace {

constexpr std::string_view kColumns =
    "id, order_id, kind, status, amount, reason, reject_reason, return_carrier, "
    "return_tracking_no, pay_refund_id, created_at_us, updated_at_us";

AfterSale read(const store::Row& r) {
  return AfterSale{
      AfterSaleId{r.i64(0)}, OrderId{r.i64(1)}, r.str(2),     r.str(3),     r.i64(4),  r.str(5),
      r.opt_str(6),          r.opt_str(7),      r.opt_str(8), r.opt_i64(9), r.i64(10), r.i64(11)};
}

}  // namespace

Result<AfterSale> open_after_sale(store::Tx& tx, Env& env, OrderId order, std::string_view kind,
                                  std::int64_t amount, std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto open, open_after_sale_of(tx, order));
  if (open)
    return fail(Code::invalid_state, "the order already has an open after-sales request " +
                                         std::to_string(open->id.value));
  AfterSaleId id{env.ids.next()};
  std::int64_t now = env.clock.now_us();
  JISHI_TRY(
      tx.exec("INSERT INTO ord_refunds (id, order_id, kind, status, amount, reason, "
              "created_at_us, updated_at_us) VALUES ($1, $2, $3, 'requested', $4, $5, $6, "
              "$6)",
              {id.value, order.value, kind, amount, reason, now}));
  return get_after_sale(tx, id);
}

Result<AfterSale> get_after_sale(store::Conn& conn, AfterSaleId id) {
  JISHI_ASSIGN_OR_RETURN(
      auto a, conn.query_one("SELECT " + std::string(kColumns) + " FROM ord_refunds WHERE id = $1",
                             {id.value}, read));
  if (!a) return fail(Code::not_found, "no such after-sales request");
  return *a;
}

Result<std::optional<AfterSale>> open_after_sale_of(store::Conn& conn, OrderId order) {
  return conn.query_one("SELECT " + std::string(kColumns) +
                            " FROM ord_refunds WHERE order_id = $1 AND status IN ('requested', "
                            "'approved', 'returning') ORDER BY id DESC",
                        {order.value}, read);
}

Result<Page<SellerAfterSale>> list_seller_after_sales(store::Conn& conn, OrgId seller,
                                                      const std::optional<std::string>& status,
                                                      std::int64_t before, std::size_t limit) {
  std::string sql =
      "SELECT r.id, r.order_id, r.kind, r.status, r.amount, r.reason, r.reject_reason, "
      "r.return_carrier, r.return_tracking_no, r.pay_refund_id, r.created_at_us, "
      "r.updated_at_us, o.currency, o.status FROM ord_refunds r JOIN ord_orders o ON o.id = "
      "r.order_id WHERE o.seller_id = $1 AND r.id < $2";
  std::vector<store::Param> params{store::Param(seller.value),
                                   store::Param(before > 0 ? before : INT64_MAX)};
  if (status && *status == "open") {
    sql += " AND r.status IN ('requested', 'approved', 'returning')";
  } else if (status) {
    params.emplace_back(*status);
    sql += " AND r.status = $3";
  }
  params.emplace_back(static_cast<std::int64_t>(limit + 1));
  sql += " ORDER BY r.id DESC LIMIT $" + std::to_string(params.size());
  Page<SellerAfterSale> page;
  JISHI_TRY(conn.query(sql, params, [&](const store::Row& r) {
    page.items.push_back(SellerAfterSale{read(r), r.str(12), r.str(13)});
    return true;
  }));
  trim_page(page, limit, [](const SellerAfterSale& a) { return a.sale.id.value; });
  return page;
}

Result<std::vector<AfterSale>> after_sales_of(store::Conn& conn, OrderId order) {
  std::vector<AfterSale> out;
  JISHI_TRY(conn.query(
      "SELECT " + std::string(kColumns) + " FROM ord_refunds WHERE order_id = $1 ORDER BY id",
      {order.value}, [&](const store::Row& r) {
        out.push_back(read(r));
        return true;
      }));
  return out;
}

Result<AfterSale> move_after_sale(store::Tx& tx, Env& env, AfterSaleId id,
                                  std::initializer_list<std::string_view> from,
                                  std::string_view to) {
  JISHI_ASSIGN_OR_RETURN(auto a, get_after_sale(tx, id));
  bool ok = false;
  for (auto f : from) ok = ok || a.status == f;
  if (!ok) return fail(Code::invalid_state, "the after-sales request is " + a.status);
  JISHI_TRY(tx.exec("UPDATE ord_refunds SET status = $2, updated_at_us = $3 WHERE id = $1",
                    {id.value, to, env.clock.now_us()}));
  return get_after_sale(tx, id);
}

Status set_after_sale_return(store::Tx& tx, AfterSaleId id, std::string_view carrier,
                             std::string_view tracking_no) {
  JISHI_TRY(
      tx.exec("UPDATE ord_refunds SET return_carrier = $2, return_tracking_no = $3 WHERE "
              "id = $1",
              {id.value, carrier, tracking_no}));
  return {};
}

Status set_after_sale_reject_reason(store::Tx& tx, AfterSaleId id, std::string_view reason) {
  JISHI_TRY(tx.exec("UPDATE ord_refunds SET reject_reason = $2 WHERE id = $1", {id.value, reason}));
  return {};
}

Status set_after_sale_refund(store::Tx& tx, AfterSaleId id, std::int64_t pay_refund_id) {
  JISHI_TRY(tx.exec("UPDATE ord_refunds SET pay_refund_id = $2 WHERE id = $1",
                    {id.value, pay_refund_id}));
  return {};
}

}  // namespace jishi::order
