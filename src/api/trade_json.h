// JSON renderings and access rules shared by the trading routes (cart, checkout, orders).
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "flows/trade.h"
#include "identity/types.h"
#include "order/address.h"
#include "order/aftersales.h"
#include "order/orders.h"
#include "order/ratings.h"

namespace jishi::api {

boost::json::object address_json(const order::AddressFields& a);
boost::json::object order_json(const order::Order& o);
boost::json::object after_sale_json(const order::AfterSale& a, const Currency& c);
boost::json::object rating_json(const order::Rating& r);
boost::json::object checkout_json(const flows::CheckoutResult& r);
// checkout_json's text, written directly (the checkout's reply); api_test checks they agree.
std::string checkout_json_text(const flows::CheckoutResult& r);

// The seller's people (seller_admin, seller_staff) or an API key of the seller with `scope`.
bool acts_for_seller(const identity::Principal& p, OrgId seller, std::string_view scope);

}  // namespace jishi::api
