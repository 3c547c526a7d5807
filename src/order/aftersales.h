// After-sales requests on an order (售后): a refund of an unshipped order is immediate (no request
// needed, see flows/); once shipped, the buyer asks for a return and refund:
//
//   requested --seller approves--> approved --buyer ships it back--> returning
//       \--seller rejects (reason)--> rejected        returning --seller receives--> refunded
//   requested|approved --buyer withdraws--> cancelled
//
// At most one request per order is open (requested, approved or returning) at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/page.h"
#include "core/result.h"
#include "order/orders.h"
#include "store/database.h"

namespace jishi::order {

using AfterSaleId = Id<struct AfterSaleTag>;

struct AfterSale {
  AfterSaleId id;
  OrderId order;
  std::string kind;    // refund (recorded immediately) | return
  std::string status;  // requested | approved | returning | refunded | rejected | cancelled
  std::int64_t amount = 0;
  std::string reason;
  std::optional<std::string> reject_reason, return_carrier, return_tracking_no;
  std::optional<std::int64_t> pay_refund_id;
  std::int64_t created_at_us = 0, updated_at_us = 0;
};

Result<AfterSale> open_after_sale(store::Tx& tx, Env& env, OrderId order, std::string_view kind,
                                  std::int64_t amount, std::string_view reason);
Result<AfterSale> get_after_sale(store::Conn& conn, AfterSaleId id);
Result<std::optional<AfterSale>> open_after_sale_of(store::Conn& conn, OrderId order);
Result<std::vector<AfterSale>> after_sales_of(store::Conn& conn, OrderId order);

// The after-sales requests on a seller's orders, newest first, for the seller center's queue.
// status: one status, "open" (requested | approved | returning) or nullopt for all. Keyset
// paging on the request id (before = 0 for the first page).
struct SellerAfterSale {
  AfterSale sale;
  std::string currency;      // the order's
  std::string order_status;  // the order's
};
Result<Page<SellerAfterSale>> list_seller_after_sales(store::Conn& conn, OrgId seller,
                                                      const std::optional<std::string>& status,
                                                      std::int64_t before, std::size_t limit);
// Guarded move from one of `from` to `to`; invalid_state otherwise.
Result<AfterSale> move_after_sale(store::Tx& tx, Env& env, AfterSaleId id,
                                  std::initializer_list<std::string_view> from,
                                  std::string_view to);
Status set_after_sale_return(store::Tx& tx, AfterSaleId id, std::string_view carrier,
                             std::string_view tracking_no);
Status set_after_sale_reject_reason(store::Tx& tx, AfterSaleId id, std::string_view reason);
Status set_after_sale_refund(store::Tx& tx, AfterSaleId id, std::int64_t pay_refund_id);

}  // namespace jishi::order
