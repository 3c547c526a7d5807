// The order lifecycle after checkout: payment, cancellation and the unpaid timeout, shipment,
// receipt (by the buyer or by the auto-confirm timer), and escrow release.

#include "catalog/catalog.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/json_writer.h"
#include "core/limits.h"
#include "core/money.h"
#include "events/events.h"
#include "events/jobs.h"
#include "flows/internal.h"
#include "flows/trade.h"
#include "inventory/inventory.h"

#include <memory>
#include <utility>

namespace jishi::flows {

namespace internal {

std::string id_text(std::int64_t id) {
  return std::to_string(id);
}

// The order as its events carry it (type-specific fields are spliced in at the end). Written
// as text (core::JsonWriter): this runs inside the writer, where building a boost::json object
// first cost several times the event row's own INSERT.
std::string order_event_json(const order::Order& o, std::string_view extra_json_fields) {
  JsonWriter w(512);  // ~300 bytes for an order of a few lines
  w.begin_object();
  w.key("order_id").integer_string(o.id.value);
  w.key("checkout_id").integer_string(o.checkout.value);
  w.key("status").string(o.status);
  w.key("payment_status").string(o.payment_status);
  w.key("fulfillment_status").string(o.fulfillment_status);
  w.key("total");
  write_money(w, o.total, o.currency);
  w.key("refunded");
  write_money(w, o.refunded, o.currency);
  if (o.carrier) w.key("carrier").string(*o.carrier);
  if (o.tracking_no) w.key("tracking_no").string(*o.tracking_no);
  w.key("lines").begin_array();
  for (const auto& l : o.lines)
    w.begin_object()
        .key("sku_id")
        .integer_string(l.sku_id)
        .key("quantity")
        .integer(l.quantity)
        .end_object();
  w.end_array();
  std::string text = w.take();  // the object still open
  if (!extra_json_fields.empty()) {
    text += ',';
    text += extra_json_fields;
  }
  text += '}';
  return text;
}

namespace {
// An event about the order, for its seller.
events::NewEvent order_event(const order::Order& o, std::string_view type) {
  events::NewEvent e;
  e.type = std::string(type);
  e.org = o.seller;
  e.subject = id_text(o.id.value);
  return e;
}
}  // namespace

events::Event created_event(const order::OrderStamp& o) {
  events::Event e;
  e.id = events::EventId{o.id.value};
  e.org = o.seller;
  e.type = "order.created";
  e.subject = id_text(o.id.value);
  e.created_at_us = o.created_at_us;
  return e;
}

Status publish_created(store::Tx& tx, Env& env, const order::Order& o) {
  return events::publish_implied(tx, env,
                                 created_event(order::OrderStamp{o.id, o.seller, o.created_at_us}));
}

Status publish(store::Tx& tx, Env& env, const order::Order& o, std::string_view type,
               std::string_view extra_json_fields) {
  events::NewEvent e = order_event(o, type);
  e.data_json = order_event_json(o, extra_json_fields);
  JISHI_TRY(events::publish(tx, env, e));
  return {};
}

std::vector<inventory::Want> wants_of(const order::Order& o) {
  std::vector<inventory::Want> wants;
  wants.reserve(o.lines.size());
  for (const auto& l : o.lines) wants.push_back({l.sku_id, l.quantity});
  return wants;
}

Status follow_stock(store::Tx& tx, const std::vector<inventory::StockChange>& changes) {
  for (const auto& c : changes)
    if (c.crossed_zero())
      JISHI_TRY(catalog::set_in_stock(tx, catalog::SkuId{c.sku_id}, c.available_after > 0));
  return {};
}

}  // namespace internal

namespace {
// order.created's data, made when the event is read: the order as created (its subject is the
// order id).
Result<std::string> render_order_created(store::Conn& conn, const events::Event& e) {
  auto id = parse_id(e.subject);
  if (!id)
    return fail(Code::internal, "order.created event " + internal::id_text(e.id.value) +
                                    " names no order: " + e.subject);
  auto o = order::order_as_created(conn, order::OrderId{*id});
  // The order is gone (nothing deletes orders): the event's problem, not the reader's 404.
  if (!o)
    return fail(Code::internal,
                "order.created event " + internal::id_text(e.id.value) + ": " + o.error().detail);
  return internal::order_event_json(*o);
}

// order.created, implied by the order rows (events::imply_events): one per order, its id the
// order's, for the seller.
Result<std::vector<events::Event>> created_from(store::Conn& conn, OrgId org, std::int64_t from,
                                                std::size_t limit) {
  JISHI_ASSIGN_OR_RETURN(auto orders, order::seller_orders_from(conn, org, from, limit));
  std::vector<events::Event> out;
  out.reserve(orders.size());
  for (const auto& o : orders) out.push_back(internal::created_event(o));
  return out;
}
Result<std::optional<events::Event>> created_find(store::Conn& conn, events::EventId id) {
  JISHI_ASSIGN_OR_RETURN(auto o, order::order_stamp(conn, order::OrderId{id.value}));
  if (!o) return std::optional<events::Event>{};
  return std::optional<events::Event>{internal::created_event(*o)};
}
}  // namespace

void register_on_read() {
  events::render_on_read("order.created", render_order_created);
  events::imply_events("order.created", {created_from, created_find});
  pay::imply_splits(std::string(internal::kCheckoutSplits), internal::checkout_splits());
}

using internal::id_text;
using internal::publish;

namespace {

constexpr std::int64_t kDayUs = 86'400'000'000;

Result<order::Order> seller_order(store::Tx& tx, Env& env, order::OrderId id, OrgId seller) {
  auto o = order::get_order(tx, env, id);
  if (!o || o->seller != seller) return fail(Code::not_found, "no such order");
  return o;
}

Result<order::Order> buyer_order(store::Tx& tx, Env& env, order::OrderId id, UserId buyer) {
  auto o = order::get_order(tx, env, id);
  if (!o || o->buyer != buyer) return fail(Code::not_found, "no such order");
  return o;
}

// Called once per order, on its way out of pending_payment to cancelled.
Status release_stock(store::Tx& tx, Env& env, const order::Order& cancelled) {
  JISHI_ASSIGN_OR_RETURN(auto changes, inventory::release(tx, env, internal::wants_of(cancelled)));
  return internal::follow_stock(tx, changes);
}

// Completes a shipped order and releases its escrow to the seller.
Result<order::Order> complete(store::Tx& tx, Env& env, const TradeConfig& cfg,
                              const order::Order& o, std::optional<UserId> actor,
                              std::string_view how) {
  JISHI_ASSIGN_OR_RETURN(auto done, order::mark_completed(tx, env, o.id, actor, how));
  // Escrow may have been refunded in full already (a return received before confirmation
  // closes the order, so this order still holds something).
  auto escrow = pay::get_escrow(tx, id_text(o.id.value));
  if (!escrow) return std::unexpected(escrow.error());
  JISHI_INVARIANT(escrow->has_value(), "a shipped order has an escrow");
  if ((*escrow)->status == "held")
    JISHI_TRY(pay::release(tx, env, id_text(o.id.value), cfg.commission_ppm));
  JISHI_TRY(events::cancel_job(tx, kJobAutoConfirm, id_text(o.id.value)));
  JISHI_TRY(publish(tx, env, done, "order.completed",
                    std::string("\"confirmed_by\":\"") + std::string(how) + "\""));
  return done;
}

}  // namespace

std::string_view unpaid_holds_sql(bool from_floor) {
  // Unpaid orders are at or above the unpaid floor (order::overdue_checkouts); their lines are
  // in their rows (ord_orders.lines: [line_no, sku_id, ..., quantity at 7, amount]). Without the
  // floor, every order is read.
  if (from_floor)
    return "SELECT json_extract(l.value, '$[1]') AS sku_id, json_extract(l.value, '$[7]') AS "
           "quantity FROM ord_orders "
           "o, json_each(o.lines) l WHERE o.id >= (SELECT below_id FROM ord_unpaid_floor WHERE "
           "id = 1) AND o.status = 'pending_payment'";
  return "SELECT json_extract(l.value, '$[1]') AS sku_id, json_extract(l.value, '$[7]') AS "
         "quantity FROM ord_orders o, "
         "json_each(o.lines) l WHERE o.status = 'pending_payment'";
}

Result<inventory::VerifyReport> verify_stock(store::Conn& conn, bool no_writer) {
  // The holds of every unpaid order, and no unpaid order below the unpaid floor: the sweep
  // would never close one there, nor would the writer's restore count its units.
  JISHI_ASSIGN_OR_RETURN(auto report, inventory::verify(conn, unpaid_holds_sql(false), no_writer));
  JISHI_TRY(conn.query(
      "SELECT COUNT(*), MIN(o.id), MIN(f.below_id) FROM ord_orders o, ord_unpaid_floor f WHERE "
      "o.id < f.below_id AND o.status = 'pending_payment'",
      {}, [&](const store::Row& r) {
        if (r.i64(0) > 0)
          report.problems.push_back("unpaid floor: " + std::to_string(r.i64(0)) +
                                    " unpaid order(s) below it (" + std::to_string(r.i64(2)) +
                                    "), the first " + std::to_string(r.i64(1)) +
                                    "; the unpaid sweep will never close them");
        return true;
      }));
  return report;
}

std::unique_ptr<inventory::ReservationDeferral> reservation_deferral(const Clock& clock) {
  return std::make_unique<inventory::ReservationDeferral>(std::string(unpaid_holds_sql()), clock);
}

Status on_intent_succeeded(store::Tx& tx, Env& env, const pay::Intent& intent) {
  JISHI_ASSIGN_OR_RETURN(auto c, order::checkout_of_intent(tx, intent.id.value, intent.reference));
  if (!c) return {};  // an intent that does not pay for a checkout (the payments API's own)
  for (auto oid : c->orders) {
    JISHI_ASSIGN_OR_RETURN(auto o, order::get_order(tx, env, oid));
    if (o.status != "pending_payment" || o.intent_id != intent.id.value) continue;
    JISHI_ASSIGN_OR_RETURN(auto paid, order::mark_paid(tx, env, oid));  // once: it was unpaid
    // (Available units do not change: the converted units were reserved.)
    JISHI_TRY(inventory::convert(tx, env, oid.value, internal::wants_of(paid)));
    for (const auto& l : paid.lines)
      JISHI_TRY(catalog::add_sales(tx, catalog::ProductId{l.product_id}, l.quantity));
    JISHI_TRY(publish(tx, env, paid, "order.paid"));
  }
  return {};  // a paid order is no longer unpaid: the sweep's floor may pass it
}

Result<order::Order> cancel_order(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                  order::OrderId id, UserId buyer, std::string_view reason) {
  JISHI_ASSIGN_OR_RETURN(auto o, buyer_order(tx, env, id, buyer));
  if (o.status != "pending_payment")
    return fail(Code::invalid_state, "only an unpaid order can be cancelled; it is " + o.status +
                                         (o.status == "paid" ? " (ask for a refund instead)" : ""));
  JISHI_ASSIGN_OR_RETURN(auto intent, pay::get_intent(tx, pay::IntentId{o.intent_id}));
  if (intent && intent->status == pay::IntentStatus::processing)
    return fail(Code::invalid_state,
                "a payment for this order is under way; wait for its result before cancelling");
  JISHI_ASSIGN_OR_RETURN(auto cancelled, order::mark_cancelled(tx, env, id, reason, buyer));
  JISHI_TRY(release_stock(tx, env, cancelled));
  JISHI_TRY(publish(tx, env, cancelled, "order.cancelled"));
  // The checkout's intent covered this order too: close it, and give the orders still unpaid
  // an intent of their own.
  JISHI_TRY(pay::close_intent(tx, env, pay::IntentId{o.intent_id}));
  // (Past the deadline the unpaid sweep closes the others.)
  JISHI_ASSIGN_OR_RETURN(auto rest, load_checkout(tx, env, o.checkout));
  bool others = false;
  for (const auto& x : rest.orders) others = others || x.status == "pending_payment";
  if (others && env.clock.now_us() < o.pay_deadline_us)
    JISHI_TRY(renew_intent(tx, env, cfg, o.checkout, buyer));
  return cancelled;
}

Status close_unpaid(store::Tx& tx, Env& env, order::CheckoutId id) {
  JISHI_ASSIGN_OR_RETURN(auto c, load_checkout(tx, env, id));
  std::int64_t now = env.clock.now_us();
  bool closed_any = false;
  for (const auto& o : c.orders) {
    if (o.status != "pending_payment" || now < o.pay_deadline_us) continue;
    JISHI_ASSIGN_OR_RETURN(auto cancelled,
                           order::mark_cancelled(tx, env, o.id, "unpaid_timeout", std::nullopt));
    JISHI_TRY(release_stock(tx, env, cancelled));
    JISHI_TRY(publish(tx, env, cancelled, "order.cancelled"));
    closed_any = true;
  }
  if (closed_any) JISHI_TRY(pay::close_intent(tx, env, pay::IntentId{c.checkout.intent_id}));
  return {};
}

events::Sweep close_unpaid_sweep(std::size_t walk_max) {
  events::Sweep sweep;
  // What the last walk found (both functions run on the job runner's thread, one after the
  // other): a floor above the stored one for `after` to store, and where the next walk goes on.
  struct Walk {
    std::int64_t found = 0, resume = 0;
  };
  auto walk = std::make_shared<Walk>();
  sweep.due = [walk, walk_max](store::Conn& conn,
                               const Env& env) -> Result<std::vector<std::string>> {
    JISHI_ASSIGN_OR_RETURN(
        auto scan, order::overdue_checkouts(conn, env.clock.now_us(), limits::jobs_per_pass_max,
                                            walk_max, walk->resume));
    walk->resume = scan.resume;
    walk->found = scan.floor > scan.stored_floor ? scan.floor : 0;
    std::vector<std::string> keys;
    keys.reserve(scan.checkouts.size());
    for (auto id : scan.checkouts) keys.push_back(id_text(id.value));
    return keys;
  };
  sweep.run = [](store::Tx& tx, Env& env, const std::string& key) -> Status {
    auto id = parse_id(key);
    if (!id) return fail(Code::internal, "bad checkout id " + key);
    return close_unpaid(tx, env, order::CheckoutId{*id});
  };
  sweep.after_due = [walk] { return walk->found != 0; };
  sweep.after = [walk](store::Tx& tx, Env&) -> Status {
    if (walk->found == 0) return {};
    return order::raise_unpaid_floor(tx, std::exchange(walk->found, 0));
  };
  return sweep;
}

Result<order::Order> ship(store::Tx& tx, Env& env, const TradeConfig& cfg, order::OrderId id,
                          OrgId seller, UserId actor, std::string_view carrier,
                          std::string_view tracking_no) {
  JISHI_ASSIGN_OR_RETURN(auto o, seller_order(tx, env, id, seller));
  JISHI_ASSIGN_OR_RETURN(auto open, order::open_after_sale_of(tx, id));
  if (open) return fail(Code::invalid_state, "the order has an open after-sales request");
  std::int64_t at = env.clock.now_us() + cfg.auto_confirm_us;
  JISHI_ASSIGN_OR_RETURN(auto shipped,
                         order::mark_shipped(tx, env, id, carrier, tracking_no, at, actor));
  JISHI_TRY(events::schedule(tx, env, kJobAutoConfirm, id_text(id.value), at));
  JISHI_TRY(publish(tx, env, shipped, "order.shipped"));
  (void)o;
  return shipped;
}

Result<order::Order> mark_delivered(store::Tx& tx, Env& env, order::OrderId id, OrgId seller,
                                    UserId actor) {
  JISHI_TRY(seller_order(tx, env, id, seller));
  JISHI_ASSIGN_OR_RETURN(auto d, order::mark_delivered(tx, env, id, actor));
  JISHI_TRY(publish(tx, env, d, "order.delivered"));
  return d;
}

Result<order::Order> confirm_receipt(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                     order::OrderId id, UserId buyer) {
  JISHI_ASSIGN_OR_RETURN(auto o, buyer_order(tx, env, id, buyer));
  if (o.status != "shipped" && o.status != "delivered")
    return fail(Code::invalid_state, "only a shipped order can be confirmed; it is " + o.status);
  JISHI_ASSIGN_OR_RETURN(auto open, order::open_after_sale_of(tx, id));
  if (open)
    return fail(Code::invalid_state,
                "the order has an open after-sales request; withdraw it before confirming");
  return complete(tx, env, cfg, o, buyer, "buyer");
}

Result<order::Order> extend_receipt(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                    order::OrderId id, UserId buyer) {
  JISHI_ASSIGN_OR_RETURN(auto o, buyer_order(tx, env, id, buyer));
  if (!o.auto_confirm_at_us)
    return fail(Code::invalid_state, "only a shipped order's receipt deadline can be extended");
  std::int64_t at = *o.auto_confirm_at_us + cfg.extend_us;
  JISHI_ASSIGN_OR_RETURN(auto e, order::extend_confirm(tx, env, id, at, buyer));
  JISHI_TRY(events::schedule(tx, env, kJobAutoConfirm, id_text(id.value), at));
  JISHI_TRY(publish(tx, env, e, "order.receipt_extended"));
  return e;
}

Status auto_confirm(store::Tx& tx, Env& env, const TradeConfig& cfg, order::OrderId id) {
  JISHI_ASSIGN_OR_RETURN(auto o, order::get_order(tx, env, id));
  if (o.status != "shipped" && o.status != "delivered") return {};  // done or closed already
  std::int64_t now = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(auto open, order::open_after_sale_of(tx, id));
  // While an after-sales request is open the timer waits: it looks again in a day (a rejected,
  // withdrawn or partly refunded request leaves the order to be confirmed then).
  if (open) return events::schedule(tx, env, kJobAutoConfirm, id_text(id.value), now + kDayUs);
  if (!o.auto_confirm_at_us || now < *o.auto_confirm_at_us)
    return events::schedule(tx, env, kJobAutoConfirm, id_text(id.value),
                            o.auto_confirm_at_us.value_or(now + cfg.auto_confirm_us));
  JISHI_TRY(complete(tx, env, cfg, o, std::nullopt, "auto"));
  return {};
}

Result<order::RateResult> rate_order(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                     const order::Scores& scores, std::string_view text) {
  JISHI_ASSIGN_OR_RETURN(auto o, buyer_order(tx, env, id, buyer));
  JISHI_ASSIGN_OR_RETURN(auto r, order::rate(tx, env, o, buyer, scores, text));
  // The product's rating is the item-as-described score; each product of the order counts once.
  std::int64_t delta = scores.described - (r.previous ? r.previous->scores.described : 0);
  std::int64_t count = r.previous ? 0 : 1;
  std::vector<std::int64_t> seen;
  for (const auto& l : o.lines) {
    if (std::find(seen.begin(), seen.end(), l.product_id) != seen.end()) continue;
    seen.push_back(l.product_id);
    JISHI_TRY(catalog::add_rating(tx, catalog::ProductId{l.product_id}, delta, count));
  }
  JISHI_TRY(publish(tx, env, o, r.previous ? "order.rating_edited" : "order.rated",
                    "\"rating\":{\"described\":" + std::to_string(scores.described) +
                        ",\"service\":" + std::to_string(scores.service) +
                        ",\"shipping\":" + std::to_string(scores.shipping) + "}"));
  return r;
}

}  // namespace jishi::flows
