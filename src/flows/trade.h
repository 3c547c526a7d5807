// The trading flows: commands that span catalog, inventory, order, pay and events, each inside
// the caller's ONE transaction (ARCHITECTURE.md: one command = one transaction). The API calls
// these from writer commands; the durable jobs call them from the job runner.
//
// Invariants kept here, across modules:
//   - an order is paid iff its escrow holds its total (pay) and its stock is converted
//     (inventory); a closed unpaid order has released its stock and closed its intent;
//   - a checkout's intent splits are exactly its pending orders' totals;
//   - every state change publishes one outbox event for the seller, in the same transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/limits.h"
#include "core/money.h"
#include "core/result.h"
#include "inventory/inventory.h"
#include "order/address.h"
#include "order/aftersales.h"
#include "order/orders.h"
#include "order/ratings.h"
#include "pay/payments.h"
#include "store/database.h"

namespace jishi::events {
struct Sweep;
}

namespace jishi::flows {

struct TradeConfig {
  std::int64_t freight_per_order = 800;                     // flat, minor units, per merchant
  std::int64_t pay_timeout_us = 30LL * 60 * 1'000'000;      // unpaid orders close after this
  std::int64_t auto_confirm_us = 10LL * 86400 * 1'000'000;  // receipt confirmed after shipment
  std::int64_t extend_us = 3LL * 86400 * 1'000'000;         // the buyer's one extension
  std::int64_t commission_ppm = 50'000;                     // default rate (pay_commission_ppm)
};

// Durable job kinds (events::JobRunner) the flows schedule and handle.
// Unpaid checkouts are found by the close_unpaid sweep (close_unpaid_sweep()); databases from
// before 2026-11-29 may still hold jobs of this kind, which run the same close_unpaid().
inline constexpr std::string_view kJobCloseUnpaid = "order.close_unpaid";  // key: checkout id
inline constexpr std::string_view kJobAutoConfirm = "order.auto_confirm";  // key: order id

struct CheckoutLine {
  std::int64_t sku_id = 0;
  std::int64_t quantity = 0;
  std::optional<Money> expected_unit_price;  // refused with price_changed if different
};

struct CheckoutRequest {
  UserId buyer;
  std::string token;  // idempotency: the same token returns the same checkout
  std::optional<order::AddressId> address_id;
  std::optional<order::AddressFields> address;  // inline, validated
  bool from_cart = false;                       // lines = the cart (prices as seen)
  std::vector<CheckoutLine> lines;              // or these ("buy now", ERPs)
  std::vector<std::int64_t> cart_skus;          // with from_cart: only these SKUs (empty: all)
  std::optional<std::string> buyer_note;
  // Set by prepare_checkout() only: the inline address validated and sealed.
  struct PreparedAddress {
    order::AddressFields fields;
    order::SealedAddress sealed;
  };
  std::optional<PreparedAddress> prepared_address;
};

// Validates and seals the inline address on the caller's thread (an I/O thread), so that the
// writer, which runs one command at a time, neither validates nor encrypts it (the sealing is
// about an eighth of a checkout's work in the writer). Optional: checkout() does both itself
// when it was not called, when the address is invalid (so errors and replays come in the same
// order either way) and when the key rotated in between.
void prepare_checkout(const Env& env, CheckoutRequest& req);

// Registers what flows stores no rows for and makes from other rows when read: the data of
// order.created (events::render_on_read) and a checkout intent's splits (pay::imply_splits).
// Once at start, before events or intents are read or checkouts made.
void register_on_read();

struct CheckoutResult {
  order::Checkout checkout;
  pay::Intent intent;
  std::vector<order::Order> orders;
  bool replayed = false;
};

// Re-checks prices and stock, reserves, splits the lines into one order per seller with flat
// freight, creates the payment intent for the total (one split per order), schedules the unpaid
// timeout, publishes order.created — all or nothing.
Result<CheckoutResult> checkout(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                const CheckoutRequest& req);
Result<CheckoutResult> load_checkout(store::Conn& conn, const Env& env, order::CheckoutId id);

// A fresh intent for a checkout whose intent failed, expired or was cancelled, while its orders
// are still unpaid and before their deadline.
Result<CheckoutResult> renew_intent(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                    order::CheckoutId id, UserId buyer);

// pay's hook: the checkout's pending orders become paid, their stock converted.
Status on_intent_succeeded(store::Tx& tx, Env& env, const pay::Intent& intent);

// `jishi verify stock`: inventory's invariants, with the units held by unpaid orders (their
// lines) as the reserved units' holders.
// `no_writer`: no server is running on the database (inventory::verify).
Result<inventory::VerifyReport> verify_stock(store::Conn& conn, bool no_writer = false);
// The units unpaid orders hold, as inventory's holds query: (sku_id, quantity) per line; from
// the unpaid floor (order::overdue_checkouts) up, or over every order.
std::string_view unpaid_holds_sql(bool from_floor = true);
// The writer's hook that defers reservations (inventory.h), with unpaid orders as holders.
// `jishi serve` installs it; see inventory::ReservationDeferral.
std::unique_ptr<inventory::ReservationDeferral> reservation_deferral(const Clock& clock);

// The buyer cancels an unpaid order: stock released; the checkout's intent is closed and, if
// other orders of it remain unpaid, replaced by one for them.
Result<order::Order> cancel_order(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                  order::OrderId id, UserId buyer, std::string_view reason);
// The checkout's orders still unpaid at their deadline are cancelled. Running it again, or
// before the deadline, changes nothing.
Status close_unpaid(store::Tx& tx, Env& env, order::CheckoutId id);
// The sweep that runs close_unpaid() for every checkout with an overdue unpaid order (keys:
// checkout ids), for events::JobRunner::sweep. It walks orders from the unpaid floor
// (order::overdue_checkouts) and raises the floor after each pass that moved it.
// `walk_max`: orders read per pass (tests make it small).
events::Sweep close_unpaid_sweep(std::size_t walk_max = limits::unpaid_walk_max);

Result<order::Order> ship(store::Tx& tx, Env& env, const TradeConfig& cfg, order::OrderId id,
                          OrgId seller, UserId actor, std::string_view carrier,
                          std::string_view tracking_no);
Result<order::Order> mark_delivered(store::Tx& tx, Env& env, order::OrderId id, OrgId seller,
                                    UserId actor);
// The buyer confirms receipt: completed, escrow released to the seller net of commission.
Result<order::Order> confirm_receipt(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                     order::OrderId id, UserId buyer);
Result<order::Order> extend_receipt(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                    order::OrderId id, UserId buyer);
// Job: confirms receipt when the deadline has passed and no after-sales request is open.
Status auto_confirm(store::Tx& tx, Env& env, const TradeConfig& cfg, order::OrderId id);

// Refund of a paid, unshipped order: all of what is left, restocked, order closed.
Result<order::Order> refund_unshipped(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                      std::string_view reason);
// Return and refund after shipment.
Result<order::AfterSale> request_return(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                        std::int64_t amount, std::string_view reason);
Result<order::AfterSale> approve_return(store::Tx& tx, Env& env, order::AfterSaleId id,
                                        OrgId seller, UserId actor);
Result<order::AfterSale> reject_return(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                       order::AfterSaleId id, OrgId seller, UserId actor,
                                       std::string_view reason);
Result<order::AfterSale> ship_return(store::Tx& tx, Env& env, order::AfterSaleId id, UserId buyer,
                                     std::string_view carrier, std::string_view tracking_no);
// The seller has the parcel back: the buyer is refunded (from escrow, or from the seller after
// release); a full return restocks the units and closes the order.
Result<order::AfterSale> receive_return(store::Tx& tx, Env& env, order::AfterSaleId id,
                                        OrgId seller, UserId actor);
Result<order::AfterSale> withdraw_return(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                         order::AfterSaleId id, UserId buyer);

// Rates a completed order; the products' and the seller's aggregates follow.
Result<order::RateResult> rate_order(store::Tx& tx, Env& env, order::OrderId id, UserId buyer,
                                     const order::Scores& scores, std::string_view text);

}  // namespace jishi::flows
