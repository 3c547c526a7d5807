#include "order/orders.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <functional>
#include <initializer_list>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "core/check.h"
#include "core/json_writer.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "order/token_bloom.h"

namespace jishi::order {

namespace {

constexpr std::string_view kColumns =
    "id, checkout_id, buyer_id, seller_id, status, payment_status, fulfillment_status, currency, "
    "items_total, freight, total, refunded, intent_id, recipient_enc, phone_enc, region_code, "
    "detail_enc, buyer_note, carrier, tracking_no, cancel_reason, pay_deadline_us, paid_at_us, "
    "shipped_at_us, delivered_at_us, auto_confirm_at_us, completed_at_us, cancelled_at_us, "
    "confirm_extended, created_at_us, updated_at_us, postal_code, ship_to_enc, lines";

// An order's lines as its row keeps them (ord_orders.lines, migration 0024): a JSON array with
// one array per line, [line_no, sku_id, product_id, title, spec_text, category, unit_price,
// quantity, amount], in line order.
std::string pack_lines(const std::vector<Line>& lines) {
  JsonWriter w(64 + 160 * lines.size());
  w.begin_array();
  for (const auto& l : lines) {
    w.begin_array()
        .integer(l.line_no)
        .integer(l.sku_id)
        .integer(l.product_id)
        .string(l.title)
        .string(l.spec_text)
        .string(l.category)
        .integer(l.unit_price)
        .integer(l.quantity)
        .integer(l.amount)
        .end_array();
  }
  w.end_array();
  return w.take();
}

// Bytes are kept as they were written (a title from before the API checked UTF-8 still reads).
Status unpack_lines(std::int64_t order, std::string_view text, std::vector<Line>& out) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  auto v = boost::json::parse(text, ec, {}, options);
  auto bad = [&] {
    return fail(Code::internal, "order " + std::to_string(order) + "'s lines are malformed");
  };
  if (ec || !v.is_array()) return bad();
  out.clear();
  out.reserve(v.as_array().size());
  for (const auto& e : v.as_array()) {
    const auto* a = e.if_array();
    if (!a || a->size() != 9) return bad();
    const auto& f = *a;
    if (!f[0].is_int64() || !f[1].is_int64() || !f[2].is_int64() || !f[3].is_string() ||
        !f[4].is_string() || !f[5].is_string() || !f[6].is_int64() || !f[7].is_int64() ||
        !f[8].is_int64())
      return bad();
    out.push_back(Line{static_cast<int>(f[0].as_int64()), f[1].as_int64(), f[2].as_int64(),
                       std::string(f[3].as_string()), std::string(f[4].as_string()),
                       std::string(f[5].as_string()), f[6].as_int64(), f[7].as_int64(),
                       f[8].as_int64()});
  }
  std::sort(out.begin(), out.end(),
            [](const Line& a, const Line& b) { return a.line_no < b.line_no; });
  return {};
}

// The sealed address's plaintext: each of recipient, phone and detail as "<bytes>:<text>".
std::string pack_address(const AddressFields& a) {
  std::string out;
  for (const std::string* f : {&a.recipient, &a.phone, &a.detail})
    out.append(std::to_string(f->size())).append(":").append(*f);
  return out;
}

Status unpack_address(std::string_view packed, AddressFields& a) {
  for (std::string* f : {&a.recipient, &a.phone, &a.detail}) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(packed.data(), packed.data() + packed.size(), n);
    std::size_t digits = static_cast<std::size_t>(end - packed.data());
    if (ec != std::errc() || digits == 0 || digits >= packed.size() || packed[digits] != ':' ||
        packed.size() - digits - 1 < n)
      return fail(Code::internal, "malformed sealed address");
    f->assign(packed.substr(digits + 1, n));
    packed.remove_prefix(digits + 1 + n);
  }
  if (!packed.empty()) return fail(Code::internal, "malformed sealed address");
  return {};
}

Currency stored_currency(std::string_view code) {
  auto c = currency_from_code(code);
  return c ? *c : Currency{};
}

Result<Order> read_order(const store::Row& r, const Env& env) {
  Order o;
  o.id = OrderId{r.i64(0)};
  o.checkout = CheckoutId{r.i64(1)};
  o.buyer = UserId{r.i64(2)};
  o.seller = OrgId{r.i64(3)};
  o.status = r.str(4);
  o.payment_status = r.str(5);
  o.fulfillment_status = r.str(6);
  o.currency = stored_currency(r.text(7));
  o.items_total = r.i64(8);
  o.freight = r.i64(9);
  o.total = r.i64(10);
  o.refunded = r.i64(11);
  o.intent_id = r.i64(12);
  if (!r.is_null(32)) {
    JISHI_ASSIGN_OR_RETURN(auto packed, env.cipher.decrypt("order.ship_to", r.text(32)));
    JISHI_TRY(unpack_address(packed, o.ship_to));
  } else {  // an order from before migration 0016: three sealed fields
    JISHI_ASSIGN_OR_RETURN(o.ship_to.recipient, env.cipher.decrypt("order.recipient", r.text(13)));
    JISHI_ASSIGN_OR_RETURN(o.ship_to.phone, env.cipher.decrypt("order.phone", r.text(14)));
    JISHI_ASSIGN_OR_RETURN(o.ship_to.detail, env.cipher.decrypt("order.detail", r.text(16)));
  }
  o.ship_to.region_code = r.str(15);
  o.buyer_note = r.opt_str(17);
  o.carrier = r.opt_str(18);
  o.tracking_no = r.opt_str(19);
  o.cancel_reason = r.opt_str(20);
  o.pay_deadline_us = r.i64(21);
  o.paid_at_us = r.opt_i64(22);
  o.shipped_at_us = r.opt_i64(23);
  o.delivered_at_us = r.opt_i64(24);
  o.auto_confirm_at_us = r.opt_i64(25);
  o.completed_at_us = r.opt_i64(26);
  o.cancelled_at_us = r.opt_i64(27);
  o.confirm_extended = r.i64(28) != 0;
  o.created_at_us = r.i64(29);
  o.updated_at_us = r.i64(30);
  o.ship_to.postal_code = r.opt_str(31);
  JISHI_TRY(unpack_lines(o.id.value, r.text(33), o.lines));
  return o;
}

// total == items_total + freight == sum(lines) + freight; line amount == price * quantity.
void check_totals(const Order& o) {
  std::int64_t sum = 0;
  for (const auto& l : o.lines) {
    JISHI_INVARIANT(l.amount == l.unit_price * l.quantity, "order line amount");
    sum += l.amount;
  }
  JISHI_INVARIANT(sum == o.items_total, "order items_total == sum of lines");
  JISHI_INVARIANT(o.total == o.items_total + o.freight, "order total == items + freight");
  JISHI_INVARIANT(o.refunded >= 0 && o.refunded <= o.total, "0 <= refunded <= total");
}

std::string in_list(std::initializer_list<std::string_view> from) {
  std::string s;
  for (auto f : from) {
    s += s.empty() ? "'" : ", '";
    s += f;
    s += "'";
  }
  return s;
}

// Applies `set` (SQL assignments using $2.. params) when the order is in one of `from`; logs
// the event. The guard makes the change happen at most once.
Result<Order> transition(store::Tx& tx, Env& env, OrderId id,
                         std::initializer_list<std::string_view> from, std::string_view set,
                         std::vector<store::Param> params, std::string_view event,
                         std::optional<UserId> actor, std::string_view detail) {
  std::string sql = "UPDATE ord_orders SET " + std::string(set) + " WHERE id = $1 AND status IN (" +
                    in_list(from) + ")";
  params.insert(params.begin(), store::Param(id.value));
  JISHI_ASSIGN_OR_RETURN(auto n, tx.exec(sql, params));
  if (n != 1) {
    JISHI_ASSIGN_OR_RETURN(auto o, get_order(tx, env, id));
    return fail(Code::invalid_state, "the order is " + o.status);
  }
  JISHI_TRY(append_event(tx, env, id, event, actor, detail));
  return get_order(tx, env, id);
}

}  // namespace

namespace {

// The filter's tallies, atomic so that /metrics can read them while the writer counts
// (publish_checkout_filter_metrics); each is relaxed, a tally on its own.
struct CheckoutFilterCounters {
  metrics::Counter skipped, looked_up, fills;
  std::atomic<std::size_t> tokens{0}, bytes{0};
};

// The Bloom filter (token_bloom.h) and when it may answer.
class CheckoutFilter {
 public:
  // Every row's token, in the caller's transaction, into a filter sized for twice the rows
  // there are (at least 2^20 tokens). False when the connection cannot tell other
  // connections' commits (then the filter is not used).
  Result<bool> fill(store::Conn& conn) {
    filled_ = false;
    others_committed_ = conn.others_committed();
    if (!others_committed_) return false;
    JISHI_ASSIGN_OR_RETURN(auto n, conn.query_one("SELECT COUNT(*) FROM ord_checkouts", {},
                                                  [](const store::Row& r) { return r.i64(0); }));
    bloom_.reset(
        std::max<std::size_t>(static_cast<std::size_t>(n.value_or(0)) * 2, std::size_t{1} << 20),
        limits::checkout_filter_bytes_max);
    counted();  // the tallies follow the reset even if the read below fails
    counters_->fills.add();
    JISHI_TRY(conn.query("SELECT buyer_id, token FROM ord_checkouts", {}, [&](const store::Row& r) {
      bloom_.add(r.i64(0), r.text(1));
      return true;
    }));
    filled_ = true;
    counted();
    return true;
  }
  void add(std::int64_t buyer, std::string_view token) {
    bloom_.add(buyer, token);
    counted();
  }
  // Whether it may answer now: filled again first when another connection has committed.
  Result<bool> current(store::Conn& conn) {
    if (filled_ && others_committed_ == conn.others_committed()) return true;
    auto t0 = std::chrono::steady_clock::now();
    JISHI_TRY(fill(conn));
    if (filled_)
      spdlog::info(
          "checkout filter: filled again from {} checkouts in {} ms (another connection "
          "committed)",
          bloom_.tokens(),
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                t0)
              .count());
    return filled_;
  }
  const TokenBloom& bloom() const { return bloom_; }
  CheckoutFilterCounters& counters() { return *counters_; }
  std::shared_ptr<const CheckoutFilterCounters> shared_counters() const { return counters_; }

 private:
  void counted() {
    counters_->tokens.store(bloom_.tokens(), std::memory_order_relaxed);
    counters_->bytes.store(bloom_.bytes(), std::memory_order_relaxed);
  }
  TokenBloom bloom_;
  std::optional<std::uint64_t> others_committed_;
  bool filled_ = false;
  std::shared_ptr<CheckoutFilterCounters> counters_ = std::make_shared<CheckoutFilterCounters>();
};

constexpr std::string_view kCheckoutFilter = "order.checkout_filter";

}  // namespace

Status prepare_checkout_filter(store::Conn& conn) {
  if (conn.engine() != store::Engine::sqlite) return {};
  auto filter = std::make_shared<CheckoutFilter>();
  bool filled = false;
  Status done = store::run_in_transaction(conn, [&]() -> Status {
    JISHI_ASSIGN_OR_RETURN(filled, filter->fill(conn));
    return {};
  });
  if (!done) return done;
  if (!filled) return {};  // the connection cannot tell others' commits: every token is read
  conn.attach(kCheckoutFilter, std::move(filter));
  return {};
}

std::optional<CheckoutFilterStats> checkout_filter_stats(const store::Conn& conn) {
  auto* f = conn.attachment<CheckoutFilter>(kCheckoutFilter);
  if (!f) return std::nullopt;
  const CheckoutFilterCounters& c = f->counters();
  CheckoutFilterStats s;
  s.skipped = c.skipped.value();
  s.looked_up = c.looked_up.value();
  s.fills = c.fills.value();
  s.tokens = f->bloom().tokens();
  s.capacity = f->bloom().capacity();
  s.layers = f->bloom().layers();
  return s;
}

void publish_checkout_filter_metrics(const store::Conn& conn, metrics::Registry& registry) {
  auto* f = conn.attachment<CheckoutFilter>(kCheckoutFilter);
  if (!f) return;
  auto c = f->shared_counters();  // outlives the connection
  registry.counter_read("jishi_checkout_filter_lookups_total",
                        "Checkout-token lookups: answered new from the writer's filter (skipped) "
                        "or let through to the table (looked_up)",
                        "result=\"skipped\"", [c] { return c->skipped.value(); });
  registry.counter_read("jishi_checkout_filter_lookups_total", "", "result=\"looked_up\"",
                        [c] { return c->looked_up.value(); });
  registry.counter_read("jishi_checkout_filter_fills_total",
                        "Times the filter was filled from the table (at the start, and after "
                        "another connection committed)",
                        "", [c] { return c->fills.value(); });
  registry.gauge("jishi_checkout_filter_tokens", "Checkout tokens the filter has taken in", "",
                 [c] { return static_cast<double>(c->tokens.load(std::memory_order_relaxed)); });
  registry.gauge("jishi_checkout_filter_bytes", "Memory of the checkout-token filter", "",
                 [c] { return static_cast<double>(c->bytes.load(std::memory_order_relaxed)); });
}

Status insert_checkout(store::Tx& tx, Env& env, const Checkout& c) {
  (void)env;
  JISHI_INVARIANT(!c.orders.empty(), "a checkout has orders");
  // In the filter first: a token whose INSERT fails or rolls back is only looked up again.
  if (auto* f = tx.attachment<CheckoutFilter>(kCheckoutFilter)) {
    JISHI_ASSIGN_OR_RETURN(bool usable, f->current(tx));
    if (usable) f->add(c.buyer.value, c.token);
  }
  // The orders are listed on the row: the orders table has no index by checkout.
  std::string order_ids;
  for (auto id : c.orders) {
    if (!order_ids.empty()) order_ids += ',';
    order_ids += std::to_string(id.value);
  }
  JISHI_TRY(
      tx.exec("INSERT INTO ord_checkouts (id, buyer_id, token, intent_id, total, currency, "
              "created_at_us, order_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
              {c.id.value, c.buyer.value, c.token, c.intent_id, c.total.minor,
               c.total.currency.code_view(), c.created_at_us, order_ids}));
  return {};
}

namespace {
// "1,2,3": the ids in ascending order.
std::vector<OrderId> parse_order_ids(std::string_view text) {
  std::vector<OrderId> out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view digits = text.substr(0, comma);
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    JISHI_INVARIANT(ec == std::errc() && end == digits.data() + digits.size(),
                    "ord_checkouts.order_ids holds ids");
    out.push_back(OrderId{id});
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end(),
            [](const OrderId& a, const OrderId& b) { return a.value < b.value; });
  return out;
}

Result<std::optional<Checkout>> load_checkout(store::Conn& conn, std::string_view where,
                                              std::initializer_list<store::Param> params) {
  return conn.query_one(
      "SELECT id, buyer_id, token, intent_id, total, currency, "
      "created_at_us, order_ids FROM ord_checkouts WHERE " +
          std::string(where),
      params, [](const store::Row& r) {
        return Checkout{CheckoutId{r.i64(0)},
                        UserId{r.i64(1)},
                        r.str(2),
                        r.i64(3),
                        Money{r.i64(4), stored_currency(r.text(5))},
                        r.i64(6),
                        parse_order_ids(r.text(7))};
      });
}
}  // namespace

Result<std::optional<Checkout>> find_checkout(store::Conn& conn, UserId buyer,
                                              std::string_view token) {
  if (auto* f = conn.attachment<CheckoutFilter>(kCheckoutFilter)) {
    JISHI_ASSIGN_OR_RETURN(bool usable, f->current(conn));
    if (usable && !f->bloom().may_hold(buyer.value, token)) {
      f->counters().skipped.add();
      return std::optional<Checkout>();
    }
    f->counters().looked_up.add();
  }
  return load_checkout(conn, "buyer_id = $1 AND token = $2", {buyer.value, token});
}

Result<std::optional<Checkout>> get_checkout(store::Conn& conn, CheckoutId id) {
  return load_checkout(conn, "id = $1", {id.value});
}

Result<std::optional<Checkout>> implied_intent_checkout(store::Conn& conn, CheckoutId id) {
  return load_checkout(conn,
                       "id = $1 AND intent_id = $1 AND id >= (SELECT implied_from FROM "
                       "ord_listed_intents WHERE id = 1)",
                       {id.value});
}

Result<std::optional<Checkout>> checkout_of_intent(store::Conn& conn, std::int64_t intent_id,
                                                   std::string_view reference) {
  // A checkout's intent is referenced "checkout-<id>" (flows::checkout), so no index by intent
  // is needed; an intent the checkout has since replaced is not its intent any more.
  constexpr std::string_view prefix = "checkout-";
  if (!reference.starts_with(prefix)) return std::optional<Checkout>();
  std::string_view digits = reference.substr(prefix.size());
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::optional<Checkout>();
  JISHI_ASSIGN_OR_RETURN(auto c, load_checkout(conn, "id = $1", {id}));
  if (!c || c->intent_id != intent_id) return std::optional<Checkout>();
  return c;
}

Status set_checkout_intent(store::Tx& tx, CheckoutId id, std::int64_t intent_id) {
  JISHI_ASSIGN_OR_RETURN(auto c, get_checkout(tx, id));
  if (!c) return fail(Code::not_found, "no such checkout");
  JISHI_TRY(
      tx.exec("UPDATE ord_checkouts SET intent_id = $2 WHERE id = $1", {id.value, intent_id}));
  for (auto order : c->orders)
    JISHI_TRY(
        tx.exec("UPDATE ord_orders SET intent_id = $2 WHERE id = $1 AND status = "
                "'pending_payment'",
                {order.value, intent_id}));
  return {};
}

SealedAddress seal_address(const Env& env, const AddressFields& a) {
  return {env.cipher.encrypt("order.ship_to", pack_address(a))};
}

namespace {
// The state every order starts in (insert_order writes the same): the reply to a checkout
// and the order.created event read back later both show it.
void set_initial_state(Order& o) {
  o.status = "pending_payment";
  o.payment_status = "unpaid";
  o.fulfillment_status = "unfulfilled";
}
}  // namespace

Order order_as_inserted(NewOrder&& o, std::int64_t now) {
  Order r;
  r.id = o.id;
  r.checkout = o.checkout;
  r.buyer = o.buyer;
  r.seller = o.seller;
  set_initial_state(r);
  r.currency = o.currency;
  for (const auto& l : o.lines) r.items_total += l.amount;
  r.freight = o.freight;
  r.total = r.items_total + o.freight;
  r.intent_id = o.intent_id;
  r.ship_to = std::move(o.ship_to);
  r.buyer_note = std::move(o.buyer_note);
  r.pay_deadline_us = o.pay_deadline_us;
  r.created_at_us = r.updated_at_us = now;
  r.lines = std::move(o.lines);
  return r;
}

Status insert_order(store::Tx& tx, Env& env, const NewOrder& o) {
  std::int64_t items = 0;
  for (const auto& l : o.lines) {
    JISHI_INVARIANT(l.amount == l.unit_price * l.quantity, "new order line amount");
    items += l.amount;
  }
  std::int64_t now = o.created_at_us ? o.created_at_us : env.clock.now_us();
  SealedAddress own;
  if (!o.sealed) own = seal_address(env, o.ship_to);
  const SealedAddress& sealed = o.sealed ? *o.sealed : own;
  JISHI_TRY(tx.exec(
      "INSERT INTO ord_orders (id, checkout_id, buyer_id, seller_id, status, payment_status, "
      "fulfillment_status, currency, items_total, freight, total, intent_id, recipient_enc, "
      "phone_enc, region_code, detail_enc, buyer_note, pay_deadline_us, created_at_us, "
      "updated_at_us, postal_code, ship_to_enc, lines) VALUES ($1, $2, $3, $4, "
      "'pending_payment', 'unpaid', 'unfulfilled', $5, $6, $7, $8, $9, '', '', $10, '', $11, $12, "
      "$13, $13, $14, $15, $16)",
      {o.id.value, o.checkout.value, o.buyer.value, o.seller.value, o.currency.code_view(), items,
       o.freight, items + o.freight, o.intent_id, o.ship_to.region_code, o.buyer_note,
       o.pay_deadline_us, now, o.ship_to.postal_code, sealed.ship_to, pack_lines(o.lines)}));
  // No "created" event row: the order row is its own (order_events() shows it).
  return {};
}

Result<std::vector<CheckoutId>> buyer_checkouts(store::Conn& conn, UserId buyer, std::int64_t from,
                                                std::int64_t before, std::size_t limit) {
  std::vector<CheckoutId> out;
  auto take = [&](std::int64_t checkout) {
    if (checkout < from || checkout >= before) return;
    if (!out.empty() && out.back().value == checkout) return;  // its next order
    out.push_back(CheckoutId{checkout});
  };
  if (limit == 0) return out;
  JISHI_ASSIGN_OR_RETURN(
      auto above,
      conn.query_one("SELECT checkout_id FROM ord_orders WHERE buyer_id = $1 AND id "
                     ">= $2 ORDER BY id LIMIT 1",
                     {buyer.value, before}, [](const store::Row& r) { return r.i64(0); }));
  if (above) take(*above);
  JISHI_TRY(conn.query(
      "SELECT checkout_id FROM ord_orders WHERE buyer_id = $1 AND id < $2 AND id >= $3 ORDER BY "
      "id DESC",
      {buyer.value, before, from}, [&](const store::Row& r) {
        take(r.i64(0));
        return out.size() < limit;
      }));
  return out;
}

Result<std::int64_t> listed_intents_from(store::Conn& conn) {
  JISHI_ASSIGN_OR_RETURN(auto from,
                         conn.query_one("SELECT from_id FROM ord_listed_intents WHERE id = 1", {},
                                        [](const store::Row& r) { return r.i64(0); }));
  if (!from) return fail(Code::internal, "ord_listed_intents is missing its row");
  return *from;
}

Result<OverdueScan> overdue_checkouts(store::Conn& conn, std::int64_t now_us, std::size_t limit,
                                      std::size_t scan_max, std::int64_t resume) {
  OverdueScan scan;
  JISHI_ASSIGN_OR_RETURN(auto stored,
                         conn.query_one("SELECT below_id FROM ord_unpaid_floor WHERE id = 1", {},
                                        [](const store::Row& r) { return r.i64(0); }));
  if (!stored) return fail(Code::internal, "the unpaid floor is missing (ord_unpaid_floor)");
  scan.stored_floor = scan.floor = *stored;
  bool from_floor = resume <= *stored;
  std::optional<std::int64_t> first_unpaid;
  std::int64_t last = 0;
  std::size_t read = 0;
  bool stopped = false;  // at an order not yet due
  JISHI_TRY(conn.query(
      "SELECT id, checkout_id, status, pay_deadline_us FROM ord_orders WHERE id >= $1 ORDER BY "
      "id LIMIT $2",
      {from_floor ? *stored : resume, static_cast<std::int64_t>(scan_max)},
      [&](const store::Row& r) {
        std::int64_t id = r.i64(0);
        if (r.text(2) == "pending_payment") {
          if (!first_unpaid) first_unpaid = id;
          if (r.i64(3) > now_us) {
            stopped = true;  // the later ones are not due either
            return false;
          }
          CheckoutId c{r.i64(1)};
          if (std::find(scan.checkouts.begin(), scan.checkouts.end(), c) == scan.checkouts.end()) {
            if (scan.checkouts.size() >= limit) {
              scan.resume = id;  // the next walk starts with this one
              return false;
            }
            scan.checkouts.push_back(c);
          }
        }
        last = id;
        ++read;
        return true;
      }));
  if (!stopped && scan.resume == 0 && read == scan_max) scan.resume = last + 1;
  if (from_floor) {
    if (first_unpaid)
      scan.floor = *first_unpaid;
    else if (last != 0)
      scan.floor = last + 1;
  }
  return scan;
}

Status raise_unpaid_floor(store::Tx& tx, std::int64_t floor) {
  JISHI_TRY(
      tx.exec("UPDATE ord_unpaid_floor SET below_id = $1 WHERE id = 1 AND below_id < $1", {floor}));
  return {};
}

Result<Order> order_as_created(store::Conn& conn, OrderId id) {
  JISHI_ASSIGN_OR_RETURN(
      auto found,
      conn.query_one(
          "SELECT checkout_id, buyer_id, seller_id, currency, items_total, freight, "
          "total, intent_id, pay_deadline_us, created_at_us, lines FROM ord_orders WHERE id = $1",
          {id.value}, [&](const store::Row& r) -> Result<Order> {
            Order o;
            o.id = id;
            o.checkout = CheckoutId{r.i64(0)};
            o.buyer = UserId{r.i64(1)};
            o.seller = OrgId{r.i64(2)};
            o.currency = stored_currency(r.str(3));
            o.items_total = r.i64(4);
            o.freight = r.i64(5);
            o.total = r.i64(6);
            o.intent_id = r.i64(7);
            o.pay_deadline_us = r.i64(8);
            o.created_at_us = o.updated_at_us = r.i64(9);
            set_initial_state(o);
            JISHI_TRY(unpack_lines(id.value, r.text(10), o.lines));
            return o;
          }));
  if (!found) return fail(Code::not_found, "no such order");
  if (!*found) return std::unexpected(found->error());
  check_totals(**found);
  return std::move(**found);
}

Result<std::vector<OrderStamp>> seller_orders_from(store::Conn& conn, OrgId seller,
                                                   std::int64_t from, std::size_t limit) {
  std::vector<OrderStamp> out;
  JISHI_TRY(conn.query(
      "SELECT id, created_at_us FROM ord_orders WHERE seller_id = $1 AND id >= $2 ORDER BY id "
      "LIMIT $3",
      {seller.value, from, static_cast<std::int64_t>(limit)}, [&](const store::Row& r) {
        out.push_back(OrderStamp{OrderId{r.i64(0)}, seller, r.i64(1)});
        return true;
      }));
  return out;
}

Result<std::optional<OrderStamp>> order_stamp(store::Conn& conn, OrderId id) {
  return conn.query_one("SELECT seller_id, created_at_us FROM ord_orders WHERE id = $1", {id.value},
                        [&](const store::Row& r) {
                          return OrderStamp{id, OrgId{r.i64(0)}, r.i64(1)};
                        });
}

Result<PaymentShare> payment_share(store::Conn& conn, OrderId id) {
  JISHI_ASSIGN_OR_RETURN(
      auto found,
      conn.query_one("SELECT seller_id, total, lines, status, pay_deadline_us, updated_at_us FROM "
                     "ord_orders WHERE id = $1",
                     {id.value}, [&](const store::Row& r) -> Result<PaymentShare> {
                       PaymentShare share{OrgId{r.i64(0)}, r.i64(1), "",      "",
                                          r.str(3),        r.i64(4), r.i64(5)};
                       // The lines' text as read_order reads it (the first line names it).
                       std::vector<Line> lines;
                       JISHI_TRY(unpack_lines(id.value, r.text(2), lines));
                       if (!lines.empty()) {
                         share.category = std::move(lines.front().category);
                         share.title = std::move(lines.front().title);
                       }
                       return share;
                     }));
  if (!found) return fail(Code::not_found, "no such order");
  return std::move(*found);
}

Result<std::optional<std::int64_t>> intent_of_order(store::Conn& conn, OrderId id) {
  return conn.query_one("SELECT intent_id FROM ord_orders WHERE id = $1", {id.value},
                        [](const store::Row& r) { return r.i64(0); });
}

Result<Order> get_order(store::Conn& conn, const Env& env, OrderId id) {
  std::optional<Result<Order>> out;
  JISHI_TRY(conn.query("SELECT " + std::string(kColumns) + " FROM ord_orders WHERE id = $1",
                       {id.value}, [&](const store::Row& r) {
                         out = read_order(r, env);
                         return false;
                       }));
  if (!out) return fail(Code::not_found, "no such order");
  if (!*out) return *out;
  check_totals(**out);
  return *out;
}

Result<Page<Order>> list_orders(store::Conn& conn, const Env& env, const OrderFilter& f) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM ord_orders WHERE id < $1";
  std::vector<store::Param> params{store::Param(f.before > 0 ? f.before : INT64_MAX)};
  if (f.buyer) {
    params.emplace_back(f.buyer->value);
    sql += " AND buyer_id = $" + std::to_string(params.size());
  }
  if (f.seller) {
    params.emplace_back(f.seller->value);
    sql += " AND seller_id = $" + std::to_string(params.size());
  }
  if (f.status) {
    params.emplace_back(*f.status);
    sql += " AND status = $" + std::to_string(params.size());
  }
  params.emplace_back(static_cast<std::int64_t>(f.limit + 1));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  Page<Order> page;
  std::optional<Error> err;
  JISHI_TRY(conn.query(sql, params, [&](const store::Row& r) {
    auto o = read_order(r, env);
    if (!o) {
      err = o.error();
      return false;
    }
    page.items.push_back(std::move(*o));
    return true;
  }));
  if (err) return std::unexpected(*err);
  trim_page(page, f.limit, [](const Order& o) { return o.id.value; });
  for (auto& o : page.items) check_totals(o);
  return page;
}

Result<Order> mark_paid(store::Tx& tx, Env& env, OrderId id) {
  std::int64_t now = env.clock.now_us();
  return transition(tx, env, id, {"pending_payment"},
                    "status = 'paid', payment_status = 'paid', paid_at_us = $2, updated_at_us = $2",
                    {now}, "paid", std::nullopt, "");
}

Result<Order> mark_cancelled(store::Tx& tx, Env& env, OrderId id, std::string_view reason,
                             std::optional<UserId> actor) {
  std::int64_t now = env.clock.now_us();
  return transition(tx, env, id, {"pending_payment"},
                    "status = 'cancelled', cancel_reason = $2, cancelled_at_us = $3, "
                    "updated_at_us = $3",
                    {reason, now}, "cancelled", actor, reason);
}

Result<Order> mark_shipped(store::Tx& tx, Env& env, OrderId id, std::string_view carrier,
                           std::string_view tracking_no, std::int64_t auto_confirm_at_us,
                           UserId actor) {
  std::int64_t now = env.clock.now_us();
  return transition(tx, env, id, {"paid"},
                    "status = 'shipped', fulfillment_status = 'shipped', carrier = $2, "
                    "tracking_no = $3, shipped_at_us = $4, auto_confirm_at_us = $5, "
                    "updated_at_us = $4",
                    {carrier, tracking_no, now, auto_confirm_at_us}, "shipped", actor,
                    std::string(carrier) + " " + std::string(tracking_no));
}

Result<Order> mark_delivered(store::Tx& tx, Env& env, OrderId id, std::optional<UserId> actor) {
  std::int64_t now = env.clock.now_us();
  return transition(tx, env, id, {"shipped"},
                    "status = 'delivered', fulfillment_status = 'delivered', delivered_at_us = "
                    "$2, updated_at_us = $2",
                    {now}, "delivered", actor, "");
}

Result<Order> mark_completed(store::Tx& tx, Env& env, OrderId id, std::optional<UserId> actor,
                             std::string_view how) {
  std::int64_t now = env.clock.now_us();
  return transition(tx, env, id, {"shipped", "delivered"},
                    "status = 'completed', completed_at_us = $2, updated_at_us = $2", {now},
                    "completed", actor, how);
}

Result<Order> extend_confirm(store::Tx& tx, Env& env, OrderId id, std::int64_t new_at_us,
                             UserId actor) {
  JISHI_ASSIGN_OR_RETURN(auto o, get_order(tx, env, id));
  if (o.confirm_extended)
    return fail(Code::invalid_state, "the receipt deadline has already been extended once");
  return transition(tx, env, id, {"shipped", "delivered"},
                    "auto_confirm_at_us = $2, confirm_extended = 1, updated_at_us = $3",
                    {new_at_us, env.clock.now_us()}, "confirm_extended", actor, "");
}

Result<Order> record_refund(store::Tx& tx, Env& env, OrderId id, std::int64_t amount,
                            std::optional<UserId> actor) {
  JISHI_ASSIGN_OR_RETURN(auto o, get_order(tx, env, id));
  if (amount <= 0 || amount > o.total - o.refunded)
    return fail(Code::validation_failed,
                "the refund must be 1.." + std::to_string(o.total - o.refunded), "/amount");
  bool full = o.refunded + amount == o.total;
  bool shipped = o.status == "shipped" || o.status == "delivered" || o.status == "completed";
  std::string set = "refunded = refunded + $2, payment_status = $3, updated_at_us = $4";
  if (full)
    set += shipped ? ", status = 'closed', fulfillment_status = 'returned'" : ", status = 'closed'";
  return transition(tx, env, id, {"paid", "shipped", "delivered", "completed"}, set,
                    {amount, full ? "refunded" : "partially_refunded", env.clock.now_us()},
                    "refunded", actor, std::to_string(amount));
}

Status append_event(store::Tx& tx, Env& env, OrderId id, std::string_view type,
                    std::optional<UserId> actor, std::string_view detail) {
  std::optional<std::int64_t> actor_id;
  if (actor) actor_id = actor->value;
  JISHI_TRY(
      tx.exec("INSERT INTO ord_events (id, order_id, type, actor_id, detail, at_us) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {env.ids.next(), id.value, type, actor_id, detail, env.clock.now_us()}));
  return {};
}

Result<std::vector<OrderEvent>> order_events(store::Conn& conn, const Order& o) {
  std::vector<OrderEvent> out;
  JISHI_TRY(
      conn.query("SELECT id, type, actor_id, detail, at_us FROM ord_events WHERE order_id "
                 "= $1 ORDER BY id",
                 {o.id.value}, [&](const store::Row& r) {
                   out.push_back({r.i64(0), r.str(1), r.opt_i64(2), r.str(3), r.i64(4)});
                   return true;
                 }));
  // Orders from before 2026-11-29 have a "created" row; newer ones are their own.
  if (out.empty() || out.front().type != "created")
    out.insert(out.begin(), OrderEvent{o.id.value, "created", o.buyer.value, "", o.created_at_us});
  return out;
}

}  // namespace jishi::order
