// After-sales: refund before shipment (immediate, restocked) and return-and-refund after it.
#include "events/events.h"
#include "events/jobs.h"
#include "flows/internal.h"
#include "flows/trade.h"
#include "inventory/inventory.h"

namespace jishi::flows {

using internal::id_text;
using internal::publish;

namespace {

Result<order::Order> owned_by_buyer(store::Tx& tx, Env& env, order::OrderId id, UserId buyer) {
  auto o = order::get_order(tx, env, id);
  if (!o || o->buyer != buyer) return fail(Code::not_found, "no such order");
  return o;
}

// The request and its order, checking the seller owns it.
Result<std::pair<order::AfterSale, order::Order>> for_seller(store::Tx& tx, Env& env,
                                                             order::AfterSaleId id, OrgId seller) {
  JISHI_ASSIGN_OR_RETURN(auto a, order::get_after_sale(tx, id));
  auto o = order::get_order(tx, env, a.order);
  if (!o || o->seller != seller) return fail(Code::not_found, "no such after-sales request");
  return std::pair(a, *o);
}

Result<std::pair<order::AfterSale, order::Order>> for_buyer(store::Tx& tx, Env& env,
                                                            order::AfterSaleId id, UserId buyer) {
  JISHI_ASSIGN_OR_RETURN(auto a, order::get_after_sale(tx, id));
  auto o = order::get_order(tx, env, a.order);
  if (!o || o->buyer != buyer) return fail(Code::not_found, "no such after-sales request");
  return std::pair(a, *o);
}

std::string request_json(const order::AfterSale& a, const order::Order& o) {
  return "\"after_sale_id\":\"" + id_text(a.id.value) + "\",\"after_sale_status\":\"" + a.status +
         "\",\"refund_amount\":{\"amount\":" + std::to_string(a.amount) + ",\"currency\":\"" +
         std::string(o.currency.code_view()) + "\"}";
}

// Gives `amount` back to the buyer through pay (escrow before release, the seller after) and
// records it on the order; a full refund restocks the units.
Result<order::Order> give_back(store::Tx& tx, Env& env, const order::Order& o, std::int64_t amount,
                               std::string_view reason, UserId actor,
                               std::optional<order::AfterSaleId> request) {
  JISHI_ASSIGN_OR_RETURN(auto refund,
                         pay::refund(tx, env, id_text(o.id.value), amount, reason, actor));
  if (request) JISHI_TRY(order::set_after_sale_refund(tx, *request, refund.id.value));
  JISHI_ASSIGN_OR_RETURN(auto after, order::record_refund(tx, env, o.id, amount, actor));
  if (after.refunded == after.total) {
    // Once: refunds never exceed the total, so it is reached once.
    JISHI_ASSIGN_OR_RETURN(auto changes,
                           inventory::restock(tx, env, o.id.value, internal::wants_of(after)));
    JISHI_TRY(internal::follow_stock(tx, changes));
    JISHI_TRY(events::cancel_job(tx, kJobAutoConfirm, id_text(o.id.value)));
  } else if (after.auto_confirm_at_us &&
             (after.status == "shipped" || after.status == "delivered")) {
    // Part refunded: the rest of the order is still to be confirmed.
    JISHI_TRY(events::schedule(tx, env, kJobAutoConfirm, id_text(o.id.value),
                               std::max(*after.auto_confirm_at_us, env.clock.now_us())));
  }
  return after;
}

}  // namespace

Result<order::Order> refund_unshipped(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                      std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto o, owned_by_buyer(tx, env, id, buyer));
  if (o.status != "paid")
    return fail(Code::invalid_state,
                o.status == "shipped" || o.status == "delivered"
                    ? "the order has shipped: ask for a return instead"
                    : "only a paid, unshipped order can be refunded at once; it is " + o.status);
  JISHI_ASSIGN_OR_RETURN(
      auto a, order::open_after_sale(tx, env, id, "refund", o.total - o.refunded, reason));
  JISHI_ASSIGN_OR_RETURN(auto after, give_back(tx, env, o, a.amount, reason, buyer, a.id));
  JISHI_TRY(order::move_after_sale(tx, env, a.id, {"requested"}, "refunded"));
  JISHI_ASSIGN_OR_RETURN(auto done, order::get_after_sale(tx, a.id));
  JISHI_TRY(publish(tx, env, after, "order.refunded", request_json(done, after)));
  return after;
}

Result<order::AfterSale> request_return(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                        std::int64_t amount, std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto o, owned_by_buyer(tx, env, id, buyer));
  if (o.status != "shipped" && o.status != "delivered" && o.status != "completed")
    return fail(Code::invalid_state, o.status == "paid"
                                         ? "the order has not shipped: refund it instead"
                                         : "a return needs a shipped order; it is " + o.status);
  if (amount <= 0 || amount > o.total - o.refunded)
    return fail(Code::validation_failed,
                "amount must be 1.." + std::to_string(o.total - o.refunded), "/amount");
  JISHI_ASSIGN_OR_RETURN(auto a, order::open_after_sale(tx, env, id, "return", amount, reason));
  JISHI_TRY(order::append_event(tx, env, id, "return_requested", buyer, reason));
  JISHI_TRY(publish(tx, env, o, "order.return_requested", request_json(a, o)));
  return a;
}

Result<order::AfterSale> approve_return(store::Tx& tx, Env& env, order::AfterSaleId id,
                                        OrgId seller, UserId actor) {
  JISHI_ASSIGN_OR_RETURN(auto p, for_seller(tx, env, id, seller));
  JISHI_ASSIGN_OR_RETURN(auto a, order::move_after_sale(tx, env, id, {"requested"}, "approved"));
  JISHI_TRY(order::append_event(tx, env, p.second.id, "return_approved", actor, ""));
  JISHI_TRY(publish(tx, env, p.second, "order.return_approved", request_json(a, p.second)));
  return a;
}

Result<order::AfterSale> reject_return(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                       order::AfterSaleId id, OrgId seller, UserId actor,
                                       std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto p, for_seller(tx, env, id, seller));
  JISHI_ASSIGN_OR_RETURN(auto a, order::move_after_sale(tx, env, id, {"requested"}, "rejected"));
  JISHI_TRY(order::set_after_sale_reject_reason(tx, id, reason));
  JISHI_TRY(order::append_event(tx, env, p.second.id, "return_rejected", actor, reason));
  JISHI_TRY(publish(tx, env, p.second, "order.return_rejected", request_json(a, p.second)));
  // Receipt may be due already: the timer looks again (and waits at least a day).
  if (p.second.auto_confirm_at_us)
    JISHI_TRY(events::schedule(
        tx, env, kJobAutoConfirm, id_text(p.second.id.value),
        std::max(*p.second.auto_confirm_at_us, env.clock.now_us() + cfg.extend_us / 3)));
  return order::get_after_sale(tx, id);
}

Result<order::AfterSale> ship_return(store::Tx& tx, Env& env, order::AfterSaleId id, UserId buyer,
                                     std::string_view carrier, std::string_view tracking_no) {
  JISHI_ASSIGN_OR_RETURN(auto p, for_buyer(tx, env, id, buyer));
  JISHI_ASSIGN_OR_RETURN(auto a, order::move_after_sale(tx, env, id, {"approved"}, "returning"));
  JISHI_TRY(order::set_after_sale_return(tx, id, carrier, tracking_no));
  JISHI_TRY(order::append_event(tx, env, p.second.id, "return_shipped", buyer,
                                std::string(carrier) + " " + std::string(tracking_no)));
  JISHI_TRY(publish(tx, env, p.second, "order.return_shipped", request_json(a, p.second)));
  return order::get_after_sale(tx, id);
}

Result<order::AfterSale> receive_return(store::Tx& tx, Env& env, order::AfterSaleId id,
                                        OrgId seller, UserId actor) {
  JISHI_ASSIGN_OR_RETURN(auto p, for_seller(tx, env, id, seller));
  JISHI_TRY(order::move_after_sale(tx, env, id, {"returning"}, "refunded"));
  JISHI_ASSIGN_OR_RETURN(
      auto after, give_back(tx, env, p.second, p.first.amount, "return received", actor, id));
  JISHI_ASSIGN_OR_RETURN(auto a, order::get_after_sale(tx, id));
  JISHI_TRY(publish(tx, env, after, "order.refunded", request_json(a, after)));
  return a;
}

Result<order::AfterSale> withdraw_return(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                         order::AfterSaleId id, UserId buyer) {
  JISHI_ASSIGN_OR_RETURN(auto p, for_buyer(tx, env, id, buyer));
  JISHI_ASSIGN_OR_RETURN(
      auto a, order::move_after_sale(tx, env, id, {"requested", "approved"}, "cancelled"));
  JISHI_TRY(order::append_event(tx, env, p.second.id, "return_withdrawn", buyer, ""));
  JISHI_TRY(publish(tx, env, p.second, "order.return_withdrawn", request_json(a, p.second)));
  if (p.second.auto_confirm_at_us)
    JISHI_TRY(events::schedule(
        tx, env, kJobAutoConfirm, id_text(p.second.id.value),
        std::max(*p.second.auto_confirm_at_us, env.clock.now_us() + cfg.extend_us / 3)));
  return a;
}

}  // namespace jishi::flows
