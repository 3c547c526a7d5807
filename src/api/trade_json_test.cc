// The checkout's reply is written as text (checkout_json_text) and, elsewhere, built as a tree
// (checkout_json): both must give the same document, byte for byte.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/pay_json.h"
#include "api/trade_json.h"
#include "core/currency.h"

namespace jishi::api {
namespace {

flows::CheckoutResult sample(bool everything_set) {
  Currency cny = currency_from_code("CNY").value();
  flows::CheckoutResult r;
  r.checkout.id = order::CheckoutId{385237199504805888};
  r.checkout.buyer = UserId{1000};
  r.checkout.token = "token-\"quoted\"-\\-1";
  r.checkout.total = Money{24'880, cny};
  r.checkout.created_at_us = 1'795'000'000'123'456;
  pay::Intent& i = r.intent;
  i.id = pay::IntentId{385237199504805999};
  i.payer = UserId{1000};
  i.reference = "checkout-385237199504805888";
  i.description = "保温杯 \"特价\"\n第二行";
  i.amount = Money{24'880, cny};
  i.expires_at_us = 1'795'001'800'000'000;
  i.created_at_us = i.updated_at_us = 1'795'000'000'123'456;
  if (everything_set) {
    i.status = pay::IntentStatus::succeeded;
    i.channel = pay::Channel::card;
    i.trade_no = "T2026";
    i.qr_code = "weixin://x";
    i.cashier_url = "https://pay.example/c?a=1&b=2";
    i.fee = 25;
    i.failure_code = "none";
    i.failure_reason = "control \x01 char";
    i.risk_decision_id = 77;
    i.succeeded_at_us = 1'795'000'100'000'000;
  }
  for (int k = 0; k < 2; ++k) {
    order::Order o;
    o.id = order::OrderId{385237199504805889 + k};
    o.checkout = r.checkout.id;
    o.buyer = UserId{1000};
    o.seller = OrgId{7 + k};
    o.status = "pending_payment";
    o.payment_status = "unpaid";
    o.fulfillment_status = "unfulfilled";
    o.currency = cny;
    o.freight = 1'000;
    o.intent_id = i.id.value;
    o.ship_to = {"张三", "+8613800138000", "330106", "文三路 90 号\t2 楼",
                 everything_set ? std::optional<std::string>("310000") : std::nullopt};
    o.pay_deadline_us = i.expires_at_us;
    o.created_at_us = o.updated_at_us = r.checkout.created_at_us;
    for (int l = 1; l <= 2 + k; ++l) {
      o.lines.push_back(
          {l, 900 + l, 90, "杯子 " + std::to_string(l), "色:白", "cups", 5'720, l, 5'720 * l});
      o.items_total += 5'720 * l;
    }
    o.total = o.items_total + o.freight;
    if (everything_set) {
      o.buyer_note = "请放门口";
      o.carrier = "SF";
      o.tracking_no = "SF123";
      o.cancel_reason = "x";
      o.paid_at_us = o.shipped_at_us = o.delivered_at_us = o.auto_confirm_at_us =
          o.completed_at_us = o.cancelled_at_us = 1'795'000'200'000'000;
      o.confirm_extended = true;
      o.refunded = 100;
    }
    pay::Split s;
    s.reference = std::to_string(o.id.value);
    s.payee = o.seller;
    s.amount = o.total;
    if (everything_set) s.category = "cups";
    i.splits.push_back(s);
    r.orders.push_back(std::move(o));
  }
  return r;
}

TEST(TradeJson, CheckoutTextAndTreeAgree) {
  for (bool everything_set : {false, true}) {
    auto r = sample(everything_set);
    std::string text = checkout_json_text(r);
    EXPECT_EQ(text, boost::json::serialize(checkout_json(r))) << everything_set;
    // And it is a document a client parses.
    auto parsed = boost::json::parse(text);
    EXPECT_EQ(parsed.at("orders").as_array().size(), 2u);
    EXPECT_EQ(parsed.at("orders").at(0).at("ship_to").at("region").as_string(),
              "浙江省 杭州市 西湖区");
  }
}

TEST(TradeJson, IntentTextAndTreeAgree) {
  for (bool everything_set : {false, true}) {
    auto i = sample(everything_set).intent;
    for (bool with_splits : {true, false}) {
      if (!with_splits) i.splits.clear();  // a wallet top-up has none
      JsonWriter w;
      write_intent(w, i);
      EXPECT_EQ(w.take(), boost::json::serialize(intent_json(i))) << everything_set;
    }
  }
}

}  // namespace
}  // namespace jishi::api
