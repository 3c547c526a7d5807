#include <gtest/gtest.h>

#include <limits>
#include <map>

#include <boost/json.hpp>
#include <future>

#include "catalog/catalog.h"
#include "core/metrics.h"
#include "events/events.h"
#include "events/jobs.h"
#include "events/webhooks.h"
#include "flows/internal.h"
#include "flows/trade.h"
#include "inventory/inventory.h"
#include "order/orders.h"
#include "pay/payments.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

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

// A checkout nobody pays: at its deadline the unpaid-timeout job cancels its order, releases
// its stock and closes its intent, once; before the deadline it does nothing.
class UnpaidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_on_read();  // as jishi does at start: a checkout intent's splits come from its orders
    store::StoreOptions o;
    o.sqlite_path = db_path_ = store::testing::fresh_db_path("flows_unpaid");
    store_ = std::move(store::Store::open(o, nullptr).value());
    write([&](store::Tx& tx) -> Status {
      JISHI_TRY(tx.exec_script(
          "INSERT INTO users (id, email, display_name, password_hash, status, created_at_us, "
          "updated_at_us) VALUES (1, 's@x', 's', 'x', 'active', 0, 0);"
          "INSERT INTO orgs (id, kind, name, status, created_by, created_at_us, updated_at_us) "
          "VALUES (7, 'merchant', 'shop', 'approved', 1, 0, 0);"));
      JISHI_ASSIGN_OR_RETURN(sku_, listed_sku(tx, seller_, "cups", "保温杯", 8800));
      return {};
    });
    runner_ = std::make_unique<events::JobRunner>(*store_, env_, events::JobRunnerOptions{});
    runner_->sweep(std::string(kJobCloseUnpaid), close_unpaid_sweep());
  }
  // A listed product of the seller with one SKU, 10 in stock, in a category of its own.
  Result<std::int64_t> listed_sku(store::Tx& tx, OrgId seller, const std::string& category,
                                  const std::string& title, std::int64_t price) {
    JISHI_ASSIGN_OR_RETURN(auto cat,
                           catalog::create_category(tx, env_, {{}, category, title, {}, 0}));
    catalog::ProductFields f{title, std::nullopt, std::nullopt, cat.id, {}};
    std::vector<catalog::NewSku> skus{{{{"色", "白"}}, Money{price, cny_}, std::nullopt}};
    JISHI_ASSIGN_OR_RETURN(auto product, catalog::create_product(tx, env_, seller, f, skus));
    std::int64_t sku = product.skus.front().id.value;
    JISHI_TRY(inventory::set_on_hand(tx, env_, sku, seller, 10, UserId{1}, ""));
    JISHI_TRY(catalog::list_product(tx, env_, product.id, UserId{1}));
    return sku;
  }
  void write(const std::function<Status(store::Tx&)>& f) {
    store::testing::write_ok(store_->writer(), f);
  }
  // A checkout of `quantity` units of the SKU, by the buyer (1000 unless named), to one address.
  CheckoutRequest request(const std::string& token, std::int64_t quantity = 1,
                          UserId buyer = UserId{1000}) {
    CheckoutRequest req;
    req.buyer = buyer;
    req.token = token;
    req.address =
        order::AddressFields{"张三", "13800138000", "330106", "文三路 90 号", std::nullopt};
    req.lines.push_back({sku_, quantity, std::nullopt});
    return req;
  }
  // A second seller (org 8) with a listed SKU of its own: a checkout buying from both makes two
  // orders.
  std::int64_t second_seller_sku() {
    std::int64_t sku = 0;
    write([&](store::Tx& tx) -> Status {
      JISHI_TRY(tx.exec_script(
          "INSERT INTO orgs (id, kind, name, status, created_by, created_at_us, updated_at_us) "
          "VALUES (8, 'merchant', 'shop 2', 'approved', 1, 0, 0);"));
      JISHI_ASSIGN_OR_RETURN(sku, listed_sku(tx, OrgId{8}, "pots", "紫砂壶", 12000));
      return {};
    });
    return sku;
  }
  // prepared: the address validated and sealed before the writer, as the API does.
  CheckoutResult buy(std::int64_t quantity, bool prepared = false,
                     std::vector<CheckoutLine> more = {}) {
    CheckoutRequest req = request("unpaid-test-token-" + std::to_string(++tokens_), quantity);
    for (auto& l : more) req.lines.push_back(l);
    if (prepared) {
      prepare_checkout(env_, req);
      EXPECT_TRUE(req.prepared_address);
    }
    CheckoutResult out;
    write([&](store::Tx& tx) -> Status {
      JISHI_ASSIGN_OR_RETURN(out, checkout(tx, env_, cfg_, req));
      return {};
    });
    return out;
  }
  inventory::Stock stock() {
    auto lease = store_->reads().lease();
    return inventory::get_stock(*lease, sku_).value().value();
  }
  CheckoutResult reload(const CheckoutResult& c) {
    auto lease = store_->reads().lease();
    return load_checkout(*lease, env_, c.checkout.id).value();
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  Currency cny_ = currency_from_code("CNY").value();
  OrgId seller_{7};
  TradeConfig cfg_;
  std::int64_t sku_ = 0;
  int tokens_ = 0;
  std::string db_path_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<events::JobRunner> runner_;
};

TEST_F(UnpaidTest, AtItsDeadlineAnUnpaidCheckoutIsCancelledAndItsStockReleased) {
  auto c = buy(3);
  EXPECT_EQ(stock().reserved, 3);
  {
    // The unpaid order's line is what holds the reserved units.
    auto lease = store_->reads().lease();
    auto v = verify_stock(*lease);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->problems.empty()) << v->problems.front();
  }
  clock_.advance_us(cfg_.pay_timeout_us - 1);
  EXPECT_EQ(runner_->run_once(), 0);  // not yet
  EXPECT_EQ(reload(c).orders.front().status, "pending_payment");

  clock_.advance_us(1);
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto expired, pay::expire_intents(tx, env_, 100));
    EXPECT_EQ(expired, 0);  // the checkout's, not the pay worker's to expire
    return {};
  });
  EXPECT_EQ(runner_->run_once(), 1);
  auto after = reload(c);
  EXPECT_EQ(after.orders.front().status, "cancelled");
  EXPECT_EQ(after.orders.front().cancel_reason, "unpaid_timeout");
  // The checkout's intent is closed with its orders; the pay worker's expiry passes it over.
  EXPECT_EQ(after.intent.status, pay::IntentStatus::expired);
  EXPECT_EQ(stock().reserved, 0);
  EXPECT_EQ(stock().on_hand, 10);
  EXPECT_EQ(runner_->run_once(), 0);  // once

  auto lease = store_->reads().lease();
  auto v = verify_stock(*lease);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty()) << v->problems.front();
}

// order.created stores no data: the pull API and webhooks read the order as it was created,
// made from rows that never change, so it stays so after the order moved on (here, cancelled
// by the unpaid timeout); and it is what order_event_json wrote for the new order.
TEST_F(UnpaidTest, OrderCreatedIsTheOrderAsCreatedWhenRead) {
  std::int64_t hook = 0;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(
        auto made, events::create_webhook(tx, env_, seller_, UserId{1},
                                          {"https://erp.example.com/hook", {"*"}, std::nullopt}));
    hook = made.first.id;
    return {};
  });
  auto c = buy(2);
  const order::Order& created = c.orders.front();
  std::string expected = internal::order_event_json(created);
  auto data_of_created = [&]() -> std::string {
    auto lease = store_->reads().lease();
    auto page = events::events_after(*lease, seller_, 0, std::string("order.created"), 10);
    EXPECT_TRUE(page) << page.error().detail;
    if (!page || page->items.size() != 1) return "?";
    EXPECT_EQ(page->items[0].subject, std::to_string(created.id.value));
    return page->items[0].data_json;
  };
  EXPECT_EQ(data_of_created(), expected);
  {
    // Nothing stored: the order row is the event, its id the order's. The seller's webhook
    // gets a delivery of it, which reads it whole.
    auto lease = store_->reads().lease();
    auto count = [&](std::string_view sql) {
      return lease->query_one(sql, {}, [](const store::Row& r) { return r.i64(0); })
          .value()
          .value();
    };
    EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events"), 0);
    auto delivered = lease->query_one("SELECT event_id FROM ev_deliveries WHERE webhook_id = $1",
                                      {hook}, [](const store::Row& r) { return r.i64(0); });
    ASSERT_TRUE(delivered && *delivered);
    EXPECT_EQ(**delivered, created.id.value);
    auto e = events::get_event(*lease, events::EventId{created.id.value}).value();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, "order.created");
    EXPECT_EQ(e->org, seller_);
    EXPECT_EQ(e->created_at_us, created.created_at_us);
    EXPECT_EQ(e->data_json, expected);
    auto listed = events::list_deliveries(*lease, hook, 0, 10).value();
    ASSERT_EQ(listed.items.size(), 1u);
    EXPECT_EQ(listed.items[0].event_type, "order.created");
  }
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner_->run_once(), 1);
  ASSERT_EQ(reload(c).orders.front().status, "cancelled");
  EXPECT_EQ(data_of_created(), expected);
  {
    // The feed merges it with the stored events, in id order: created, then cancelled.
    auto lease = store_->reads().lease();
    auto page = events::events_after(*lease, seller_, 0, std::nullopt, 10).value();
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].type, "order.created");
    EXPECT_EQ(page.items[1].type, "order.cancelled");
    EXPECT_LT(page.items[0].id, page.items[1].id);
  }
  auto v = boost::json::parse(expected).as_object();
  EXPECT_EQ(v.at("status").as_string(), "pending_payment");
  EXPECT_EQ(v.at("total").at("amount").as_int64(), created.total);
  EXPECT_EQ(v.at("lines").as_array().size(), 1u);
}

// Orders from before the cutover (migration 0020) keep their stored order.created and get no
// implied one; orders from it on get the implied one only. Pages merge both in id order, one
// event at a time as well as all at once.
TEST_F(UnpaidTest, OrderCreatedBeforeTheCutoverIsReadAsStoredAndNeverTwice) {
  auto before = buy(1).orders.front();
  std::int64_t stored_id = 0;
  write([&](store::Tx& tx) -> Status {  // as an older jishi left it
    stored_id = env_.ids.next();
    JISHI_TRY(tx.exec(
        "INSERT INTO ev_events (id, org_id, type, subject, data, created_at_us) VALUES ($1, $2, "
        "'order.created', $3, '{\"stored\":true}', 0)",
        {stored_id, seller_.value, std::to_string(before.id.value)}));
    JISHI_TRY(tx.exec("UPDATE ev_implied SET from_id = $1 WHERE type = 'order.created'",
                      {stored_id + 1}));  // as migration 0020 sets it: above every stored id
    return {};
  });
  auto after = buy(1).orders.front();
  auto lease = store_->reads().lease();
  auto all = events::events_after(*lease, seller_, 0, std::string("order.created"), 10).value();
  ASSERT_EQ(all.items.size(), 2u);
  EXPECT_EQ(all.items[0].id.value, stored_id);
  EXPECT_EQ(all.items[0].data_json, "{\"stored\":true}");
  EXPECT_EQ(all.items[1].id, events::EventId{after.id.value});
  EXPECT_EQ(all.items[1].subject, std::to_string(after.id.value));
  EXPECT_FALSE(all.next_cursor);
  std::vector<std::int64_t> paged;
  std::int64_t cursor = 0;
  for (int i = 0; i < 4; ++i) {
    auto page = events::events_after(*lease, seller_, cursor, std::nullopt, 1).value();
    for (const auto& e : page.items) paged.push_back(e.id.value);
    if (!page.next_cursor) break;
    cursor = *page.next_cursor;
  }
  EXPECT_EQ(paged, (std::vector<std::int64_t>{stored_id, after.id.value}));
  EXPECT_TRUE(  // the largest cursor: nothing after it (and no overflow)
      events::events_after(*lease, seller_, std::numeric_limits<std::int64_t>::max(), std::nullopt,
                           10)
          .value()
          .items.empty());
  EXPECT_FALSE(events::get_event(*lease, events::EventId{before.id.value}).value());
  EXPECT_TRUE(events::get_event(*lease, events::EventId{after.id.value}).value());
}

// A checkout's intent stores no split rows: its splits are its orders (the order id, the
// seller, the order's total, its first line's category), made from them when the intent is
// read, equal to what the checkout answered. While it is open, no other intent may take one of
// those orders; once it is given up, one may.
TEST_F(UnpaidTest, ACheckoutIntentsSplitsAreItsOrdersMadeWhenRead) {
  std::int64_t other_sku = second_seller_sku();  // two orders, two splits
  auto c = buy(2, false, {{other_sku, 1, std::nullopt}});
  ASSERT_EQ(c.orders.size(), 2u);
  ASSERT_EQ(c.intent.splits.size(), 2u);
  EXPECT_EQ(c.intent.splits_from, "checkout");
  auto count = [&](std::string_view sql, std::int64_t id) {
    auto lease = store_->reads().lease();
    return lease->query_one(sql, {id}, [](const store::Row& r) { return r.i64(0); })
        .value()
        .value();
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM pay_intent_splits WHERE intent_id = $1", c.intent.id.value),
            0);
  pay::Intent read;
  {
    auto lease = store_->reads().lease();
    read = pay::get_intent(*lease, c.intent.id).value().value();
  }
  ASSERT_EQ(read.splits.size(), 2u);
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& s = read.splits[i];
    EXPECT_EQ(s.reference, c.intent.splits[i].reference);
    EXPECT_EQ(s.payee, c.intent.splits[i].payee);
    EXPECT_EQ(s.amount, c.intent.splits[i].amount);
    EXPECT_EQ(s.category, c.intent.splits[i].category);
    auto o = std::find_if(c.orders.begin(), c.orders.end(), [&](const order::Order& x) {
      return std::to_string(x.id.value) == s.reference;
    });
    ASSERT_NE(o, c.orders.end());
    EXPECT_EQ(s.payee, o->seller);
    EXPECT_EQ(s.amount, o->total);
    EXPECT_EQ(s.category, o->lines.front().category);
    sum += s.amount;
  }
  EXPECT_EQ(sum, read.amount.minor);

  pay::NewIntent other;
  other.payer = UserId{1000};
  other.reference = "erp-invoice-1";
  other.amount = Money{100, cny_};
  other.splits = {pay::Split{std::to_string(c.orders.back().id.value), c.orders.back().seller, 100,
                             std::nullopt}};
  other.ttl_us = 1'000'000;
  auto attempt = [&] {
    std::optional<Result<pay::Intent>> r;
    write([&](store::Tx& tx) -> Status {
      r = pay::create_intent(tx, env_, other);
      return {};
    });
    return std::move(*r);
  };
  auto refused = attempt();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::conflict);
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(pay::cancel_intent(tx, env_, c.intent.id, UserId{1000}));
    return {};
  });
  auto taken = attempt();
  ASSERT_TRUE(taken) << taken.error().detail;
  EXPECT_EQ(count("SELECT COUNT(*) FROM pay_intent_splits WHERE intent_id = $1", taken->id.value),
            1);  // an intent made any other way stores its splits
}

TEST_F(UnpaidTest, ARenewedIntentPaysForItsCheckoutsOrdersOnly) {
  auto c = buy(2);
  auto other = buy(1);
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(pay::cancel_intent(tx, env_, c.intent.id, UserId{1000}));
    return {};
  });
  // Only the checkout's buyer may renew it.
  std::optional<Code> refused;
  write([&](store::Tx& tx) -> Status {
    auto r = renew_intent(tx, env_, cfg_, c.checkout.id, UserId{999});
    if (!r) refused = r.error().code;
    return {};
  });
  EXPECT_EQ(refused, Code::not_found);
  CheckoutResult renewed;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(renewed, renew_intent(tx, env_, cfg_, c.checkout.id, UserId{1000}));
    return {};
  });
  EXPECT_NE(renewed.intent.id, c.intent.id);
  EXPECT_EQ(renewed.intent.status, pay::IntentStatus::requires_payment);
  EXPECT_EQ(renewed.intent.amount, c.intent.amount);
  auto after = reload(c);
  EXPECT_EQ(after.checkout.intent_id, renewed.intent.id.value);
  ASSERT_EQ(after.checkout.orders, c.checkout.orders);
  EXPECT_EQ(after.orders.front().intent_id, renewed.intent.id.value);
  // The other checkout's order keeps its own intent.
  EXPECT_EQ(reload(other).orders.front().intent_id, other.intent.id.value);
}

// A checkout's first intent takes the checkout's id and no entry in the payer index: the
// buyer's list finds it through the buyer's orders, merged with the indexed intents (here a
// renewed one), newest first, page by page. Orders below the cutover (checkouts from before,
// whose intents are in the index) are not walked.
TEST_F(UnpaidTest, ABuyersCheckoutIntentsAreListedThroughTheirOrders) {
  auto c1 = buy(1), c2 = buy(2, false, {{sku_, 1, std::nullopt}});
  EXPECT_EQ(c1.intent.id.value, c1.checkout.id.value);
  EXPECT_TRUE(c1.intent.listed_by_source);
  CheckoutResult renewed;
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(pay::cancel_intent(tx, env_, c1.intent.id, UserId{1000}));
    JISHI_ASSIGN_OR_RETURN(renewed, renew_intent(tx, env_, cfg_, c1.checkout.id, UserId{1000}));
    return {};
  });
  EXPECT_FALSE(renewed.intent.listed_by_source);
  auto c3 = buy(1);
  auto ids = [](const Page<pay::Intent>& p) {
    std::vector<std::int64_t> out;
    for (const auto& i : p.items) out.push_back(i.id.value);
    return out;
  };
  auto lease = store_->reads().lease();
  EXPECT_EQ(lease
                ->query_one("SELECT COUNT(*) FROM pay_intents WHERE listed_by IS NULL", {},
                            [](const store::Row& r) { return r.i64(0); })
                .value(),
            1);  // the renewed one
  auto first = pay::list_intents(*lease, UserId{1000}, 0, 2).value();
  EXPECT_EQ(ids(first), (std::vector<std::int64_t>{c3.intent.id.value, renewed.intent.id.value}));
  ASSERT_TRUE(first.next_cursor);
  auto second = pay::list_intents(*lease, UserId{1000}, *first.next_cursor, 2).value();
  EXPECT_EQ(ids(second), (std::vector<std::int64_t>{c2.intent.id.value, c1.intent.id.value}));
  EXPECT_FALSE(second.next_cursor);
  EXPECT_EQ(second.items[1].status, pay::IntentStatus::cancelled);
  EXPECT_TRUE(pay::list_intents(*lease, UserId{999}, 0, 10).value().items.empty());

  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(tx.exec("UPDATE ord_listed_intents SET from_id = $1", {c2.checkout.id.value}));
    return {};
  });
  auto cut = pay::list_intents(*lease, UserId{1000}, 0, 10).value();
  EXPECT_EQ(ids(cut), (std::vector<std::int64_t>{c3.intent.id.value, renewed.intent.id.value,
                                                 c2.intent.id.value}));
}

// A buyer's orders are listed newest first, page by page, with the seller and status filters,
// and never another buyer's; a token is the buyer's own: another buyer's checkout with it is a
// checkout of its own, and the same buyer's second row with it is refused by the table itself,
// not only by the lookup before it, and changes nothing.
TEST_F(UnpaidTest, ABuyersOrdersAreListedNewestFirstAndItsTokensAreItsOwn) {
  std::int64_t other_sku = second_seller_sku();  // two orders, two splits
  auto c1 = buy(1);                              // unpaid-test-token-1
  auto c2 = buy(1, false, {{other_sku, 1, std::nullopt}});
  ASSERT_EQ(c2.orders.size(), 2u);
  CheckoutResult c3;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(
        c3, checkout(tx, env_, cfg_, request("unpaid-test-token-1", 1, UserId{1001})));
    return {};
  });
  EXPECT_FALSE(c3.replayed);
  EXPECT_NE(c3.checkout.id, c1.checkout.id);
  auto c4 = buy(1);

  auto list = [&](order::OrderFilter f) {
    auto lease = store_->reads().lease();
    auto page = order::list_orders(*lease, env_, f).value();
    std::vector<std::int64_t> ids;
    for (const auto& o : page.items) ids.push_back(o.id.value);
    return std::pair{ids, page.next_cursor};
  };
  order::OrderFilter mine;
  mine.buyer = UserId{1000};
  mine.limit = 3;
  auto [first, cursor] = list(mine);
  ASSERT_GT(c2.orders[1].id.value, c2.orders[0].id.value);
  EXPECT_EQ(first, (std::vector<std::int64_t>{c4.orders[0].id.value, c2.orders[1].id.value,
                                              c2.orders[0].id.value}));
  ASSERT_TRUE(cursor);
  mine.before = *cursor;
  auto [second, end] = list(mine);
  EXPECT_EQ(second, (std::vector<std::int64_t>{c1.orders[0].id.value}));
  EXPECT_FALSE(end);
  mine.before = 0;
  mine.seller = OrgId{8};
  EXPECT_EQ(list(mine).first, (std::vector<std::int64_t>{c2.orders[1].id.value}));
  mine.seller.reset();
  mine.status = "cancelled";
  EXPECT_TRUE(list(mine).first.empty());
  order::OrderFilter their_filter;
  their_filter.buyer = UserId{1001};
  EXPECT_EQ(list(their_filter).first, (std::vector<std::int64_t>{c3.orders[0].id.value}));
  their_filter.buyer = UserId{999};
  EXPECT_TRUE(list(their_filter).first.empty());

  // The lookup finds each buyer's own checkout for the token.
  {
    auto lease = store_->reads().lease();
    EXPECT_EQ(order::find_checkout(*lease, UserId{1000}, "unpaid-test-token-1").value()->id,
              c1.checkout.id);
    EXPECT_EQ(order::find_checkout(*lease, UserId{1001}, "unpaid-test-token-1").value()->id,
              c3.checkout.id);
    EXPECT_FALSE(order::find_checkout(*lease, UserId{1002}, "unpaid-test-token-1").value());
  }
  // A second row with the buyer's token, past the lookup, is refused and changes nothing.
  write([&](store::Tx& tx) -> Status {
    order::Checkout again = c1.checkout;
    again.id = order::CheckoutId{env_.ids.next()};
    auto refused = order::insert_checkout(tx, env_, again);
    EXPECT_TRUE(!refused && refused.error().code == Code::already_exists);
    return {};
  });
  auto lease = store_->reads().lease();
  EXPECT_EQ(lease
                ->query_one("SELECT COUNT(*) FROM ord_checkouts", {},
                            [](const store::Row& r) { return r.i64(0); })
                .value(),
            4);
}

// A checkout's first intent stores no row: the checkout and its orders imply it, read exactly
// as the checkout returned it. It reads as expired once its orders were closed unpaid, and
// still stores nothing; its first change (a payment under way, cancelling one of two orders)
// stores it. Checkouts below the cutover imply no intent.
TEST_F(UnpaidTest, ACheckoutsIntentIsImpliedByItsRowsUntilItChanges) {
  pay::set_intent_succeeded_hook(&on_intent_succeeded);
  std::int64_t other_sku = second_seller_sku();  // two orders, two splits
  auto rows = [&](const pay::Intent& i) {
    auto lease = store_->reads().lease();
    return lease
        ->query_one("SELECT COUNT(*) FROM pay_intents WHERE id = $1", {i.id.value},
                    [](const store::Row& r) { return r.i64(0); })
        .value()
        .value();
  };
  auto read = [&](const pay::Intent& i) {
    auto lease = store_->reads().lease();
    return pay::get_intent(*lease, i.id).value();
  };
  auto one = buy(2);
  clock_.advance_us(1'000);
  auto two = buy(1, false, {{other_sku, 1, std::nullopt}});
  for (const auto* c : {&one, &two}) {
    const auto& made = c->intent;
    EXPECT_EQ(rows(made), 0);
    auto r = read(made);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->implied);
    EXPECT_EQ(r->id, made.id);
    EXPECT_EQ(r->payer, made.payer);
    EXPECT_EQ(r->reference, made.reference);
    EXPECT_EQ(r->description, made.description);
    EXPECT_EQ(r->amount, made.amount);
    EXPECT_EQ(r->status, pay::IntentStatus::requires_payment);
    EXPECT_EQ(r->expires_at_us, made.expires_at_us);
    EXPECT_EQ(r->expires_at_us, c->orders.front().pay_deadline_us);
    EXPECT_EQ(r->created_at_us, made.created_at_us);
    EXPECT_EQ(r->updated_at_us, made.updated_at_us);
    ASSERT_EQ(r->splits.size(), made.splits.size());
    for (std::size_t i = 0; i < made.splits.size(); ++i) {
      EXPECT_EQ(r->splits[i].reference, made.splits[i].reference);
      EXPECT_EQ(r->splits[i].payee, made.splits[i].payee);
      EXPECT_EQ(r->splits[i].amount, made.splits[i].amount);
      EXPECT_EQ(r->splits[i].category, made.splits[i].category);
    }
  }
  EXPECT_EQ(one.intent.description, "保温杯");
  EXPECT_EQ(two.intent.description, "2 orders");

  // The buyer cancels one of two orders: the intent is closed (stored) and the other order gets
  // an intent of its own.
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(cancel_order(tx, env_, cfg_, two.orders.back().id, UserId{1000}, "changed mind"));
    return {};
  });
  EXPECT_EQ(rows(two.intent), 1);
  EXPECT_EQ(read(two.intent)->status, pay::IntentStatus::expired);
  EXPECT_NE(reload(two).checkout.intent_id, two.intent.id.value);

  // A payment under way stores it; its success pays the order.
  auto three = buy(1);
  pay::GatewayTrade trade;
  trade.trade_no = "T3";
  trade.out_trade_no = std::to_string(three.intent.id.value);
  trade.amount = three.intent.amount.minor;
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(pay::start_channel_payment(tx, env_, three.intent.id, UserId{1000},
                                         pay::Channel::card, trade, std::nullopt));
    return {};
  });
  EXPECT_EQ(rows(three.intent), 1);
  pay::Notification n;
  n.notify_id = "n3";
  n.trade_no = "T3";
  n.out_trade_no = trade.out_trade_no;
  n.trade_status = "TRADE_SUCCESS";
  n.amount = trade.amount;
  n.currency = "CNY";
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto r, pay::apply_notification(tx, env_, pay::Channel::card, n));
    EXPECT_EQ(r.verdict, pay::NotifyVerdict::applied);
    return {};
  });
  EXPECT_EQ(reload(three).orders.front().status, "paid");
  EXPECT_EQ(read(three.intent)->status, pay::IntentStatus::succeeded);

  // The buyer cancels a checkout's only order: the intent reads as expired and stores nothing.
  auto four = buy(1);
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(cancel_order(tx, env_, cfg_, four.orders.front().id, UserId{1000}, "no"));
    return {};
  });
  EXPECT_EQ(read(four.intent)->status, pay::IntentStatus::expired);
  EXPECT_EQ(reload(four).intent.status, pay::IntentStatus::expired);
  EXPECT_EQ(rows(four.intent), 0);

  // Paid from the wallet: its row is stored once, already succeeded, and the order is paid.
  pay::NewIntent topup;
  topup.payer = UserId{1000};
  topup.purpose = pay::Purpose::wallet_topup;
  topup.reference = "topup-1";
  topup.description = "top up";
  topup.amount = Money{100'000, cny_};
  topup.ttl_us = 60'000'000;
  pay::Intent funded;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(funded, pay::create_intent(tx, env_, topup));
    return {};
  });
  trade.trade_no = "T-topup";
  trade.out_trade_no = std::to_string(funded.id.value);
  trade.amount = funded.amount.minor;
  n.notify_id = "n-topup";
  n.trade_no = trade.trade_no;
  n.out_trade_no = trade.out_trade_no;
  n.amount = trade.amount;
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(pay::start_channel_payment(tx, env_, funded.id, UserId{1000}, pay::Channel::qr, trade,
                                         std::nullopt));
    JISHI_ASSIGN_OR_RETURN(auto r, pay::apply_notification(tx, env_, pay::Channel::qr, n));
    EXPECT_EQ(r.verdict, pay::NotifyVerdict::applied);
    return {};
  });
  auto five = buy(1);
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto paid,
                           pay::pay_with_wallet(tx, env_, five.intent.id, UserId{1000}, {}));
    EXPECT_EQ(paid.status, pay::IntentStatus::succeeded);
    return {};
  });
  {
    auto lease = store_->reads().lease();
    EXPECT_EQ(lease
                  ->query_one("SELECT COUNT(*) FROM pay_intents WHERE id = $1 AND status = "
                              "'succeeded' AND channel = 'wallet' AND listed_by = 'checkout' AND "
                              "reference = $2",
                              {five.intent.id.value, five.intent.reference},
                              [](const store::Row& r) { return r.i64(0); })
                  .value()
                  .value(),
              1);
  }
  EXPECT_EQ(reload(five).orders.front().status, "paid");
  EXPECT_EQ(reload(five).intent.status, pay::IntentStatus::succeeded);

  // Unpaid at its deadline: the sweep cancels the order, and the intent reads as expired from
  // then on without a row of its own.
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner_->run_once(), 2);  // one's order, and the other of two's
  EXPECT_EQ(reload(one).orders.front().status, "cancelled");
  auto lapsed = read(one.intent);
  ASSERT_TRUE(lapsed);
  EXPECT_EQ(lapsed->status, pay::IntentStatus::expired);
  EXPECT_EQ(lapsed->updated_at_us, reload(one).orders.front().updated_at_us);
  EXPECT_EQ(rows(one.intent), 0);

  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(
        tx.exec("UPDATE ord_listed_intents SET implied_from = $1", {one.checkout.id.value + 1}));
    return {};
  });
  EXPECT_FALSE(read(one.intent));  // below the cutover, only stored rows are intents
  pay::set_intent_succeeded_hook(nullptr);
}

// An order's lines are kept in its row as JSON: what the checkout wrote reads back exactly,
// whatever its text holds, and SQL finds the unpaid lines' units in it (the writer's restore and
// verify stock).
// The writer's filter of checkout tokens (order.h) never hides a stored checkout: a replay is
// found whether its checkout was stored before the filter, through it, earlier in the same
// transaction or by another connection since; a token whose checkout rolled back is new again.
TEST_F(UnpaidTest, TheCheckoutTokenFilterNeverHidesAStoredCheckout) {
  auto before = buy(1);  // unpaid-test-token-1, stored before the filter
  auto db = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
  ASSERT_TRUE(order::prepare_checkout_filter(*db));
  auto stats = [&] { return order::checkout_filter_stats(*db).value(); };
  EXPECT_EQ(stats().tokens, 1u);
  EXPECT_EQ(stats().fills, 1u);
  auto run = [&](const std::string& token, bool commit) -> Result<CheckoutResult> {
    EXPECT_TRUE(db->begin());
    auto r = checkout(*db, env_, cfg_, request(token));
    EXPECT_TRUE(commit && r ? db->commit() : db->rollback());
    return r;
  };
  auto replay = run("unpaid-test-token-1", true);
  ASSERT_TRUE(replay) << replay.error().detail;
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->checkout.id, before.checkout.id);

  auto skipped = stats().skipped;
  auto fresh = run("filter-test-new-token-1", true);
  ASSERT_TRUE(fresh) << fresh.error().detail;
  EXPECT_FALSE(fresh->replayed);
  EXPECT_EQ(stats().skipped, skipped + 1);  // no lookup for a token never seen

  ASSERT_TRUE(db->begin());
  auto first = checkout(*db, env_, cfg_, request("filter-test-same-transaction"));
  auto second = checkout(*db, env_, cfg_, request("filter-test-same-transaction"));
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->replayed);
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->checkout.id, first->checkout.id);
  ASSERT_TRUE(db->commit());

  ASSERT_TRUE(run("filter-test-rolled-back-token", false));
  auto again = run("filter-test-rolled-back-token", true);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_FALSE(again->replayed);

  auto other = buy(1);  // unpaid-test-token-2, by the store's writer: another connection
  auto seen = run("unpaid-test-token-2", true);
  ASSERT_TRUE(seen) << seen.error().detail;
  EXPECT_TRUE(seen->replayed);
  EXPECT_EQ(seen->checkout.id, other.checkout.id);
  EXPECT_EQ(stats().fills, 2u);
}

// The writer as `jishi serve` prepares it (deferred reservations with copies of the stock
// rows, the offer cache loaded, the token filter): another connection's stock change and
// checkout are what its next checkouts count on, and a batch replayed with savepoints (one of
// its commands failed after writing) still answers a token's second checkout as a replay.
TEST_F(UnpaidTest, TheServersWriterFollowsAnotherConnectionAndAReplayedBatch) {
  runner_.reset();
  store_.reset();
  auto deferral = reservation_deferral(clock_);
  store::StoreOptions o;
  o.sqlite_path = db_path_;
  o.writer.hook = deferral.get();
  o.prepare_writer = {catalog::prepare_offer_cache, order::prepare_checkout_filter};
  store_ = std::move(store::Store::open(o, nullptr).value());
  auto run = [&](const std::string& token, std::int64_t quantity) {
    Result<CheckoutResult> out = fail(Code::internal, "not run");
    (void)store::run_and_wait(store_->writer(), [&](store::Tx& tx) {
      out = checkout(tx, env_, cfg_, request(token, quantity));
      return out.has_value();
    });
    return out;
  };
  ASSERT_TRUE(run("server-writer-token-first", 1));  // the writer's copy of the row: 10 - 1

  // Another connection: a stock count down to 3 (with its journal entry) and a checkout of
  // its own for 1 unit, reserved in the row.
  {
    auto other = std::move(store::open_sqlite(db_path_, store::OpenMode::read_write).value());
    ASSERT_TRUE(other->begin());
    ASSERT_TRUE(inventory::set_on_hand(*other, env_, sku_, seller_, 3, UserId{1}, "count"));
    ASSERT_TRUE(checkout(*other, env_, cfg_, request("server-writer-token-other", 1)));
    ASSERT_TRUE(other->commit());
  }
  auto replay = run("server-writer-token-other", 1);
  ASSERT_TRUE(replay) << replay.error().detail;
  EXPECT_TRUE(replay->replayed) << "the other connection's checkout was taken for a new one";
  auto too_many = run("server-writer-token-second", 2);  // 3 on hand, 2 held: 1 left
  ASSERT_FALSE(too_many) << "sold 2 of the 1 left";
  EXPECT_EQ(too_many.error().code, Code::insufficient_stock);

  // One batch: a checkout, a command that fails after writing (the batch runs again with
  // savepoints), and the same token again.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  store_->writer().submit(store::make_command(
      [opened](store::Tx&) {
        opened.wait();
        return true;
      },
      [](store::Outcome) {}));
  std::vector<Result<CheckoutResult>> results(2, fail(Code::internal, "not run"));
  std::vector<std::future<store::Outcome>> outcomes;
  auto submit = [&](std::function<bool(store::Tx&)> f) {
    auto done = std::make_shared<std::promise<store::Outcome>>();
    outcomes.push_back(done->get_future());
    store_->writer().submit(
        store::make_command(std::move(f), [done](store::Outcome out) { done->set_value(out); }));
  };
  submit([&](store::Tx& tx) {
    results[0] = checkout(tx, env_, cfg_, request("server-writer-token-batch", 1));
    return results[0].has_value();
  });
  submit([](store::Tx& tx) { return !tx.exec("UPDATE inv_movements SET reference = 'undone'"); });
  submit([&](store::Tx& tx) {
    results[1] = checkout(tx, env_, cfg_, request("server-writer-token-batch", 1));
    return results[1].has_value();
  });
  auto replays = store_->writer().replays();
  gate.set_value();
  for (auto& f : outcomes) f.wait();
  EXPECT_GT(store_->writer().replays(), replays);
  ASSERT_TRUE(results[0] && results[1]);
  EXPECT_FALSE(results[0]->replayed);
  EXPECT_TRUE(results[1]->replayed);
  EXPECT_EQ(results[1]->checkout.id, results[0]->checkout.id);
  // Nothing left over: 3 on hand, the three unpaid orders hold 3 (one from before the count).
  store_->stop_writer();
  auto lease = store_->reads().lease();
  auto v = verify_stock(*lease);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty()) << v->problems.front();
  EXPECT_EQ(inventory::get_stock(*lease, sku_).value()->reserved, 3);
}

// The writer's caches on /metrics, as `jishi serve` publishes them (app/runtime.cc): the offer
// cache, the stock copies and the token filter count what a checkout and its replay did, read
// from another thread than the writer's.
TEST_F(UnpaidTest, TheWritersCachesCountOnMetrics) {
  runner_.reset();
  store_.reset();
  metrics::Registry registry;
  auto deferral = reservation_deferral(clock_);
  deferral->publish_metrics(registry);
  store::StoreOptions o;
  o.sqlite_path = db_path_;
  o.writer.hook = deferral.get();
  o.prepare_writer = {[&registry](store::Conn& conn) -> Status {
                        JISHI_TRY(catalog::prepare_offer_cache(conn));
                        catalog::publish_offer_cache_metrics(conn, registry);
                        return {};
                      },
                      [&registry](store::Conn& conn) -> Status {
                        JISHI_TRY(order::prepare_checkout_filter(conn));
                        order::publish_checkout_filter_metrics(conn, registry);
                        return {};
                      }};
  store_ = std::move(store::Store::open(o, nullptr).value());
  struct StopFirst {  // the writer stops before the hook it runs goes, even after a failure
    std::unique_ptr<store::Store>& store;
    ~StopFirst() { store.reset(); }
  } stop_first{store_};
  auto run = [&](const std::string& token, std::int64_t sku) {
    CheckoutRequest req;
    req.buyer = UserId{1000};
    req.token = token;
    req.address =
        order::AddressFields{"张三", "13800138000", "330106", "文三路 90 号", std::nullopt};
    req.lines.push_back({sku, 2, std::nullopt});
    Result<CheckoutResult> out = fail(Code::internal, "not run");
    (void)store::run_and_wait(store_->writer(), [&](store::Tx& tx) {
      out = checkout(tx, env_, cfg_, req);
      return out.has_value();
    });
    return out;
  };
  auto value = [&](const std::string& series) -> std::int64_t {
    std::string text = registry.render();
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + series.size() + 2));
  };
  // Prepared: the offer loaded, the stock row copied, the filter filled once and empty.
  EXPECT_EQ(value("jishi_offer_cache_entries"), 1);
  EXPECT_EQ(value("jishi_stock_copies_entries"), 1);
  EXPECT_EQ(value("jishi_checkout_filter_fills_total"), 1);
  EXPECT_EQ(value("jishi_checkout_filter_tokens"), 0);
  // Whole 64-byte blocks, written out exactly (not "2.09715e+06"): at least 2^20 tokens' worth.
  EXPECT_GE(value("jishi_checkout_filter_bytes"), (1 << 20) * 10 / 8);
  EXPECT_EQ(value("jishi_checkout_filter_bytes") % 64, 0);

  auto first = run("metrics-token-0001", sku_);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(value("jishi_offer_cache_lookups_total{result=\"hit\"}"), 1);
  EXPECT_EQ(value("jishi_offer_cache_lookups_total{result=\"miss\"}"), 0);
  EXPECT_EQ(value("jishi_stock_copies_lookups_total{result=\"hit\"}"), 1);
  EXPECT_EQ(value("jishi_checkout_filter_lookups_total{result=\"skipped\"}"), 1);
  EXPECT_EQ(value("jishi_checkout_filter_lookups_total{result=\"looked_up\"}"), 0);
  EXPECT_EQ(value("jishi_checkout_filter_tokens"), 1);
  // Published; 0, as a lightly loaded writer folds the units at the end of each batch.
  EXPECT_EQ(value("jishi_stock_deferred_skus"), 0);

  // The same token again: the filter lets it through to the table, and it is a replay.
  auto again = run("metrics-token-0001", sku_);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(value("jishi_checkout_filter_lookups_total{result=\"looked_up\"}"), 1);
  EXPECT_EQ(value("jishi_checkout_filter_tokens"), 1);

  // A SKU listed in a new category after the cache was loaded: the category empties the cache
  // (a reset), and the new SKU's offer is read once (a miss), then kept. Its stock row's copy
  // was set by the writer's own write of it (a hit).
  EXPECT_EQ(value("jishi_offer_cache_resets_total"), 0);
  std::int64_t later = 0;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(later, listed_sku(tx, seller_, "mugs", "马克杯", 3900));
    return {};
  });
  ASSERT_TRUE(run("metrics-token-0002", later));
  EXPECT_EQ(value("jishi_offer_cache_resets_total"), 1);
  EXPECT_EQ(value("jishi_offer_cache_lookups_total{result=\"miss\"}"), 1);
  EXPECT_EQ(value("jishi_offer_cache_entries"), 1);
  EXPECT_EQ(value("jishi_stock_copies_lookups_total{result=\"hit\"}"), 2);
  EXPECT_EQ(value("jishi_stock_copies_entries"), 2);
  EXPECT_EQ(value("jishi_checkout_filter_tokens"), 2);

  // Read after the writer and its connection are gone: the tallies outlive them.
  store_.reset();
  EXPECT_EQ(value("jishi_checkout_filter_lookups_total{result=\"skipped\"}"), 2);
  EXPECT_EQ(value("jishi_stock_copies_lookups_total{result=\"hit\"}"), 2);
}

TEST_F(UnpaidTest, AnOrdersLinesReadBackFromItsRowExactly) {
  std::int64_t odd_sku = 0;
  const std::string title = "杯 \"双层\" \\ 不锈钢\n\t\x01 /end";
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(odd_sku, listed_sku(tx, seller_, "odd", title, 1234));
    return {};
  });
  auto c = buy(2, false, {{odd_sku, 3, std::nullopt}});
  ASSERT_EQ(c.orders.size(), 1u);
  auto read = reload(c).orders.front();
  ASSERT_EQ(read.lines.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& a = c.orders.front().lines[i];
    const auto& b = read.lines[i];
    EXPECT_EQ(b.line_no, a.line_no);
    EXPECT_EQ(b.sku_id, a.sku_id);
    EXPECT_EQ(b.product_id, a.product_id);
    EXPECT_EQ(b.title, a.title);
    EXPECT_EQ(b.spec_text, a.spec_text);
    EXPECT_EQ(b.category, a.category);
    EXPECT_EQ(b.unit_price, a.unit_price);
    EXPECT_EQ(b.quantity, a.quantity);
    EXPECT_EQ(b.amount, a.amount);
  }
  EXPECT_EQ(read.lines[1].title, title);
  {
    auto lease = store_->reads().lease();
    std::map<std::int64_t, std::int64_t> held;
    ASSERT_TRUE(lease->query(unpaid_holds_sql(false), {}, [&](const store::Row& r) {
      held[r.i64(0)] += r.i64(1);
      return true;
    }));
    EXPECT_EQ(held, (std::map<std::int64_t, std::int64_t>{{sku_, 2}, {odd_sku, 3}}));
    auto v = verify_stock(*lease);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->problems.empty()) << v->problems.front();
  }

  // A crash before the writer folded its reserved units: the start counts them again from the
  // unpaid orders' lines, as the server's writer does (flows::reservation_deferral).
  runner_.reset();
  store_.reset();
  {
    auto conn = store::open_sqlite(db_path_, store::OpenMode::read_write).value();
    ASSERT_TRUE(conn->exec("UPDATE inv_stock SET reserved = 0"));
  }
  auto deferral = reservation_deferral(clock_);
  store::StoreOptions o;
  o.sqlite_path = db_path_;
  o.writer.hook = deferral.get();
  store_ = std::move(store::Store::open(o, nullptr).value());
  {
    auto reads = store_->reads().lease();
    EXPECT_EQ(inventory::get_stock(*reads, sku_).value()->reserved, 2);
    EXPECT_EQ(inventory::get_stock(*reads, odd_sku).value()->reserved, 3);
  }
  store_.reset();
}

TEST_F(UnpaidTest, AnAddressPreparedBeforeTheWriterIsStoredAsOneSealedInIt) {
  auto plain = buy(1);
  auto prepared = buy(1, true);
  for (const auto* c : {&plain, &prepared}) {
    auto shown = reload(*c).orders.front().ship_to;
    EXPECT_EQ(shown.recipient, "张三");
    EXPECT_EQ(shown.phone, "+8613800138000");  // normalised by the validation either way
    EXPECT_EQ(shown.detail, "文三路 90 号");
    EXPECT_EQ(shown.region_code, "330106");
  }
  // An invalid address is left to checkout(), which reports it in its own order: a replay of
  // the same token still comes first.
  CheckoutRequest bad;
  bad.buyer = UserId{1000};
  bad.token = "unpaid-test-token-1";  // plain's
  bad.address = order::AddressFields{"张三", "13800138000", "339999", "文三路", std::nullopt};
  prepare_checkout(env_, bad);
  EXPECT_FALSE(bad.prepared_address);
  std::optional<Error> refused;
  write([&](store::Tx& tx) -> Status {
    auto replay = checkout(tx, env_, cfg_, bad);
    EXPECT_TRUE(replay && replay->replayed);
    bad.token = "unpaid-test-bad-address";
    auto r = checkout(tx, env_, cfg_, bad);
    if (!r) refused = r.error();
    return {};
  });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->field, "/address/region_code");
  // A saved address is read in the writer: nothing to prepare.
  CheckoutRequest saved;
  saved.address_id = order::AddressId{1};
  saved.address = bad.address;
  prepare_checkout(env_, saved);
  EXPECT_FALSE(saved.prepared_address);
}

TEST_F(UnpaidTest, AnAddressPreparedUnderAKeyRotatedSinceIsSealedAgain) {
  // Prepared under another key (as if the I/O thread sealed it just before a rotation).
  FieldCipher old_cipher =
      FieldCipher::from_keys("old", std::string(32, 'o'), std::string(32, 'l'));
  Env old_env{clock_, ids_, old_cipher};
  CheckoutRequest req;
  req.buyer = UserId{1000};
  req.token = "unpaid-test-rotated";
  req.address = order::AddressFields{"张三", "13800138000", "330106", "文三路 90 号", std::nullopt};
  req.lines.push_back({sku_, 1, std::nullopt});
  prepare_checkout(old_env, req);
  ASSERT_TRUE(req.prepared_address);
  ASSERT_FALSE(env_.cipher.under_current_key(req.prepared_address->sealed.ship_to));
  CheckoutResult out;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(out, checkout(tx, env_, cfg_, req));
    return {};
  });
  std::string stored;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(
        auto row,
        tx.query_one("SELECT ship_to_enc FROM ord_orders WHERE id = $1",
                     {out.orders.front().id.value}, [](const store::Row& r) { return r.str(0); }));
    stored = row.value_or("");
    return {};
  });
  EXPECT_TRUE(env_.cipher.under_current_key(stored)) << stored;
  EXPECT_EQ(reload(out).orders.front().ship_to.recipient, "张三");
}

TEST_F(UnpaidTest, TheAddressIsSealedOnceAndOrdersSealedFieldByFieldStillRead) {
  auto c = buy(1);
  auto id = c.orders.front().id.value;
  auto shown = reload(c).orders.front().ship_to;
  EXPECT_EQ(shown.recipient, "张三");
  EXPECT_EQ(shown.phone, "+8613800138000");
  EXPECT_EQ(shown.detail, "文三路 90 号");
  EXPECT_EQ(shown.region_code, "330106");
  std::string sealed;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto row, tx.query_one("SELECT ship_to_enc, recipient_enc FROM "
                                                  "ord_orders WHERE id = $1",
                                                  {id}, [](const store::Row& r) {
                                                    return std::pair(r.str(0), r.str(1));
                                                  }));
    sealed = row->first;
    EXPECT_EQ(row->second, "");
    // As an order from before migration 0016 stored it: three fields sealed apart.
    JISHI_TRY(
        tx.exec("UPDATE ord_orders SET ship_to_enc = NULL, recipient_enc = $2, phone_enc = $3, "
                "detail_enc = $4 WHERE id = $1",
                {id, env_.cipher.encrypt("order.recipient", "李四"),
                 env_.cipher.encrypt("order.phone", "+8613900139000"),
                 env_.cipher.encrypt("order.detail", "学院路 1 号")}));
    return {};
  });
  EXPECT_EQ(env_.cipher.decrypt("order.ship_to", sealed).value(),
            "6:张三14:+861380013800016:文三路 90 号");
  auto legacy = reload(c).orders.front().ship_to;
  EXPECT_EQ(legacy.recipient, "李四");
  EXPECT_EQ(legacy.phone, "+8613900139000");
  EXPECT_EQ(legacy.detail, "学院路 1 号");
}

// Unpaid orders are found from the unpaid floor, not an index: each pass walks orders by id
// from it, closes those past their deadline, stops at the first unpaid one not yet due, and
// raises the floor to it (or past the last order read).
TEST_F(UnpaidTest, TheUnpaidSweepWalksFromItsFloorAndRaisesIt) {
  auto floor = [&] {
    auto lease = store_->reads().lease();
    return lease
        ->query_one("SELECT below_id FROM ord_unpaid_floor", {},
                    [](const store::Row& r) { return r.i64(0); })
        .value()
        .value();
  };
  auto order_of = [](const CheckoutResult& c) { return c.orders.front().id; };
  auto cancel = [&](const CheckoutResult& c) {
    write([&](store::Tx& tx) -> Status {
      JISHI_TRY(cancel_order(tx, env_, cfg_, order_of(c), UserId{1000}, "changed_mind"));
      return {};
    });
  };
  EXPECT_EQ(floor(), 0);  // an empty database
  auto c1 = buy(1), c2 = buy(1), c3 = buy(1);
  EXPECT_EQ(runner_->run_once(), 0);
  EXPECT_EQ(floor(), order_of(c1).value);  // the first unpaid order
  cancel(c1);
  cancel(c2);
  EXPECT_EQ(runner_->run_once(), 0);
  EXPECT_EQ(floor(), order_of(c3).value);  // past the cancelled ones

  // A shorter timeout: c5 falls due before c4, and waits for it (deadlines follow ids while
  // the timeout stays the same).
  auto c4 = buy(1);
  cfg_.pay_timeout_us /= 2;
  auto c5 = buy(1);
  clock_.advance_us(cfg_.pay_timeout_us);  // c3's and c4's deadline is a whole timeout later
  EXPECT_EQ(runner_->run_once(), 0);
  EXPECT_EQ(reload(c5).orders.front().status, "pending_payment");
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner_->run_once(), 3);  // c3, c4 and c5
  for (const auto& c : {c3, c4, c5})
    EXPECT_EQ(reload(c).orders.front().cancel_reason, "unpaid_timeout");
  EXPECT_EQ(floor(), order_of(c3).value);  // the walk started there; the next one moves on
  EXPECT_EQ(runner_->run_once(), 0);
  EXPECT_EQ(floor(), order_of(c5).value + 1);
  EXPECT_EQ(stock().reserved, 0);

  // An order after the floor moved past every order is found at its deadline.
  auto c6 = buy(2);
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner_->run_once(), 1);
  EXPECT_EQ(reload(c6).orders.front().status, "cancelled");
  {
    auto lease = store_->reads().lease();
    auto v = verify_stock(*lease);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->problems.empty()) << v->problems.front();
  }

  // A floor above an unpaid order would hide it from the sweep for good: verify names it.
  auto c7 = buy(1);
  write([&](store::Tx& tx) -> Status {
    return order::raise_unpaid_floor(tx, order_of(c7).value + 1);
  });
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner_->run_once(), 0);
  auto lease = store_->reads().lease();
  auto v = verify_stock(*lease);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("1 unpaid order(s) below it"), std::string::npos) << v->problems[0];
}

// A checkout whose closing keeps failing holds the floor, but the walk goes on past it from
// pass to pass (here two orders at a time), so the orders after it still close at their
// deadline.
TEST_F(UnpaidTest, AnUnpaidOrderThatCannotBeClosedHidesNoneAfterIt) {
  events::JobRunner runner(*store_, env_, events::JobRunnerOptions{});
  runner.sweep(std::string(kJobCloseUnpaid), close_unpaid_sweep(2));
  std::int64_t other = 0;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(other, listed_sku(tx, seller_, "pots", "紫砂壶", 5000));
    return {};
  });
  CheckoutRequest req;
  req.buyer = UserId{1000};
  req.token = "unpaid-test-stuck";
  req.address = order::AddressFields{"张三", "13800138000", "330106", "文三路 90 号", std::nullopt};
  req.lines.push_back({other, 1, std::nullopt});
  CheckoutResult stuck;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(stuck, checkout(tx, env_, cfg_, req));
    return {};
  });
  auto c2 = buy(1), c3 = buy(1), c4 = buy(1);
  // Releasing `stuck`'s unit will fail its stock row's CHECK: its closing fails every time.
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(tx.exec("UPDATE inv_stock SET reserved = 0 WHERE sku_id = $1", {other}));
    return {};
  });
  clock_.advance_us(cfg_.pay_timeout_us);
  EXPECT_EQ(runner.run_once(), 1);  // stuck fails, c2 closes
  EXPECT_EQ(runner.run_once(), 2);  // from where the last pass stopped: c3 and c4
  EXPECT_EQ(runner.run_once(), 0);
  for (const auto& c : {c2, c3, c4}) EXPECT_EQ(reload(c).orders.front().status, "cancelled");
  EXPECT_EQ(reload(stuck).orders.front().status, "pending_payment");
  EXPECT_EQ(stock().reserved, 0);
  auto lease = store_->reads().lease();
  EXPECT_EQ(lease
                ->query_one("SELECT below_id FROM ord_unpaid_floor", {},
                            [](const store::Row& r) { return r.i64(0); })
                .value(),
            stuck.orders.front().id.value);  // held by the one that cannot close
}

TEST_F(UnpaidTest, VerifyFindsReservedUnitsThatNoUnpaidOrderHolds) {
  buy(3);
  auto c = buy(2);
  write([&](store::Tx& tx) -> Status {  // cancelled without releasing its units
    JISHI_TRY(tx.exec("UPDATE ord_orders SET status = 'cancelled' WHERE id = $1",
                      {c.orders.front().id.value}));
    return {};
  });
  auto lease = store_->reads().lease();
  auto v = verify_stock(*lease);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("unpaid orders hold 3 units, the stock says 5 are reserved"),
            std::string::npos)
      << v->problems[0];
}

}  // namespace
}  // namespace jishi::flows
