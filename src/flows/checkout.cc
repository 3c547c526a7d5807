// Checkout: the one transaction that turns a cart into orders and a payment intent.
#include <algorithm>
#include <map>

#include "catalog/catalog.h"
#include "core/check.h"
#include "core/limits.h"
#include "events/events.h"
#include "flows/internal.h"
#include "flows/trade.h"
#include "inventory/inventory.h"
#include "order/cart.h"

namespace jishi::flows {

using internal::id_text;

namespace {

// A checkout's intents have the reference "checkout-<checkout id>".
constexpr std::string_view kIntentReferencePrefix = "checkout-";

bool token_ok(std::string_view t) {
  if (t.size() < limits::checkout_token_bytes_min || t.size() > limits::checkout_token_bytes_max)
    return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

Result<std::vector<CheckoutLine>> lines_of(store::Tx& tx, const CheckoutRequest& req) {
  if (!req.from_cart) return req.lines;
  JISHI_ASSIGN_OR_RETURN(auto cart, order::cart_lines(tx, req.buyer));
  std::vector<CheckoutLine> out;
  for (const auto& c : cart) {
    if (!req.cart_skus.empty() &&
        std::find(req.cart_skus.begin(), req.cart_skus.end(), c.sku_id) == req.cart_skus.end())
      continue;
    out.push_back({c.sku_id, c.quantity, c.price_seen});
  }
  if (out.empty()) return fail(Code::validation_failed, "the cart has nothing to check out");
  return out;
}

// What an intent for `orders` is called: the title of the only order's first line, else how
// many orders; at most 120 bytes, cut on a UTF-8 character boundary (titles are mostly Chinese).
// An implied intent's description is made again from its orders (implied_checkout_intent).
std::string intent_description(std::size_t orders, std::string_view first_title) {
  std::string d = orders == 1 && !first_title.empty() ? std::string(first_title)
                                                      : std::to_string(orders) + " orders";
  if (d.size() > 120) {
    std::size_t cut = 120;
    while (cut > 0 && (static_cast<unsigned char>(d[cut]) & 0xC0) == 0x80) --cut;
    d.resize(cut);
  }
  return d;
}

// `now`: the checkout's time (its row's created_at_us), which the intent takes as its own.
pay::NewIntent intent_for(const TradeConfig& cfg, Env& env, UserId buyer,
                          order::CheckoutId checkout, const Currency& currency,
                          const std::vector<order::Order>& orders, bool fresh, std::int64_t now) {
  pay::NewIntent n;
  n.payer = buyer;
  n.purpose = pay::Purpose::escrow;
  n.reference = std::string(kIntentReferencePrefix) + id_text(checkout.value);
  std::int64_t total = 0;
  for (const auto& o : orders) {
    pay::Split s;
    s.reference = id_text(o.id.value);
    s.payee = o.seller;
    s.amount = o.total;
    if (!o.lines.empty()) s.category = o.lines.front().category;
    n.splits.push_back(std::move(s));
    total += o.total;
  }
  n.amount = Money{total, currency};
  n.description = intent_description(
      orders.size(), orders.front().lines.empty() ? "" : orders.front().lines.front().title);
  // Never beyond the orders' own deadline: a payment after it is refunded as late.
  std::int64_t deadline = orders.front().pay_deadline_us;
  n.fresh_references = fresh;
  // The first intent's splits are exactly the checkout's orders: made from them when read, so
  // the writer stores no split rows. It takes the checkout's id, so that the buyer's orders list
  // it (checkout_intents_of) and it needs no entry in the payer index. A renewed one covers
  // only the orders still unpaid: stored, and listed by that index. The first one is not stored
  // either until it changes: the checkout and its orders imply it (implied_checkout_intent).
  if (fresh) {
    n.splits_from = std::string(internal::kCheckoutSplits);
    n.listed_by_source = true;
    n.implied = true;
    n.id = pay::IntentId{checkout.value};
  }
  n.at_us = now;
  n.ttl_us = std::max<std::int64_t>(1, deadline - now);
  (void)cfg;
  (void)env;
  return n;
}

Result<order::AddressFields> validated_address(const order::AddressFields& address) {
  auto a = order::validate_address(address);
  if (!a) {
    Error e = a.error();
    e.field = "/address" + e.field;
    return std::unexpected(e);
  }
  return *a;
}

// The splits of a checkout's first intent (reference "checkout-<id>"): one per order of the
// checkout, as intent_for made them.
Result<std::vector<pay::Split>> splits_of_checkout(store::Conn& conn, const pay::Intent& i) {
  auto id = std::string_view(i.reference).starts_with(kIntentReferencePrefix)
                ? parse_id(std::string_view(i.reference).substr(kIntentReferencePrefix.size()))
                : std::nullopt;
  if (!id) return fail(Code::internal, "intent " + id_text(i.id.value) + " names no checkout");
  JISHI_ASSIGN_OR_RETURN(auto c, order::get_checkout(conn, order::CheckoutId{*id}));
  if (!c) return fail(Code::internal, "intent " + id_text(i.id.value) + ": no such checkout");
  std::vector<pay::Split> out;
  for (auto oid : c->orders) {
    JISHI_ASSIGN_OR_RETURN(auto share, order::payment_share(conn, oid));
    out.push_back(pay::Split{id_text(oid.value), share.seller, share.total, share.category});
  }
  return out;
}

// A reference that is an order's id: the order's current intent, which may imply its split.
Result<std::optional<pay::IntentId>> checkout_intent_for(store::Conn& conn,
                                                         std::string_view reference) {
  auto id = parse_id(reference);
  if (!id || id_text(*id) != reference) return std::optional<pay::IntentId>{};  // "0123" is not 123
  JISHI_ASSIGN_OR_RETURN(auto intent, order::intent_of_order(conn, order::OrderId{*id}));
  if (!intent) return std::optional<pay::IntentId>{};
  return std::optional<pay::IntentId>{pay::IntentId{*intent}};
}

// A checkout's first intent while nothing has changed it (intent_for made it `implied`): made
// from the checkout and its orders, as create_intent returned it. It awaits payment while any
// of its orders does, and has expired once all of them were closed unpaid (cancel_order,
// close_unpaid). Any other order state is not one an unchanged intent can have paid for.
Result<std::optional<pay::Intent>> implied_checkout_intent(store::Conn& conn, pay::IntentId id) {
  JISHI_ASSIGN_OR_RETURN(auto c, order::implied_intent_checkout(conn, order::CheckoutId{id.value}));
  if (!c) return std::optional<pay::Intent>{};
  if (c->orders.empty())
    return fail(Code::internal, "checkout " + id_text(c->id.value) + " lists no orders");
  pay::Intent i;
  i.id = id;
  i.payer = c->buyer;
  i.purpose = pay::Purpose::escrow;
  i.reference = std::string(kIntentReferencePrefix) + id_text(c->id.value);
  i.amount = c->total;
  i.created_at_us = i.updated_at_us = c->created_at_us;
  i.splits_from = std::string(internal::kCheckoutSplits);
  i.listed_by_source = true;
  bool open = false;
  std::int64_t closed_at = c->created_at_us;
  std::string first_title;
  for (auto oid : c->orders) {
    JISHI_ASSIGN_OR_RETURN(auto share, order::payment_share(conn, oid));
    if (i.splits.empty()) {
      i.expires_at_us = share.pay_deadline_us;
      first_title = share.title;
    }
    if (share.status == "pending_payment") {
      open = true;
    } else if (share.status == "cancelled") {
      closed_at = std::max(closed_at, share.updated_at_us);
    } else {
      return fail(Code::internal, "order " + id_text(oid.value) + " of unchanged intent " +
                                      id_text(id.value) + " is " + share.status);
    }
    i.splits.push_back(
        pay::Split{id_text(oid.value), share.seller, share.total, std::move(share.category)});
  }
  i.description = intent_description(c->orders.size(), first_title);
  if (!open) {
    i.status = pay::IntentStatus::expired;
    i.updated_at_us = closed_at;
  }
  return std::optional(std::move(i));
}

// The buyer's checkouts' first intents, newest first: each has its checkout's id (intent_for).
Result<std::vector<pay::IntentId>> checkout_intents_of(store::Conn& conn, UserId buyer,
                                                       std::int64_t before, std::size_t limit) {
  JISHI_ASSIGN_OR_RETURN(auto from, order::listed_intents_from(conn));
  JISHI_ASSIGN_OR_RETURN(auto checkouts, order::buyer_checkouts(conn, buyer, from, before, limit));
  std::vector<pay::IntentId> out;
  out.reserve(checkouts.size());
  for (auto c : checkouts) out.push_back(pay::IntentId{c.value});
  return out;
}

}  // namespace

pay::ImpliedSplits internal::checkout_splits() {
  return {splits_of_checkout, checkout_intent_for, checkout_intents_of, implied_checkout_intent};
}

void prepare_checkout(const Env& env, CheckoutRequest& req) {
  req.prepared_address.reset();
  if (!req.address || req.address_id) return;
  // An invalid address is left to checkout(), which reports it in its own order (after the
  // token and a replay of the same token), as when nothing was prepared.
  auto fields = order::validate_address(*req.address);
  if (!fields) return;
  auto sealed = order::seal_address(env, *fields);
  req.prepared_address = CheckoutRequest::PreparedAddress{std::move(*fields), std::move(sealed)};
}

Result<CheckoutResult> load_checkout(store::Conn& conn, const Env& env, order::CheckoutId id) {
  // One snapshot for the checkout, its intent and its orders (the writer may renew the intent
  // or pay the orders between separate reads).
  JISHI_ASSIGN_OR_RETURN(auto snapshot, store::ReadSnapshot::begin(conn));
  JISHI_ASSIGN_OR_RETURN(auto c, order::get_checkout(conn, id));
  if (!c) return fail(Code::not_found, "no such checkout");
  CheckoutResult r;
  r.checkout = *c;
  JISHI_ASSIGN_OR_RETURN(auto intent, pay::get_intent(conn, pay::IntentId{c->intent_id}));
  if (!intent)
    return fail(Code::internal, "checkout " + id_text(c->id.value) + " names intent " +
                                    id_text(c->intent_id) + ", which does not exist");
  r.intent = *intent;
  for (auto oid : c->orders) {
    JISHI_ASSIGN_OR_RETURN(auto o, order::get_order(conn, env, oid));
    r.orders.push_back(std::move(o));
  }
  return r;
}

Result<CheckoutResult> checkout(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                const CheckoutRequest& req) {
  if (!token_ok(req.token))
    return fail(Code::validation_failed,
                "checkout_token is " + std::to_string(limits::checkout_token_bytes_min) + ".." +
                    std::to_string(limits::checkout_token_bytes_max) + " characters [A-Za-z0-9_-]",
                "/checkout_token");
  JISHI_ASSIGN_OR_RETURN(auto existing, order::find_checkout(tx, req.buyer, req.token));
  if (existing) {
    JISHI_ASSIGN_OR_RETURN(auto r, load_checkout(tx, env, existing->id));
    r.replayed = true;
    return r;
  }

  // The address: saved or inline.
  order::AddressFields ship_to;
  if (req.address_id) {
    JISHI_ASSIGN_OR_RETURN(auto a, order::get_address(tx, env, req.buyer, *req.address_id));
    ship_to = a;
  } else if (req.prepared_address) {
    ship_to = req.prepared_address->fields;
  } else if (req.address) {
    JISHI_ASSIGN_OR_RETURN(ship_to, validated_address(*req.address));
  } else {
    return fail(Code::validation_failed, "address_id or address is required", "/address_id");
  }
  if (req.buyer_note && req.buyer_note->size() > limits::buyer_note_bytes_max)
    return fail(Code::validation_failed, "buyer_note is too long", "/buyer_note");

  JISHI_ASSIGN_OR_RETURN(auto lines, lines_of(tx, req));
  if (lines.empty() || lines.size() > limits::checkout_lines_max)
    return fail(Code::validation_failed,
                "a checkout has 1.." + std::to_string(limits::checkout_lines_max) + " lines",
                "/lines");
  std::vector<catalog::SkuId> ids;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    std::string at = "/lines/" + std::to_string(i);
    if (l.quantity <= 0 || l.quantity > limits::order_line_quantity_max)
      return fail(Code::validation_failed,
                  "quantity must be 1.." + std::to_string(limits::order_line_quantity_max),
                  at + "/quantity");
    ids.push_back(catalog::SkuId{l.sku_id});
  }
  JISHI_ASSIGN_OR_RETURN(auto offers, catalog::offers(tx, ids));
  std::map<std::int64_t, const catalog::SkuOffer*> by_sku;
  for (const auto& o : offers) by_sku[o.sku.value] = &o;

  // Group by seller in the order sellers first appear; price and sellability re-checked.
  std::vector<OrgId> sellers;
  std::map<std::int64_t, std::vector<order::Line>> lines_by_seller;
  std::optional<Currency> currency;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    std::string at = "/lines/" + std::to_string(i);
    auto it = by_sku.find(l.sku_id);
    if (it == by_sku.end())
      return fail(Code::not_found, "no such SKU " + id_text(l.sku_id), at + "/sku_id");
    const auto& offer = *it->second;
    if (!offer.sellable)
      return fail(Code::invalid_state,
                  "\"" + offer.title + "\" is not for sale (" + offer.product_status + ")",
                  at + "/sku_id");
    if (offer.seller.value == 0) return fail(Code::internal, "an offer without a seller");
    if (l.expected_unit_price && *l.expected_unit_price != offer.price)
      return fail(Code::price_changed,
                  "the price of \"" + offer.title + "\" (SKU " + id_text(l.sku_id) + ") is now " +
                      std::string(offer.price.currency.code_view()) + " " +
                      format_decimal(offer.price) + ", not " +
                      std::string(l.expected_unit_price->currency.code_view()) + " " +
                      format_decimal(*l.expected_unit_price) + "; review the cart",
                  at + "/sku_id");
    if (!currency) currency = offer.price.currency;
    if (*currency != offer.price.currency)
      return fail(Code::validation_failed, "one checkout pays in one currency", at + "/sku_id");
    auto& seller_lines = lines_by_seller[offer.seller.value];
    if (seller_lines.empty()) sellers.push_back(offer.seller);
    auto amount = multiply(offer.price, l.quantity);
    if (!amount) return fail(Code::validation_failed, "line amount overflows", at + "/quantity");
    seller_lines.push_back(order::Line{
        static_cast<int>(seller_lines.size() + 1), l.sku_id, offer.product.value, offer.title,
        offer.spec_text, offer.category_code, offer.price.minor, l.quantity, amount->minor});
  }
  if (sellers.size() > limits::checkout_orders_max)
    return fail(
        Code::validation_failed,
        "a checkout spans at most " + std::to_string(limits::checkout_orders_max) + " sellers");

  std::int64_t now = env.clock.now_us();
  std::int64_t deadline = now + cfg.pay_timeout_us;
  order::CheckoutId checkout_id{env.ids.next()};
  std::vector<order::NewOrder> news;
  std::vector<order::Order> shapes;  // what the intent needs: id, seller, total, lines
  for (auto seller : sellers) {
    order::NewOrder n;
    n.id = order::OrderId{env.ids.next()};
    n.checkout = checkout_id;
    n.buyer = req.buyer;
    n.seller = seller;
    n.currency = *currency;
    n.lines = std::move(lines_by_seller[seller.value]);
    n.freight = cfg.freight_per_order;
    n.ship_to = ship_to;
    n.buyer_note = req.buyer_note;
    n.pay_deadline_us = deadline;
    std::vector<inventory::Want> wants;
    std::int64_t items = 0;
    for (const auto& l : n.lines) {
      wants.push_back({l.sku_id, l.quantity});
      items += l.amount;
    }
    // Held by the order's lines while it is unpaid: no row of its own.
    JISHI_ASSIGN_OR_RETURN(auto changes, inventory::reserve(tx, env, wants));
    JISHI_TRY(internal::follow_stock(tx, changes));
    order::Order shape;
    shape.id = n.id;
    shape.seller = seller;
    shape.total = items + n.freight;
    shape.lines = n.lines;
    shape.pay_deadline_us = deadline;
    shapes.push_back(std::move(shape));
    news.push_back(std::move(n));
  }
  JISHI_ASSIGN_OR_RETURN(
      auto intent,
      pay::create_intent(
          tx, env, intent_for(cfg, env, req.buyer, checkout_id, *currency, shapes, true, now)));
  order::Checkout c;
  c.id = checkout_id;
  c.buyer = req.buyer;
  c.token = req.token;
  c.intent_id = intent.id.value;
  c.total = intent.amount;
  c.created_at_us = now;
  for (const auto& n : news) c.orders.push_back(n.id);
  JISHI_TRY(order::insert_checkout(tx, env, c));
  // The reply is built from what was written (a read-back would cost as much again).
  CheckoutResult result;
  result.checkout = std::move(c);
  std::int64_t intent_id = intent.id.value;
  result.intent = std::move(intent);
  // Sealed again if the key rotated since it was prepared: the rotation's re-encryption passes
  // run through this writer and may have finished already.
  order::SealedAddress sealed =
      req.prepared_address && env.cipher.under_current_key(req.prepared_address->sealed.ship_to)
          ? req.prepared_address->sealed
          : order::seal_address(env, ship_to);
  for (auto& n : news) {
    n.intent_id = intent_id;
    n.sealed = &sealed;
    n.created_at_us = now;
    JISHI_TRY(order::insert_order(tx, env, n));
    result.orders.push_back(order::order_as_inserted(std::move(n), now));
  }
  // No job and no index entry: the close_unpaid sweep walks orders from the unpaid floor.
  if (req.from_cart) {
    std::vector<std::int64_t> done;
    for (const auto& l : lines) done.push_back(l.sku_id);
    JISHI_TRY(order::remove_from_cart(tx, req.buyer, done));
  }
  // Its data is made when read (publish_created): the writer builds no JSON and stores none.
  for (const auto& o : result.orders) JISHI_TRY(internal::publish_created(tx, env, o));
  return result;
}

Result<CheckoutResult> renew_intent(store::Tx& tx, Env& env, const TradeConfig& cfg,
                                    order::CheckoutId id, UserId buyer) {
  JISHI_ASSIGN_OR_RETURN(auto current, load_checkout(tx, env, id));
  if (current.checkout.buyer != buyer) return fail(Code::not_found, "no such checkout");
  // An implied intent exists while it is the checkout's intent: it must have been stored (its
  // first change) before another replaces it. An unchanged one is open, or expired with no
  // order left to pay, both refused below; this keeps it so should that ever change.
  if (current.intent.implied)
    return fail(Code::internal, "the checkout's unchanged intent cannot be replaced");
  auto st = current.intent.status;
  if (st == pay::IntentStatus::requires_payment || st == pay::IntentStatus::processing ||
      st == pay::IntentStatus::succeeded)
    return fail(Code::invalid_state, "the checkout's payment is " + std::string(pay::name_of(st)) +
                                         "; no new one is needed");
  std::vector<order::Order> pending;
  for (const auto& o : current.orders)
    if (o.status == "pending_payment") pending.push_back(o);
  if (pending.empty()) return fail(Code::invalid_state, "no order of this checkout awaits payment");
  if (env.clock.now_us() >= pending.front().pay_deadline_us)
    return fail(Code::invalid_state, "the orders' payment deadline has passed");
  JISHI_ASSIGN_OR_RETURN(
      auto intent,
      pay::create_intent(tx, env,
                         intent_for(cfg, env, buyer, id, current.intent.amount.currency, pending,
                                    false, env.clock.now_us())));
  JISHI_TRY(order::set_checkout_intent(tx, id, intent.id.value));
  return load_checkout(tx, env, id);
}

}  // namespace jishi::flows
