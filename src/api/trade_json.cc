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
