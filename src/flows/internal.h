// Shared by the trading flows' .cc files only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/result.h"
#include "events/events.h"
#include "inventory/inventory.h"
#include "order/orders.h"
#include "pay/payments.h"
#include "store/database.h"

namespace jishi::flows::internal {

// The order as its events carry it: ids, statuses, total and refunded, carrier and tracking
// number when set, the lines; `extra_json_fields` ("\"k\":v,...") is spliced in at the end.
std::string order_event_json(const order::Order& o, std::string_view extra_json_fields = {});
// Publishes an order event for the order's seller (webhooks, the pull API) in the transaction.
Status publish(store::Tx& tx, Env& env, const order::Order& o, std::string_view type,
               std::string_view extra_json_fields = {});
// Publishes order.created, which stores nothing: the order row is the event (events implied
// by their rows, its id the order's), and its data, the order as created, is a function of
// rows that never change, made when the event is read (register_on_read). Queues the seller's
// webhook deliveries.
Status publish_created(store::Tx& tx, Env& env, const order::Order& o);
// order.created for an order: id (the order's), seller, subject, creation time; no data.
events::Event created_event(const order::OrderStamp& o);
// The units an order holds while unpaid (and that payment converts): its lines' SKUs and
// quantities. Each stock call for an order matches one transition of the order's own state.
std::vector<inventory::Want> wants_of(const order::Order& o);
// Keeps the catalog's in-stock flags in step with stock that crossed zero.
Status follow_stock(store::Tx& tx, const std::vector<inventory::StockChange>& changes);
std::string id_text(std::int64_t id);
// The checkout intents' splits, one per order, made from the orders (pay::imply_splits).
inline constexpr std::string_view kCheckoutSplits = "checkout";
pay::ImpliedSplits checkout_splits();

}  // namespace jishi::flows::internal
