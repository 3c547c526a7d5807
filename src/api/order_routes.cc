// Orders for buyers, sellers, operators and regulators; the lifecycle actions; after-sales;
// ratings; and the seller's stock.
#include <boost/json.hpp>

#include <algorithm>

#include "api/common.h"
#include "api/routes.h"
#include "api/trade_json.h"
#include "catalog/catalog.h"
#include "core/currency.h"
#include "core/json.h"
#include "core/limits.h"
#include "flows/internal.h"
#include "flows/trade.h"
#include "inventory/inventory.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;

namespace {

constexpr std::array<std::string_view, 7> kStatuses{
    "pending_payment", "paid", "shipped", "delivered", "completed", "cancelled", "closed"};

Result<std::optional<std::string>> status_param(const Request& req) {
  auto s = req.query_param("status");
  if (!s) return std::optional<std::string>{};
  for (auto k : kStatuses)
    if (*s == k) return std::optional<std::string>(std::string(*s));
  return fail(Code::validation_failed,
              "status is pending_payment, paid, shipped, delivered, completed, cancelled or closed",
              "status");
}

Response list_with(Services& s, const Request& req, order::OrderFilter f) {
  auto st = status_param(req);
  if (!st) return http::problem(st.error());
  f.status = *st;
  auto page = read_page(req);
  if (!page) return http::problem(page.error());
  f.before = page->cursor.value_or(0);
  f.limit = page->limit;
  auto lease = s.store.reads().lease();
  auto list = order::list_orders(*lease, s.env, f);
  if (!list) return http::problem(list.error());
  return ok_json(page_json(to_array(list->items, order_json), list->next_cursor));
}

Reply my_orders(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("buyers are people");
  order::OrderFilter f;
  f.buyer = p.user;
  return list_with(s, req, f);
}

Reply org_orders(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  OrgId org{id};
  if (!acts_for_seller(p, org, "read") && !is_operator(p) && !is_regulator(p))
    return http::problem(Error(Code::not_found, "no such organisation"));
  order::OrderFilter f;
  f.seller = org;
  return list_with(s, req, f);
}

// The seller center's after-sales queue: requests on the organisation's orders.
Reply org_after_sales(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  OrgId org{id};
  if (!acts_for_seller(p, org, "read") && !is_operator(p) && !is_regulator(p))
    return http::problem(Error(Code::not_found, "no such organisation"));
  std::optional<std::string> status;
  if (auto st = req.query_param("status")) {
    static constexpr std::string_view kAfterSaleStatuses[] = {
        "open", "requested", "approved", "returning", "refunded", "rejected", "cancelled"};
    if (std::find(std::begin(kAfterSaleStatuses), std::end(kAfterSaleStatuses), *st) ==
        std::end(kAfterSaleStatuses))
      return http::problem(Error(Code::validation_failed,
                                 "status is open, requested, approved, returning, refunded, "
                                 "rejected or cancelled",
                                 "status"));
    status = std::string(*st);
  }
  API_ASSIGN(auto page, read_page(req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, order::list_seller_after_sales(*lease, org, status, page.cursor.value_or(0),
                                                       page.limit));
  json::array items;
  for (const auto& a : list.items) {
    auto currency = currency_from_code(a.currency);
    if (!currency) return http::problem(currency.error());
    auto x = after_sale_json(a.sale, *currency);
    x["order_status"] = a.order_status;
    items.push_back(std::move(x));
  }
  return ok_json(page_json(std::move(items), list.next_cursor));
}

Reply all_orders(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p) && !is_regulator(p))
    return forbidden("all orders are for operators and regulators");
  order::OrderFilter f;
  if (auto b = req.query_param("buyer_id")) {
    auto id = parse_id(*b);
    if (!id) return http::problem(Error(Code::validation_failed, "buyer_id is an id", "buyer_id"));
    f.buyer = UserId{*id};
  }
  if (auto v = req.query_param("seller_org_id")) {
    auto id = parse_id(*v);
    if (!id)
      return http::problem(
          Error(Code::validation_failed, "seller_org_id is an id", "seller_org_id"));
    f.seller = OrgId{*id};
  }
  return list_with(s, req, f);
}

bool may_read(const Principal& p, const order::Order& o) {
  return (p.is_user() && p.user == o.buyer) || acts_for_seller(p, o.seller, "read") ||
         is_operator(p) || is_regulator(p);
}

Reply get_order(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  auto o = order::get_order(*lease, s.env, order::OrderId{id});
  if (!o || !may_read(p, *o)) return http::problem(Error(Code::not_found, "no such order"));
  auto x = order_json(*o);
  API_ASSIGN(auto events, order::order_events(*lease, *o));
  json::array timeline;
  for (const auto& e : events) {
    json::object y;
    y["type"] = e.type;
    y["detail"] = e.detail;
    y["actor_id"] = id_or_null(e.actor_id);
    y["at"] = time_json(e.at_us);
    timeline.push_back(std::move(y));
  }
  x["timeline"] = std::move(timeline);
  API_ASSIGN(auto sales, order::after_sales_of(*lease, o->id));
  x["after_sales"] =
      to_array(sales, [&](const auto& a) { return after_sale_json(a, o->currency); });
  API_ASSIGN(auto rating, order::get_rating(*lease, o->id));
  x["rating"] = rating ? json::value(rating_json(*rating)) : json::value(nullptr);
  return ok_json(x);
}

// Buyer actions: a writer command over the flow, answering the order.
template <class F>
Reply buyer_action(Services& s, Request& req, F flow) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("only the buyer does this");
  API_ASSIGN(auto id, path_id(req, "id"));
  std::string reason;
  if (!req.body.empty()) {
    API_ASSIGN(auto body, read_json(req));
    FieldReader f(body);
    reason = f.optional_string("reason", limits::reason_bytes_max).value_or("");
    API_CHECK(f.finish());
  }
  return Reply::write([&s, flow, id, user = p.user, reason](store::Tx& tx) -> Response {
    API_ASSIGN(auto o, flow(tx, order::OrderId{id}, user, reason));
    return ok_json(order_json(o));
  });
}

// The seller of an order, found on a read connection, must be acted for by p.
Result<OrgId> seller_of(Services& s, const Principal& p, order::OrderId id) {
  auto lease = s.store.reads().lease();
  auto o = order::get_order(*lease, s.env, id);
  if (!o) return fail(Code::not_found, "no such order");
  if (!acts_for_seller(p, o->seller, "write")) {
    if (may_read(p, *o)) return fail(Code::forbidden, "only the seller does this");
    return fail(Code::not_found, "no such order");
  }
  return o->seller;
}

bool code_like(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

Reply ship(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto carrier = f.string("carrier", limits::carrier_code_bytes_max);
  auto tracking = f.string("tracking_no", limits::tracking_number_bytes_max);
  API_CHECK(f.finish());
  if (!code_like(carrier))
    return http::problem(
        Error(Code::validation_failed, "carrier is a code such as SF, YTO", "/carrier"));
  if (!code_like(tracking))
    return http::problem(
        Error(Code::validation_failed, "tracking_no has letters, digits, - and _", "/tracking_no"));
  API_ASSIGN(auto seller, seller_of(s, p, order::OrderId{id}));
  return Reply::write(
      [&s, id, seller, actor = p.user, carrier, tracking](store::Tx& tx) -> Response {
        API_ASSIGN(auto o, flows::ship(tx, s.env, s.trade, order::OrderId{id}, seller, actor,
                                       carrier, tracking));
        return ok_json(order_json(o));
      });
}

Reply deliver(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto seller, seller_of(s, p, order::OrderId{id}));
  return Reply::write([&s, id, seller, actor = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto o, flows::mark_delivered(tx, s.env, order::OrderId{id}, seller, actor));
    return ok_json(order_json(o));
  });
}

Reply request_return(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("only the buyer asks for a return");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto reason = f.string("reason", limits::reason_bytes_max);
  std::optional<std::int64_t> amount;
  if (const auto* a = f.value("amount", false)) {
    auto m = money_from_json(*a, "/amount");
    if (!m) return http::problem(m.error());
    amount = m->minor;
  }
  API_CHECK(f.finish());
  return Reply::write([&s, id, user = p.user, reason, amount](store::Tx& tx) -> Response {
    std::int64_t want = 0;
    if (amount) {
      want = *amount;
    } else {
      auto o = order::get_order(tx, s.env, order::OrderId{id});
      if (!o || o->buyer != user) return http::problem(Error(Code::not_found, "no such order"));
      want = o->total - o->refunded;
    }
    API_ASSIGN(auto a, flows::request_return(tx, s.env, order::OrderId{id}, user, want, reason));
    API_ASSIGN(auto o, order::get_order(tx, s.env, a.order));
    return ok_json(after_sale_json(a, o.currency), 201);
  });
}

// Seller or buyer action on an after-sales request.
template <class F>
Reply after_sale_action(Services& s, Request& req, bool seller_side, F flow) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  json::value body = json::object{};
  if (!req.body.empty()) {
    API_ASSIGN(body, read_json(req));
  }
  std::optional<OrgId> seller;
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(auto a, order::get_after_sale(*lease, order::AfterSaleId{id}));
    auto o = order::get_order(*lease, s.env, a.order);
    if (!o) return http::problem(Error(Code::not_found, "no such after-sales request"));
    if (seller_side) {
      if (!acts_for_seller(p, o->seller, "write"))
        return http::problem(Error(Code::not_found, "no such after-sales request"));
      seller = o->seller;
    } else if (!p.is_user() || p.user != o->buyer) {
      return http::problem(Error(Code::not_found, "no such after-sales request"));
    }
  }
  FieldReader f(body);
  auto args = flow.read(f);
  API_CHECK(f.finish());
  return Reply::write([&s, id, p, seller, flow, args](store::Tx& tx) -> Response {
    API_ASSIGN(auto a, flow.run(tx, s.env, s.trade, order::AfterSaleId{id}, p, seller, args));
    API_ASSIGN(auto o, order::get_order(tx, s.env, a.order));
    return ok_json(after_sale_json(a, o.currency));
  });
}

struct NoArgs {};
struct Approve {
  NoArgs read(FieldReader&) const { return {}; }
  Result<order::AfterSale> run(store::Tx& tx, Env& env, const flows::TradeConfig&,
                               order::AfterSaleId id, const Principal& p,
                               std::optional<OrgId> seller, NoArgs) const {
    return flows::approve_return(tx, env, id, *seller, p.user);
  }
};
struct Reject {
  std::string read(FieldReader& f) const { return f.string("reason", limits::reason_bytes_max); }
  Result<order::AfterSale> run(store::Tx& tx, Env& env, const flows::TradeConfig& cfg,
                               order::AfterSaleId id, const Principal& p,
                               std::optional<OrgId> seller, const std::string& reason) const {
    return flows::reject_return(tx, env, cfg, id, *seller, p.user, reason);
  }
};
struct Receive {
  NoArgs read(FieldReader&) const { return {}; }
  Result<order::AfterSale> run(store::Tx& tx, Env& env, const flows::TradeConfig&,
                               order::AfterSaleId id, const Principal& p,
                               std::optional<OrgId> seller, NoArgs) const {
    return flows::receive_return(tx, env, id, *seller, p.user);
  }
};
struct ShipBack {
  std::pair<std::string, std::string> read(FieldReader& f) const {
    std::pair<std::string, std::string> a{
        f.string("carrier", limits::carrier_code_bytes_max),
        f.string("tracking_no", limits::tracking_number_bytes_max)};
    if (f.ok() && !code_like(a.first))
      f.set_error(Error(Code::validation_failed, "carrier is a code such as SF, YTO", "/carrier"));
    if (f.ok() && !code_like(a.second))
      f.set_error(Error(Code::validation_failed, "tracking_no has letters, digits, - and _",
                        "/tracking_no"));
    return a;
  }
  Result<order::AfterSale> run(store::Tx& tx, Env& env, const flows::TradeConfig&,
                               order::AfterSaleId id, const Principal& p, std::optional<OrgId>,
                               const std::pair<std::string, std::string>& a) const {
    return flows::ship_return(tx, env, id, p.user, a.first, a.second);
  }
};
struct Withdraw {
  NoArgs read(FieldReader&) const { return {}; }
  Result<order::AfterSale> run(store::Tx& tx, Env& env, const flows::TradeConfig& cfg,
                               order::AfterSaleId id, const Principal& p, std::optional<OrgId>,
                               NoArgs) const {
    return flows::withdraw_return(tx, env, cfg, id, p.user);
  }
};

Reply rate(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("only the buyer rates an order");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  order::Scores sc;
  sc.described = static_cast<int>(f.integer("described", 1, 5));
  sc.service = static_cast<int>(f.integer("service", 1, 5));
  sc.shipping = static_cast<int>(f.integer("shipping", 1, 5));
  auto text = f.optional_string("text", limits::rating_text_bytes_max).value_or("");
  API_CHECK(f.finish());
  return Reply::write([&s, id, user = p.user, sc, text](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, flows::rate_order(tx, s.env, order::OrderId{id}, user, sc, text));
    return ok_json(rating_json(r.rating), r.previous ? 200 : 201);
  });
}

Reply seller_ratings(Services& s, Request& req) {
  API_ASSIGN(auto id, path_id(req, "id"));
  OrgId org{id};
  API_ASSIGN(auto page, read_page(req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto sum, order::seller_summary(*lease, org));
  API_ASSIGN(auto list, order::seller_ratings(*lease, org, page.cursor.value_or(0), page.limit));
  auto out = page_json(to_array(list.items, rating_json), list.next_cursor);
  json::object summary;
  summary["count"] = sum.count;
  auto avg = [&](std::int64_t total) {
    return sum.count ? json::value(static_cast<double>(total * 100 / sum.count) / 100.0)
                     : json::value(nullptr);
  };
  summary["described"] = avg(sum.described_sum);
  summary["service"] = avg(sum.service_sum);
  summary["shipping"] = avg(sum.shipping_sum);
  out["summary"] = std::move(summary);
  return ok_json(out);
}

// The seller owning a SKU, if p acts for it.
Result<OrgId> sku_seller(Services& s, const Principal& p, std::int64_t sku,
                         std::string_view scope) {
  auto lease = s.store.reads().lease();
  std::vector<catalog::SkuId> ids{catalog::SkuId{sku}};
  JISHI_ASSIGN_OR_RETURN(auto offers, catalog::offers(*lease, ids));
  if (offers.empty()) return fail(Code::not_found, "no such SKU");
  if (!acts_for_seller(p, offers.front().seller, scope) &&
      !(scope == "read" && (is_operator(p) || is_regulator(p))))
    return fail(Code::forbidden, "the SKU belongs to another seller");
  return offers.front().seller;
}

json::object stock_json(const inventory::Stock& st) {
  json::object o;
  o["sku_id"] = std::to_string(st.sku_id);
  o["on_hand"] = st.on_hand;
  o["reserved"] = st.reserved;
  o["available"] = st.available();
  o["updated_at"] =
      st.updated_at_us ? json::value(time_json(st.updated_at_us)) : json::value(nullptr);
  return o;
}

Reply get_stock(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto sku, path_id(req, "id"));
  API_ASSIGN(auto seller, sku_seller(s, p, sku, "read"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto st, inventory::get_stock(*lease, sku));
  return ok_json(stock_json(st.value_or(inventory::Stock{sku, seller, 0, 0, 0})));
}

Reply put_stock(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto sku, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto on_hand = f.integer("on_hand", INT64_MIN / 2, INT64_MAX / 2);
  auto note = f.optional_string("note", limits::reason_bytes_max).value_or("");
  API_CHECK(f.finish());
  API_ASSIGN(auto seller, sku_seller(s, p, sku, "write"));
  return Reply::write([&s, sku, seller, on_hand, note, actor = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto change, inventory::set_on_hand(tx, s.env, sku, seller, on_hand, actor, note));
    std::vector<inventory::StockChange> changes{change};
    API_CHECK(flows::internal::follow_stock(tx, changes));
    API_ASSIGN(auto st, inventory::get_stock(tx, sku));
    return ok_json(stock_json(*st));
  });
}

Reply stock_movements(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto sku, path_id(req, "id"));
  API_ASSIGN(auto seller, sku_seller(s, p, sku, "read"));
  (void)seller;
  return list_response(
      s, req,
      [sku](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return inventory::movements(c, sku, cursor, limit);
      },
      [](const inventory::Movement& m) {
        json::object o;
        o["id"] = std::to_string(m.id);
        o["kind"] = m.kind;
        o["delta_on_hand"] = m.delta_on_hand;
        o["delta_reserved"] = m.delta_reserved;
        o["reference"] = m.reference ? json::value(*m.reference) : json::value(nullptr);
        o["at"] = time_json(m.at_us);
        return o;
      });
}

}  // namespace

void add_order_routes(http::Router& router, Services& s) {
  router.add(Method::get, "/api/v1/me/orders", [&s](Request& r) { return my_orders(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/orders",
             [&s](Request& r) { return org_orders(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/after-sales",
             [&s](Request& r) { return org_after_sales(s, r); });
  router.add(Method::get, "/api/v1/orders", [&s](Request& r) { return all_orders(s, r); });
  router.add(Method::get, "/api/v1/orders/{id}", [&s](Request& r) { return get_order(s, r); });
  router.add(Method::post, "/api/v1/orders/{id}/cancel", [&s](Request& r) {
    return buyer_action(s, r,
                        [&s](store::Tx& tx, order::OrderId id, UserId u, const std::string& why) {
                          return flows::cancel_order(tx, s.env, s.trade, id, u,
                                                     why.empty() ? "cancelled by buyer" : why);
                        });
  });
  router.add(Method::post, "/api/v1/orders/{id}/confirm", [&s](Request& r) {
    return buyer_action(s, r, [&s](store::Tx& tx, order::OrderId id, UserId u, const std::string&) {
      return flows::confirm_receipt(tx, s.env, s.trade, id, u);
    });
  });
  router.add(Method::post, "/api/v1/orders/{id}/extend-receipt", [&s](Request& r) {
    return buyer_action(s, r, [&s](store::Tx& tx, order::OrderId id, UserId u, const std::string&) {
      return flows::extend_receipt(tx, s.env, s.trade, id, u);
    });
  });
  router.add(Method::post, "/api/v1/orders/{id}/refund", [&s](Request& r) {
    return buyer_action(s, r,
                        [&s](store::Tx& tx, order::OrderId id, UserId u, const std::string& why) {
                          return flows::refund_unshipped(
                              tx, s.env, id, u, why.empty() ? "refund before shipment" : why);
                        });
  });
  router.add(Method::post, "/api/v1/orders/{id}/ship", [&s](Request& r) { return ship(s, r); });
  router.add(Method::post, "/api/v1/orders/{id}/deliver",
             [&s](Request& r) { return deliver(s, r); });
  router.add(Method::post, "/api/v1/orders/{id}/returns",
             [&s](Request& r) { return request_return(s, r); });
  router.add(Method::post, "/api/v1/after-sales/{id}/approve",
             [&s](Request& r) { return after_sale_action(s, r, true, Approve{}); });
  router.add(Method::post, "/api/v1/after-sales/{id}/reject",
             [&s](Request& r) { return after_sale_action(s, r, true, Reject{}); });
  router.add(Method::post, "/api/v1/after-sales/{id}/receive",
             [&s](Request& r) { return after_sale_action(s, r, true, Receive{}); });
  router.add(Method::post, "/api/v1/after-sales/{id}/ship-back",
             [&s](Request& r) { return after_sale_action(s, r, false, ShipBack{}); });
  router.add(Method::post, "/api/v1/after-sales/{id}/withdraw",
             [&s](Request& r) { return after_sale_action(s, r, false, Withdraw{}); });
  router.add(Method::post, "/api/v1/orders/{id}/rating", [&s](Request& r) { return rate(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/ratings",
             [&s](Request& r) { return seller_ratings(s, r); });
  router.add(Method::get, "/api/v1/skus/{id}/stock", [&s](Request& r) { return get_stock(s, r); });
  router.add(Method::put, "/api/v1/skus/{id}/stock", [&s](Request& r) { return put_stock(s, r); });
  router.add(Method::get, "/api/v1/skus/{id}/stock/movements",
             [&s](Request& r) { return stock_movements(s, r); });
}

}  // namespace jishi::api
