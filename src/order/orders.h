// Orders: one per seller per checkout, numbered by Snowflake id. The main status is kept apart
// from the payment and fulfilment statuses:
//
//   pending_payment --paid--> paid --ship--> shipped --(deliver)--> delivered --confirm-->
//   completed
//        \--cancel / unpaid timeout--> cancelled          (shipped also confirms directly)
//   paid --refund before shipment--> closed;  shipped|delivered --return received, all refunded-->
//   closed
//
// Every change is one guarded UPDATE (the row must be in an expected status, so a double run or
// a race changes nothing) plus a row in the append-only ord_events log. Invariant, asserted when
// an order is written and when it is read: total == items_total + freight, items_total == the sum
// of its lines, and each line's amount == unit_price * quantity. Cross-module work (stock,
// escrow, events, timers) is in flows/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/result.h"
#include "order/address.h"
#include "store/database.h"

namespace jishi::metrics {
class Registry;
}

namespace jishi::order {

using OrderId = Id<struct OrderTag>;
using CheckoutId = Id<struct CheckoutTag>;

struct Line {
  int line_no = 0;
  std::int64_t sku_id = 0, product_id = 0;
  std::string title, spec_text, category;
  std::int64_t unit_price = 0, quantity = 0, amount = 0;
};

struct Order {
  OrderId id;
  CheckoutId checkout;
  UserId buyer;
  OrgId seller;
  std::string status, payment_status, fulfillment_status;
  Currency currency;
  std::int64_t items_total = 0, freight = 0, total = 0, refunded = 0;
  std::int64_t intent_id = 0;
  AddressFields ship_to;
  std::optional<std::string> buyer_note, carrier, tracking_no, cancel_reason;
  std::int64_t pay_deadline_us = 0;
  std::optional<std::int64_t> paid_at_us, shipped_at_us, delivered_at_us, auto_confirm_at_us,
      completed_at_us, cancelled_at_us;
  bool confirm_extended = false;
  std::int64_t created_at_us = 0, updated_at_us = 0;
  std::vector<Line> lines;
};

// An address encrypted once, for every order of a checkout: recipient, phone and detail sealed
// together as one value, "order.ship_to" (a ciphertext is bound to its field name, not to the
// row, so the orders of one checkout can share it). Orders from before 2026-11-29 have the three
// fields sealed apart ("order.recipient", "order.phone", "order.detail"); both are read.
struct SealedAddress {
  std::string ship_to;
};
SealedAddress seal_address(const Env& env, const AddressFields& a);

struct NewOrder {
  OrderId id;
  CheckoutId checkout;
  UserId buyer;
  OrgId seller;
  Currency currency;
  std::vector<Line> lines;  // amounts computed and checked by the caller
  std::int64_t freight = 0;
  AddressFields ship_to;  // validated
  std::optional<std::string> buyer_note;
  std::int64_t intent_id = 0;
  std::int64_t pay_deadline_us = 0;
  const SealedAddress* sealed = nullptr;  // ship_to already encrypted; null: encrypt here
  std::int64_t created_at_us = 0;         // 0: the clock's now
};

// The order insert_order writes for `o` at `now`, as get_order would read it back. Takes o's
// lines, address and note (it is not used after its insert).
Order order_as_inserted(NewOrder&& o, std::int64_t now);

struct Checkout {
  CheckoutId id;
  UserId buyer;
  std::string token;
  std::int64_t intent_id = 0;
  Money total;
  std::int64_t created_at_us = 0;
  std::vector<OrderId> orders;
};

Status insert_checkout(store::Tx& tx, Env& env, const Checkout& c);
// The buyer's checkout made with this token (idempotency), if any.
Result<std::optional<Checkout>> find_checkout(store::Conn& conn, UserId buyer,
                                              std::string_view token);

// The writer's filter of stored checkout tokens: a Bloom filter of (buyer, token) in memory,
// on a connection prepared with prepare_checkout_filter(). find_checkout() answers "none"
// without a read for a token the filter has never taken in, which is what almost every new
// checkout brings; a token it may have taken in (about 1% of new ones while the table has at
// most half the filter's capacity, more beyond) is looked up as before. It never answers "none"
// for a stored token:
// - prepare fills it from every row of ord_checkouts, and insert_checkout() adds each token
//   before its INSERT (a rolled-back INSERT leaves its token in: it costs a lookup, never a
//   wrong answer);
// - once another connection has committed (store::Conn::others_committed), the next
//   find_checkout() fills it again from the table, inside its transaction.
// 10 bits per token, sized at each fill for twice the tokens stored (at least 2^20); past
// that, a layer twice as large takes the new tokens (no rebuild), up to
// limits::checkout_filter_bytes_max in all, after which "maybe" grows more frequent. A fill
// reads every row inside the writer's transaction (~0.1–0.3 s per million checkouts; logged),
// so each commit by another connection (a CLI verb run against a live server's database)
// costs the writer that pause once. SQLite only (a connection that cannot tell others'
// commits gets no filter).
Status prepare_checkout_filter(store::Conn& conn);
struct CheckoutFilterStats {
  std::uint64_t skipped = 0;    // lookups answered from the filter
  std::uint64_t looked_up = 0;  // lookups the filter let through to the table
  std::uint64_t fills = 0;      // fills from the table (prepare, then after others' commits)
  std::size_t tokens = 0, capacity = 0, layers = 0;
};
std::optional<CheckoutFilterStats> checkout_filter_stats(const store::Conn& conn);
// The filter's tallies on /metrics (jishi_checkout_filter_*), read from the registry's thread;
// a connection without the filter publishes nothing.
void publish_checkout_filter_metrics(const store::Conn& conn, metrics::Registry& registry);
Result<std::optional<Checkout>> get_checkout(store::Conn& conn, CheckoutId id);
// A new payment intent for the checkout's orders (the previous one failed or expired).
Status set_checkout_intent(store::Tx& tx, CheckoutId id, std::int64_t intent_id);
// The checkout that intent `intent_id` (with its `reference`) currently pays for, if any.
Result<std::optional<Checkout>> checkout_of_intent(store::Conn& conn, std::int64_t intent_id,
                                                   std::string_view reference);
// The buyer's checkouts with an id in [from, before), newest first, at most `limit`, found
// through the buyer's orders (ord_orders_buyer): a checkout's orders take the ids just after
// its own, so each is met once, and only the one whose orders reach past `before` needs a look
// above it.
Result<std::vector<CheckoutId>> buyer_checkouts(store::Conn& conn, UserId buyer, std::int64_t from,
                                                std::int64_t before, std::size_t limit);
// The first checkout whose first intent took the checkout's id (ord_listed_intents).
Result<std::int64_t> listed_intents_from(store::Conn& conn);
// The checkout whose first intent is implied by it (pay::NewIntent::implied): issued at or above
// ord_listed_intents.implied_from, and that intent (the checkout's id) is still its intent.
// nullopt otherwise.
Result<std::optional<Checkout>> implied_intent_checkout(store::Conn& conn, CheckoutId id);

// Unpaid orders past their deadline, found from the unpaid floor instead of an index: no order
// with an id below the floor (ord_unpaid_floor) is pending_payment. Order ids are issued in
// the writer in commit order and no order returns to pending_payment, so a floor found on any
// snapshot stays true. The walk reads orders by id from the stored floor (or from `resume`, a
// place an earlier walk stopped at), at most `scan_max` of them, and stops at the first unpaid
// order whose deadline has not come: deadlines follow ids while order_pay_timeout_s stays the
// same and the clock does not step back (otherwise later orders wait for earlier ones, closed
// at most the difference late; they cannot be confirmed past their deadline meanwhile, and a
// payment that completes then is refunded as late).
struct OverdueScan {
  std::vector<CheckoutId> checkouts;  // with an overdue unpaid order, each once, oldest first
  std::int64_t stored_floor = 0;      // the stored floor
  // From the floor: the first order still unpaid, or past the last one read (else the stored
  // floor: a walk from `resume` cannot tell what lies below it).
  std::int64_t floor = 0;
  // Where the next walk goes on when this one stopped for `scan_max` or `limit` rather than at
  // an order not yet due or the last order (0: from the floor again). So an order whose closing
  // keeps failing (retried with backoff) holds the floor but never hides the orders after it.
  std::int64_t resume = 0;
};
Result<OverdueScan> overdue_checkouts(store::Conn& conn, std::int64_t now_us, std::size_t limit,
                                      std::size_t scan_max, std::int64_t resume = 0);
// Stores `floor` if it is higher than the stored one (the sweep, once per pass that moved it).
Status raise_unpaid_floor(store::Tx& tx, std::int64_t floor);

Status insert_order(store::Tx& tx, Env& env, const NewOrder& o);
// not_found when absent.
Result<Order> get_order(store::Conn& conn, const Env& env, OrderId id);
// The order as it was created, from what never changes after (ids, parties, currency,
// totals, lines): statuses as they start, nothing refunded, no shipment, no address (nothing
// decrypted). For the order.created event's data, made when the event is read. not_found when
// absent.
Result<Order> order_as_created(store::Conn& conn, OrderId id);
// An order's id, seller and creation time: what its order.created event is made of (the
// event's id is the order's). For the events implied by the order rows.
struct OrderStamp {
  OrderId id;
  OrgId seller;
  std::int64_t created_at_us = 0;
};
// The seller's orders with from <= id, oldest first, at most `limit`.
Result<std::vector<OrderStamp>> seller_orders_from(store::Conn& conn, OrgId seller,
                                                   std::int64_t from, std::size_t limit);
Result<std::optional<OrderStamp>> order_stamp(store::Conn& conn, OrderId id);
// What the order's share of its checkout's payment is made of: its seller, its total and its
// first line's category and title, none of which changes after the checkout; and where its
// payment stands (status, deadline, last change). For the intent's splits and an implied
// intent, made when the intent is read. not_found when absent.
struct PaymentShare {
  OrgId seller;
  std::int64_t total = 0;
  std::string category, title;
  std::string status;
  std::int64_t pay_deadline_us = 0, updated_at_us = 0;
};
Result<PaymentShare> payment_share(store::Conn& conn, OrderId id);
// The order's current payment intent (the checkout's, or the one renew_intent made); nullopt
// when there is no such order.
Result<std::optional<std::int64_t>> intent_of_order(store::Conn& conn, OrderId id);

struct OrderFilter {
  std::optional<UserId> buyer;
  std::optional<OrgId> seller;
  std::optional<std::string> status;
  std::int64_t before = 0;  // cursor: order id (newest first)
  std::size_t limit = 20;
};
Result<Page<Order>> list_orders(store::Conn& conn, const Env& env, const OrderFilter& f);

// State changes; each fails with invalid_state (saying the current status) when the order is
// not in a status the change starts from, and logs an event otherwise.
Result<Order> mark_paid(store::Tx& tx, Env& env, OrderId id);
Result<Order> mark_cancelled(store::Tx& tx, Env& env, OrderId id, std::string_view reason,
                             std::optional<UserId> actor);
Result<Order> mark_shipped(store::Tx& tx, Env& env, OrderId id, std::string_view carrier,
                           std::string_view tracking_no, std::int64_t auto_confirm_at_us,
                           UserId actor);
Result<Order> mark_delivered(store::Tx& tx, Env& env, OrderId id, std::optional<UserId> actor);
Result<Order> mark_completed(store::Tx& tx, Env& env, OrderId id, std::optional<UserId> actor,
                             std::string_view how);  // "buyer" | "auto"
// Moves the auto-confirm deadline once (the buyer's extension).
Result<Order> extend_confirm(store::Tx& tx, Env& env, OrderId id, std::int64_t new_at_us,
                             UserId actor);
// Money given back; a fully refunded order is closed (and marked returned if it had shipped).
Result<Order> record_refund(store::Tx& tx, Env& env, OrderId id, std::int64_t amount,
                            std::optional<UserId> actor);

Status append_event(store::Tx& tx, Env& env, OrderId id, std::string_view type,
                    std::optional<UserId> actor, std::string_view detail);
struct OrderEvent {
  std::int64_t id = 0;
  std::string type;
  std::optional<std::int64_t> actor_id;
  std::string detail;
  std::int64_t at_us = 0;
};
// The order's timeline, oldest first: its creation (the order row itself, with the buyer as
// actor; orders from before 2026-11-29 also have a "created" row), then every change.
Result<std::vector<OrderEvent>> order_events(store::Conn& conn, const Order& o);

}  // namespace jishi::order
