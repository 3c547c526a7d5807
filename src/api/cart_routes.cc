// Regions, the address book, the cart and checkout: the buyer's way to an order.
#include <boost/json.hpp>
#include <map>

#include "api/common.h"
#include "api/routes.h"
#include "api/trade_json.h"
#include "catalog/catalog.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/money.h"
#include "core/regions.h"
#include "flows/trade.h"
#include "inventory/inventory.h"
#include "order/cart.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;

namespace {

Result<std::int64_t> id_field(FieldReader& f, std::string_view key) {
  auto text = f.string(key, 20);
  if (!f.ok()) return 0;
  auto id = parse_id(text);
  if (!id)
    return fail(Code::validation_failed, std::string(key) + " is a decimal id",
                "/" + std::string(key));
  return *id;
}

Reply regions(Services&, Request& req) {
  std::string parent(req.query_param("parent").value_or(""));
  if (!parent.empty() && !find_region(parent))
    return http::problem(Error(Code::not_found, "no such region", "parent"));
  json::array items;
  for (const Region* r : region_children(parent)) {
    json::object o;
    o["code"] = r->code;
    o["name"] = r->name;
    o["level"] = r->level;
    o["has_children"] = !region_children(r->code).empty();
    items.push_back(std::move(o));
  }
  json::object out;
  out["items"] = std::move(items);
  auto resp = ok_json(out);
  resp.headers.emplace_back("Cache-Control", "public, max-age=86400");
  return resp;
}

Result<order::AddressFields> read_address(FieldReader& f) {
  order::AddressFields a;
  a.recipient = f.string("recipient", limits::recipient_bytes_max);
  a.phone = f.string("phone", 32);
  a.region_code = f.string("region_code", 12);
  a.detail = f.string("detail", limits::address_detail_bytes_max);
  a.postal_code = f.optional_string("postal_code", 12);
  if (!f.ok()) {
    JISHI_TRY(f.finish());
  }
  return a;
}

json::object saved_address_json(const order::Address& a) {
  auto o = address_json(a);
  o["id"] = std::to_string(a.id.value);
  o["is_default"] = a.is_default;
  o["created_at"] = time_json(a.created_at_us);
  o["updated_at"] = time_json(a.updated_at_us);
  return o;
}

Reply list_addresses(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("address books belong to people");
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, order::list_addresses(*lease, s.env, p.user));
  json::object out;
  out["items"] = to_array(list, saved_address_json);
  out["next_cursor"] = nullptr;
  return ok_json(out);
}

Reply create_address(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("address books belong to people");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto a, read_address(f));
  bool make_default = f.optional_bool("is_default").value_or(false);
  API_CHECK(f.finish());
  return Reply::write([&s, user = p.user, a, make_default](store::Tx& tx) -> Response {
    API_ASSIGN(auto created, order::create_address(tx, s.env, user, a, make_default));
    return ok_json(saved_address_json(created), 201);
  });
}

Reply update_address(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("address books belong to people");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto a, read_address(f));
  auto make_default = f.optional_bool("is_default");
  API_CHECK(f.finish());
  return Reply::write([&s, user = p.user, id, a, make_default](store::Tx& tx) -> Response {
    API_ASSIGN(auto updated,
               order::update_address(tx, s.env, user, order::AddressId{id}, a, make_default));
    return ok_json(saved_address_json(updated));
  });
}

Reply delete_address(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("address books belong to people");
  API_ASSIGN(auto id, path_id(req, "id"));
  return Reply::write([&s, user = p.user, id](store::Tx& tx) -> Response {
    API_CHECK(order::delete_address(tx, s.env, user, order::AddressId{id}));
    Response r;
    r.status = 204;
    return r;
  });
}

// The cart as the buyer sees it now: each line with today's price and stock, grouped by seller.
Reply get_cart(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("carts belong to people");
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto lines, order::cart_lines(*lease, p.user));
  std::vector<catalog::SkuId> ids;
  std::vector<std::int64_t> raw;
  for (const auto& l : lines) {
    ids.push_back(catalog::SkuId{l.sku_id});
    raw.push_back(l.sku_id);
  }
  API_ASSIGN(auto offers, catalog::offers(*lease, ids));
  API_ASSIGN(auto stocks, inventory::get_stocks(*lease, raw));
  std::map<std::int64_t, const catalog::SkuOffer*> offer_of;
  for (const auto& o : offers) offer_of[o.sku.value] = &o;
  std::map<std::int64_t, std::int64_t> available;
  for (const auto& st : stocks) available[st.sku_id] = st.available();
  std::vector<std::int64_t> seller_order;
  std::map<std::int64_t, json::array> by_seller;
  std::int64_t total = 0;
  std::optional<Currency> currency;
  for (const auto& l : lines) {
    json::object x;
    x["sku_id"] = std::to_string(l.sku_id);
    x["quantity"] = l.quantity;
    x["price_seen"] = to_json(l.price_seen);
    std::int64_t seller = 0;
    auto it = offer_of.find(l.sku_id);
    if (it != offer_of.end()) {
      const auto& o = *it->second;
      seller = o.seller.value;
      x["product_id"] = std::to_string(o.product.value);
      x["title"] = o.title;
      x["spec_text"] = o.spec_text;
      x["unit_price"] = to_json(o.price);
      x["price_changed"] = o.price != l.price_seen;
      x["sellable"] = o.sellable;
      std::int64_t avail = available.count(l.sku_id) ? available[l.sku_id] : 0;
      x["available"] = avail;
      x["enough_stock"] = avail >= l.quantity;
      if (o.sellable) {
        total += o.price.minor * l.quantity;
        currency = o.price.currency;
      }
    } else {
      x["sellable"] = false;
      x["title"] = nullptr;
    }
    if (!by_seller.count(seller)) seller_order.push_back(seller);
    by_seller[seller].push_back(std::move(x));
  }
  json::array groups;
  for (auto seller : seller_order) {
    json::object g;
    g["seller_org_id"] = seller ? json::value(std::to_string(seller)) : json::value(nullptr);
    g["lines"] = std::move(by_seller[seller]);
    g["freight"] = currency ? to_json(Money{s.trade.freight_per_order, *currency}) : nullptr;
    groups.push_back(std::move(g));
  }
  json::object out;
  out["groups"] = std::move(groups);
  out["items_total"] = currency ? to_json(Money{total, *currency}) : nullptr;
  out["line_count"] = static_cast<std::int64_t>(lines.size());
  return ok_json(out);
}

// The current offer for a SKU that can be carted.
Result<catalog::SkuOffer> cartable(Services& s, std::int64_t sku) {
  auto lease = s.store.reads().lease();
  std::vector<catalog::SkuId> ids{catalog::SkuId{sku}};
  JISHI_ASSIGN_OR_RETURN(auto offers, catalog::offers(*lease, ids));
  if (offers.empty()) return fail(Code::not_found, "no such SKU", "/sku_id");
  if (!offers.front().sellable)
    return fail(
        Code::invalid_state,
        "\"" + offers.front().title + "\" is not for sale (" + offers.front().product_status + ")",
        "/sku_id");
  return offers.front();
}

Reply add_cart_item(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("carts belong to people");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto sku, id_field(f, "sku_id"));
  auto quantity = f.integer("quantity", 1, limits::order_line_quantity_max);
  API_CHECK(f.finish());
  API_ASSIGN(auto offer, cartable(s, sku));
  return Reply::write([&s, user = p.user, sku, quantity, price = offer.price](store::Tx& tx) {
    API_ASSIGN(auto line, order::add_to_cart(tx, s.env, user, sku, quantity, price));
    json::object o;
    o["sku_id"] = std::to_string(line.sku_id);
    o["quantity"] = line.quantity;
    o["price_seen"] = to_json(line.price_seen);
    return ok_json(o, 201);
  });
}

Reply set_cart_item(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("carts belong to people");
  API_ASSIGN(auto sku, path_id(req, "sku_id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto quantity = f.integer("quantity", 0, limits::order_line_quantity_max);
  API_CHECK(f.finish());
  Money price;
  if (quantity > 0) {
    API_ASSIGN(auto offer, cartable(s, sku));
    price = offer.price;  // the buyer has now seen today's price
  }
  return Reply::write([&s, user = p.user, sku, quantity, price](store::Tx& tx) -> Response {
    API_ASSIGN(auto line, order::set_cart_quantity(tx, s.env, user, sku, quantity, price));
    if (!line) {
      Response r;
      r.status = 204;
      return r;
    }
    json::object o;
    o["sku_id"] = std::to_string(line->sku_id);
    o["quantity"] = line->quantity;
    o["price_seen"] = to_json(line->price_seen);
    return ok_json(o);
  });
}

Reply delete_cart_item(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("carts belong to people");
  API_ASSIGN(auto sku, path_id(req, "sku_id"));
  return Reply::write([user = p.user, sku](store::Tx& tx) -> Response {
    std::vector<std::int64_t> one{sku};
    API_CHECK(order::remove_from_cart(tx, user, one));
    Response r;
    r.status = 204;
    return r;
  });
}

Reply create_checkout(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("checkouts are made by people");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  flows::CheckoutRequest c;
  c.buyer = p.user;
  c.token = f.string("checkout_token", limits::checkout_token_bytes_max);
  if (auto a = f.optional_string("address_id", 20)) {
    auto id = parse_id(*a);
    if (!id)
      return http::problem(
          Error(Code::validation_failed, "address_id is a decimal id", "/address_id"));
    c.address_id = order::AddressId{*id};
  }
  if (const auto* a = f.value("address", false)) {
    if (!a->is_object())
      return http::problem(Error(Code::validation_failed, "address is an object", "/address"));
    FieldReader af(*a, "/address");
    API_ASSIGN(auto fields, read_address(af));
    API_CHECK(af.finish());
    c.address = std::move(fields);
  }
  c.buyer_note = f.optional_string("buyer_note", limits::buyer_note_bytes_max);
  c.from_cart = f.optional_bool("from_cart").value_or(false);
  if (const auto* ls = f.value("lines", false)) {
    if (!ls->is_array() || ls->as_array().empty() ||
        ls->as_array().size() > limits::checkout_lines_max)
      return http::problem(
          Error(Code::validation_failed,
                "lines is an array of 1.." + std::to_string(limits::checkout_lines_max) + " lines",
                "/lines"));
    std::size_t i = 0;
    for (const auto& v : ls->as_array()) {
      std::string at = "/lines/" + std::to_string(i++);
      if (!v.is_object())
        return http::problem(Error(Code::validation_failed, "a line is an object", at));
      FieldReader lf(v, at);
      flows::CheckoutLine line;
      API_ASSIGN(line.sku_id, id_field(lf, "sku_id"));
      line.quantity = lf.integer("quantity", INT64_MIN / 2, INT64_MAX / 2);
      if (const auto* price = lf.value("unit_price", false)) {
        auto m = money_from_json(*price, at + "/unit_price");
        if (!m) return http::problem(m.error());
        line.expected_unit_price = *m;
      }
      API_CHECK(lf.finish());
      c.lines.push_back(line);
    }
  }
  if (const auto* skus = f.value("cart_sku_ids", false)) {
    if (!skus->is_array() || skus->as_array().size() > limits::cart_lines_max)
      return http::problem(
          Error(Code::validation_failed, "cart_sku_ids is an array of SKU ids", "/cart_sku_ids"));
    for (const auto& v : skus->as_array()) {
      auto id = v.is_string() ? parse_id(v.as_string()) : std::nullopt;
      if (!id)
        return http::problem(
            Error(Code::validation_failed, "cart_sku_ids holds decimal ids", "/cart_sku_ids"));
      c.cart_skus.push_back(*id);
    }
  }
  API_CHECK(f.finish());
  if (c.from_cart == !c.lines.empty())
    return http::problem(
        Error(Code::validation_failed, "give either lines or from_cart: true", "/lines"));
  if (c.address_id && c.address)
    return http::problem(
        Error(Code::validation_failed, "give either address_id or address", "/address"));
  // The address is validated and sealed here, on the I/O thread, not in the writer.
  flows::prepare_checkout(s.env, c);
  return Reply::write([&s, c = std::move(c)](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, flows::checkout(tx, s.env, s.trade, c));
    int status = r.replayed ? 200 : 201;
    auto done = std::make_shared<const flows::CheckoutResult>(std::move(r));
    return ok_json_text_later([done] { return checkout_json_text(*done); }, status);
  });
}

Reply get_checkout(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto r, flows::load_checkout(*lease, s.env, order::CheckoutId{id}));
  if (r.checkout.buyer != p.user || !p.is_user())
    return http::problem(Error(Code::not_found, "no such checkout"));
  return ok_json(checkout_json(r));
}

Reply renew_checkout_intent(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("checkouts are paid by people");
  API_ASSIGN(auto id, path_id(req, "id"));
  return Reply::write([&s, id, user = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, flows::renew_intent(tx, s.env, s.trade, order::CheckoutId{id}, user));
    return ok_json(checkout_json(r));
  });
}

}  // namespace

void add_cart_routes(http::Router& router, Services& s) {
  router.add(Method::get, "/api/v1/regions", [&s](Request& r) { return regions(s, r); });
  router.add(Method::get, "/api/v1/me/addresses",
             [&s](Request& r) { return list_addresses(s, r); });
  router.add(Method::post, "/api/v1/me/addresses",
             [&s](Request& r) { return create_address(s, r); });
  router.add(Method::put, "/api/v1/me/addresses/{id}",
             [&s](Request& r) { return update_address(s, r); });
  router.add(Method::delete_, "/api/v1/me/addresses/{id}",
             [&s](Request& r) { return delete_address(s, r); });
  router.add(Method::get, "/api/v1/cart", [&s](Request& r) { return get_cart(s, r); });
  router.add(Method::post, "/api/v1/cart/items", [&s](Request& r) { return add_cart_item(s, r); });
  router.add(Method::put, "/api/v1/cart/items/{sku_id}",
             [&s](Request& r) { return set_cart_item(s, r); });
  router.add(Method::delete_, "/api/v1/cart/items/{sku_id}",
             [&s](Request& r) { return delete_cart_item(s, r); });
  router.add(Method::post, "/api/v1/checkouts", [&s](Request& r) { return create_checkout(s, r); });
  router.add(Method::get, "/api/v1/checkouts/{id}",
             [&s](Request& r) { return get_checkout(s, r); });
  router.add(Method::post, "/api/v1/checkouts/{id}/renew-intent",
             [&s](Request& r) { return renew_checkout_intent(s, r); });
}

}  // namespace jishi::api
