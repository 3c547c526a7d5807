// The demo's market: categories, ten merchants with valid credit codes, about a thousand
// products with Chinese names, stock, buyers with addresses; then, once the server is up, orders
// in every status with real payments behind them (paid through the built-in gateway simulator's
// cashier over HTTP, like a buyer would).
#include <atomic>
#include <iostream>
#include <random>
#include <thread>

#include "app/app.h"
#include "app/seed_catalog.h"
#include "core/log.h"
#include "flows/trade.h"
#include "http/client.h"
#include "identity/orgs.h"
#include "identity/password.h"
#include "identity/users.h"
#include "pay/payments.h"

namespace jishi::app {

namespace {

constexpr std::string_view kDemoPassword = "jishi-demo-2026";

// GB 32100: 18 characters, the last a check character over the first 17.
std::string credit_code(std::string_view body17) {
  static constexpr std::string_view kChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kWeights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                       29, 25, 13, 8,  24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += static_cast<int>(kChars.find(body17[i])) * kWeights[i];
  return std::string(body17) + kChars[(31 - sum % 31) % 31];
}

// Drops a result's value, keeping its error.
template <class T>
Status done(const Result<T>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

struct Shop {
  const char* name;
  const char* region;  // six-digit area code: the credit code's region and the shop's home
};
constexpr Shop kShops[] = {
    {"北京京华数码科技有限公司", "110105"}, {"上海申美服饰有限公司", "310115"},
    {"广州粤鲜食品有限公司", "440106"},     {"深圳鹏城电子商务有限公司", "440305"},
    {"成都蜀韵家居用品有限公司", "510107"}, {"武汉江城运动用品有限公司", "420106"},
    {"西安长安文具图书有限公司", "610113"}, {"南京金陵母婴用品有限公司", "320104"},
    {"厦门鹭岛美妆有限公司", "350203"},     {"青岛海韵家电贸易有限公司", "370202"},
};

}  // namespace

Status seed_market(Runtime& rt, DemoMarket& market) {
  std::string hash = identity::hash_password(
      kDemoPassword, identity::parse_hash_cost(rt.config.password_hash_cost));
  SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto op, identity::find_login(tx, env, "operator@jishi.demo"));
    int i = 0;
    for (const auto& shop : kShops) {
      ++i;
      std::string email = "shop" + std::to_string(i) + "@jishi.demo";
      identity::NewUser nu{email, std::nullopt, std::string(shop.name).substr(0, 6) + " 店长",
                           hash};
      JISHI_ASSIGN_OR_RETURN(auto owner, identity::create_user(tx, env, nu));
      char body[18];
      std::snprintf(body, sizeof body, "91%sMA%06dX", shop.region, 1000 + i);
      identity::NewOrg org{identity::OrgKind::merchant, shop.name, credit_code(body), true,
                           std::string(shop.region)};
      JISHI_ASSIGN_OR_RETURN(auto created, identity::create_org(tx, env, owner.id, org));
      JISHI_TRY(identity::review_org(tx, env, created.id, op->id, true,
                                     std::string("demo: documents checked")));
      market.sellers.push_back({created.id, owner.id});
    }
    for (int b = 1; b <= 20; ++b) {
      identity::NewUser nu{"buyer" + std::to_string(b) + "@jishi.demo", std::nullopt,
                           "买家" + std::to_string(b), hash};
      JISHI_ASSIGN_OR_RETURN(auto u, identity::create_user(tx, env, nu));
      market.buyers.push_back(u.id);
    }
    return {};
  }));
  return seed_catalog(rt, market);
}

namespace {

// Pays a checkout's intent by card at the simulator's cashier, as its buyer would.
Status pay_by_card(Runtime& rt, api::Services& s, const flows::CheckoutResult& c) {
  if (!s.gateway) return fail(Code::unavailable, "no gateway");
  std::string notify_url = s.base_url + "/api/v1/payments/notify/card";
  JISHI_ASSIGN_OR_RETURN(
      auto trade, s.gateway->create_trade(
                      pay::Channel::card, std::to_string(c.intent.id.value), c.intent.amount.minor,
                      c.intent.amount.currency.code_view(), c.intent.description, notify_url));
  SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
    JISHI_TRY(pay::start_channel_payment(tx, env, c.intent.id, c.checkout.buyer, pay::Channel::card,
                                         trade, std::nullopt));
    return {};
  }));
  http::Fields form{{"result", "success"}, {"card_number", "6222020200001111"}};
  JISHI_TRY(done(http::post_form(s.base_url + "/sim/cashier/" + trade.trade_no, form)));
  // The simulator's signed notification arrives over HTTP; wait for it.
  for (int i = 0; i < 200; ++i) {
    {
      auto lease = rt.store->reads().lease();
      JISHI_ASSIGN_OR_RETURN(auto intent, pay::get_intent(*lease, c.intent.id));
      if (intent && intent->status == pay::IntentStatus::succeeded) return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail(Code::unavailable, "the demo payment was not notified in time");
}

}  // namespace

Status seed_orders(Runtime& rt, api::Services& s, const DemoMarket& market,
                   const std::atomic<bool>& stop) {
  std::mt19937 rng(2026);
  const auto& cfg = s.trade;
  // Addresses for the buyers, across the country.
  constexpr const char* kRegions[] = {"110105", "310104", "440305", "330106", "510107",
                                      "420106", "320104", "350203", "610113", "370202"};
  std::vector<order::AddressId> addresses;
  SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
    int i = 0;
    for (auto buyer : market.buyers) {
      order::AddressFields a{"买家" + std::to_string(++i), "1380013" + std::to_string(8000 + i),
                             kRegions[i % 10], "幸福路 " + std::to_string(10 + i) + " 号",
                             std::nullopt};
      JISHI_ASSIGN_OR_RETURN(auto saved, order::create_address(tx, env, buyer, a, true));
      addresses.push_back(saved.id);
    }
    return {};
  }));
  // Twelve kinds of story; each buyer lives a few of them.
  enum Story {
    unpaid,
    cancelled,
    paid,
    shipped,
    delivered,
    completed,
    rated,
    refunded,
    returning,
    returned,
    multi_shop,
    kStories
  };
  int made = 0;
  for (int round = 0; round < 3 && !stop; ++round) {
    for (std::size_t b = 0; b < market.buyers.size() && !stop; ++b) {
      Story story = static_cast<Story>((b + round * 7) % kStories);
      UserId buyer = market.buyers[b];
      flows::CheckoutRequest req;
      req.buyer = buyer;
      req.token = "demo-" + std::to_string(round) + "-" + std::to_string(b) + "-checkout";
      req.address_id = addresses[b];
      int shops = story == multi_shop ? 3 : 1;
      for (int k = 0; k < shops; ++k) {
        const auto& p = market.products[rng() % market.products.size()];
        req.lines.push_back({p.sku, 1 + static_cast<std::int64_t>(rng() % 2), std::nullopt});
      }
      flows::CheckoutResult c;
      auto ok = write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
        JISHI_ASSIGN_OR_RETURN(c, flows::checkout(tx, env, cfg, req));
        return {};
      });
      if (!ok) continue;  // out of stock: fine, the demo has other products
      ++made;
      if (story == unpaid) continue;
      if (story == cancelled) {
        SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
          return done(flows::cancel_order(tx, env, cfg, c.orders.front().id, buyer, "买错了"));
        }));
        continue;
      }
      JISHI_TRY(pay_by_card(rt, s, c));
      if (story == paid || story == multi_shop) continue;
      auto o = c.orders.front();
      if (story == refunded) {
        SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
          return done(flows::refund_unshipped(tx, env, o.id, buyer, "不想要了"));
        }));
        continue;
      }
      UserId seller_user;
      for (const auto& sel : market.sellers)
        if (sel.org == o.seller) seller_user = sel.owner;
      SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
        return done(flows::ship(tx, env, cfg, o.id, o.seller, seller_user, "SF",
                                "SF" + std::to_string(1400000000 + made)));
      }));
      if (story == shipped) continue;
      if (story == delivered) {
        SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
          return done(flows::mark_delivered(tx, env, o.id, o.seller, seller_user));
        }));
        continue;
      }
      if (story == returning || story == returned) {
        SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
          JISHI_ASSIGN_OR_RETURN(
              auto a, flows::request_return(tx, env, o.id, buyer, o.total, "尺码不合适"));
          JISHI_TRY(done(flows::approve_return(tx, env, a.id, o.seller, seller_user)));
          JISHI_TRY(
              done(flows::ship_return(tx, env, a.id, buyer, "YTO", "YT" + std::to_string(made))));
          if (story == returned)
            JISHI_TRY(done(flows::receive_return(tx, env, a.id, o.seller, seller_user)));
          return {};
        }));
        continue;
      }
      SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env& env) -> Status {
        JISHI_TRY(done(flows::confirm_receipt(tx, env, cfg, o.id, buyer)));
        if (story == rated)
          JISHI_TRY(done(flows::rate_order(tx, env, o.id, buyer,
                                           order::Scores{5, 4 + static_cast<int>(made % 2), 5},
                                           "质量很好，物流很快，好评！")));
        return {};
      }));
    }
  }
  spdlog::info("demo: {} checkouts seeded with their payments", made);
  return {};
}

}  // namespace jishi::app
