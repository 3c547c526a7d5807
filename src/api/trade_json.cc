#include "api/trade_json.h"

#include "api/common.h"
#include "api/pay_json.h"
#include "core/money.h"

namespace jishi::api {

namespace json = boost::json;

namespace {
json::value money(std::int64_t amount, const Currency& c) {
  return to_json(Money{amount, c});
}
}  // namespace

json::object address_json(const order::AddressFields& a) {
  json::object o;
  o["recipient"] = a.recipient;
  o["phone"] = a.phone;
  o["region_code"] = a.region_code;
  o["region"] = order::region_path(a.region_code);
  o["detail"] = a.detail;
  o["postal_code"] = json_or_null(a.postal_code);
  return o;
}

json::object order_json(const order::Order& o) {
  json::object x;
  x.reserve(28);  // the keys below: the table is sized once, not grown and rehashed
  x["id"] = std::to_string(o.id.value);
  x["checkout_id"] = std::to_string(o.checkout.value);
  x["buyer_id"] = std::to_string(o.buyer.value);
  x["seller_org_id"] = std::to_string(o.seller.value);
  x["status"] = o.status;
  x["payment_status"] = o.payment_status;
  x["fulfillment_status"] = o.fulfillment_status;
  x["items_total"] = money(o.items_total, o.currency);
  x["freight"] = money(o.freight, o.currency);
  x["total"] = money(o.total, o.currency);
  x["refunded"] = money(o.refunded, o.currency);
  x["payment_intent_id"] = std::to_string(o.intent_id);
  x["ship_to"] = address_json(o.ship_to);
  x["buyer_note"] = json_or_null(o.buyer_note);
  x["carrier"] = json_or_null(o.carrier);
  x["tracking_no"] = json_or_null(o.tracking_no);
  x["cancel_reason"] = json_or_null(o.cancel_reason);
  x["pay_deadline"] = time_json(o.pay_deadline_us);
  x["paid_at"] = time_or_null(o.paid_at_us);
  x["shipped_at"] = time_or_null(o.shipped_at_us);
  x["delivered_at"] = time_or_null(o.delivered_at_us);
  x["auto_confirm_at"] = time_or_null(o.auto_confirm_at_us);
  x["confirm_extended"] = o.confirm_extended;
  x["completed_at"] = time_or_null(o.completed_at_us);
  x["cancelled_at"] = time_or_null(o.cancelled_at_us);
  x["created_at"] = time_json(o.created_at_us);
  x["updated_at"] = time_json(o.updated_at_us);
  json::array lines;
  lines.reserve(o.lines.size());
  for (const auto& l : o.lines) {
    json::object y;
    y.reserve(8);
    y["line_no"] = l.line_no;
    y["sku_id"] = std::to_string(l.sku_id);
    y["product_id"] = std::to_string(l.product_id);
    y["title"] = l.title;
    y["spec_text"] = l.spec_text;
    y["unit_price"] = money(l.unit_price, o.currency);
    y["quantity"] = l.quantity;
    y["amount"] = money(l.amount, o.currency);
    lines.push_back(std::move(y));
  }
  x["lines"] = std::move(lines);
  return x;
}

json::object after_sale_json(const order::AfterSale& a, const Currency& c) {
  json::object x;
  x["id"] = std::to_string(a.id.value);
  x["order_id"] = std::to_string(a.order.value);
  x["kind"] = a.kind;
  x["status"] = a.status;
  x["amount"] = money(a.amount, c);
  x["reason"] = a.reason;
  x["reject_reason"] = json_or_null(a.reject_reason);
  x["return_carrier"] = json_or_null(a.return_carrier);
  x["return_tracking_no"] = json_or_null(a.return_tracking_no);
  x["payment_refund_id"] = id_or_null(a.pay_refund_id);
  x["created_at"] = time_json(a.created_at_us);
  x["updated_at"] = time_json(a.updated_at_us);
  return x;
}

json::object rating_json(const order::Rating& r) {
  json::object x;
  x["order_id"] = std::to_string(r.order.value);
  x["seller_org_id"] = std::to_string(r.seller.value);
  x["described"] = r.scores.described;
  x["service"] = r.scores.service;
  x["shipping"] = r.scores.shipping;
  x["text"] = r.text;
  x["editable_until"] = time_json(r.editable_until_us);
  x["created_at"] = time_json(r.created_at_us);
  x["updated_at"] = time_json(r.updated_at_us);
  return x;
}

namespace {

// Keep in step with address_json and order_json (TradeJson.CheckoutTextAndTreeAgree).
void write_order(JsonWriter& w, const order::Order& o) {
  const Currency& c = o.currency;
  w.begin_object();
  w.key("id").integer_string(o.id.value);
  w.key("checkout_id").integer_string(o.checkout.value);
  w.key("buyer_id").integer_string(o.buyer.value);
  w.key("seller_org_id").integer_string(o.seller.value);
  w.key("status").string(o.status);
  w.key("payment_status").string(o.payment_status);
  w.key("fulfillment_status").string(o.fulfillment_status);
  w.key("items_total");
  write_money(w, o.items_total, c);
  w.key("freight");
  write_money(w, o.freight, c);
  w.key("total");
  write_money(w, o.total, c);
  w.key("refunded");
  write_money(w, o.refunded, c);
  w.key("payment_intent_id").integer_string(o.intent_id);
  w.key("ship_to").begin_object();
  w.key("recipient").string(o.ship_to.recipient);
  w.key("phone").string(o.ship_to.phone);
  w.key("region_code").string(o.ship_to.region_code);
  w.key("region").string(order::region_path(o.ship_to.region_code));
  w.key("detail").string(o.ship_to.detail);
  w.key("postal_code").string_or_null(o.ship_to.postal_code);
  w.end_object();
  w.key("buyer_note").string_or_null(o.buyer_note);
  w.key("carrier").string_or_null(o.carrier);
  w.key("tracking_no").string_or_null(o.tracking_no);
  w.key("cancel_reason").string_or_null(o.cancel_reason);
  w.key("pay_deadline").string(time_json(o.pay_deadline_us));
  w.key("paid_at");
  write_time_or_null(w, o.paid_at_us);
  w.key("shipped_at");
  write_time_or_null(w, o.shipped_at_us);
  w.key("delivered_at");
  write_time_or_null(w, o.delivered_at_us);
  w.key("auto_confirm_at");
  write_time_or_null(w, o.auto_confirm_at_us);
  w.key("confirm_extended").boolean(o.confirm_extended);
  w.key("completed_at");
  write_time_or_null(w, o.completed_at_us);
  w.key("cancelled_at");
  write_time_or_null(w, o.cancelled_at_us);
  w.key("created_at").string(time_json(o.created_at_us));
  w.key("updated_at").string(time_json(o.updated_at_us));
  w.key("lines").begin_array();
  for (const auto& l : o.lines) {
    w.begin_object();
    w.key("line_no").integer(l.line_no);
    w.key("sku_id").integer_string(l.sku_id);
    w.key("product_id").integer_string(l.product_id);
    w.key("title").string(l.title);
    w.key("spec_text").string(l.spec_text);
    w.key("unit_price");
    write_money(w, l.unit_price, c);
    w.key("quantity").integer(l.quantity);
    w.key("amount");
    write_money(w, l.amount, c);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}
}  // namespace

std::string checkout_json_text(const flows::CheckoutResult& r) {
  JsonWriter w(4096);  // ~2.5 KB for one order of a few lines
  w.begin_object();
  w.key("id").integer_string(r.checkout.id.value);
  w.key("checkout_token").string(r.checkout.token);
  w.key("total");
  write_money(w, r.checkout.total.minor, r.checkout.total.currency);
  w.key("created_at").string(time_json(r.checkout.created_at_us));
  w.key("payment_intent");
  write_intent(w, r.intent);
  w.key("orders").begin_array();
  for (const auto& o : r.orders) write_order(w, o);
  w.end_array();
  w.end_object();
  return w.take();
}

json::object checkout_json(const flows::CheckoutResult& r) {
  json::object x;
  x.reserve(6);
  x["id"] = std::to_string(r.checkout.id.value);
  x["checkout_token"] = r.checkout.token;
  x["total"] = to_json(r.checkout.total);
  x["created_at"] = time_json(r.checkout.created_at_us);
  x["payment_intent"] = intent_json(r.intent);
  json::array orders;
  for (const auto& o : r.orders) orders.push_back(order_json(o));
  x["orders"] = std::move(orders);
  return x;
}

bool acts_for_seller(const identity::Principal& p, OrgId seller, std::string_view scope) {
  if (p.kind == identity::Principal::Kind::api_key)
    return p.api_key_org == seller &&
           (p.has_scope(scope) || (scope == "read" && p.has_scope("write")));
  return p.has_role_in(seller, {identity::Role::seller_admin, identity::Role::seller_staff});
}

}  // namespace jishi::api
