#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "flows/internal.h"

namespace jishi::flows {
namespace {

order::Order sample() {
  order::Order o;
  o.id = order::OrderId{7'300'000'000'000'000'001};
  o.checkout = order::CheckoutId{7'300'000'000'000'000'000};
  o.status = "shipped";
  o.payment_status = "paid";
  o.fulfillment_status = "shipped";
  o.currency = currency_from_code("CNY").value();
  o.total = 12'345;
  o.refunded = 45;
  o.carrier = "顺丰 \"SF\"\n";
  o.tracking_no = "SF\\1\x01";
  o.lines.push_back(order::Line{1, 11, 0, "", "", "", 100, 2, 200});
  o.lines.push_back(order::Line{2, 12, 0, "", "", "", 100, 3, 300});
  return o;
}

TEST(OrderEventJson, CarriesTheOrderAsValidJsonWithItsStringsEscaped) {
  auto v = boost::json::parse(internal::order_event_json(sample()));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("order_id").as_string(), "7300000000000000001");
  EXPECT_EQ(o.at("checkout_id").as_string(), "7300000000000000000");
  EXPECT_EQ(o.at("status").as_string(), "shipped");
  EXPECT_EQ(o.at("payment_status").as_string(), "paid");
  EXPECT_EQ(o.at("fulfillment_status").as_string(), "shipped");
  EXPECT_EQ(o.at("total").at("amount").as_int64(), 12'345);
  EXPECT_EQ(o.at("total").at("currency").as_string(), "CNY");
  EXPECT_EQ(o.at("refunded").at("amount").as_int64(), 45);
  EXPECT_EQ(o.at("carrier").as_string(), "顺丰 \"SF\"\n");
  EXPECT_EQ(o.at("tracking_no").as_string(), "SF\\1\x01");
  const auto& lines = o.at("lines").as_array();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].at("sku_id").as_string(), "12");
  EXPECT_EQ(lines[1].at("quantity").as_int64(), 3);
  EXPECT_EQ(o.size(), 10u);
}

TEST(OrderEventJson, LeavesOutUnsetFieldsAndSplicesExtraFieldsInAtTheEnd) {
  auto ord = sample();
  ord.carrier.reset();
  ord.tracking_no.reset();
  auto text = internal::order_event_json(ord, R"("rating":{"score":5},"note":"x")");
  auto v = boost::json::parse(text);
  const auto& o = v.as_object();
  EXPECT_FALSE(o.contains("carrier"));
  EXPECT_FALSE(o.contains("tracking_no"));
  EXPECT_EQ(o.at("rating").at("score").as_int64(), 5);
  EXPECT_EQ(o.at("note").as_string(), "x");
  EXPECT_EQ(text.back(), '}');
}

}  // namespace
}  // namespace jishi::flows
