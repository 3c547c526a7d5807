// The simulator and the platform's HttpGateway over a real HTTP server on an ephemeral port,
// real signatures, real SQLite files. Notifications go to a route on the same server.
#include "paysim/simulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/test_server.h"
#include "pay/gateway.h"
#include "pay/gateway_wire.h"
#include "paysim/internal.h"
#include "paysim/routes.h"

namespace jishi::paysim {
namespace {

using pay::SignType;

// A new directory every time: a name from the pid alone met a directory an earlier process of
// the same pid had left, with its trades in it (pids wrap at 32768 over a full test run).
std::string temp_dir() {
  std::string dir = ::testing::TempDir() + "/jishi_paysim_XXXXXX";
  if (!::mkdtemp(dir.data())) ADD_FAILURE() << "mkdtemp " << dir;
  return dir;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

// A platform: its key pair, the notifications it received, and how many it refuses first.
struct Receiver {
  std::mutex mu;
  std::vector<std::map<std::string, std::string>> received;
  int refuse_next = 0;
};

class Sim : public ::testing::Test {
 protected:
  void start(SignType type = SignType::sm2, const Clock* clock = nullptr, int duplicate_pct = 0,
             int reorder_pct = 0) {
    platform = *pay::generate_key_pair(type);
    SimulatorOptions o;
    o.dir = temp_dir();
    o.sign_type = type;
    o.platform_public_pem = platform.public_pem;
    o.faults_enabled = true;
    o.notify_retry_ms = 20;
    o.notify_attempts_max = 4;
    o.duplicate_pct = duplicate_pct;
    o.reorder_pct = reorder_pct;
    o.seed = 7;
    o.clock = clock;
    auto opened = Simulator::open(o);
    ASSERT_TRUE(opened) << opened.error().detail;
    sim = std::move(*opened);
    add_routes(server.router, *sim);
    server.router.add(http::Method::post, "/test/notify",
                      [this](http::Request& req) -> http::Reply {
                        auto form = http::parse_form(req.body);
                        std::lock_guard lock(receiver.mu);
                        http::Response r;
                        r.content_type = "text/plain";
                        if (receiver.refuse_next > 0) {
                          --receiver.refuse_next;
                          r.body = "fail";
                          return r;
                        }
                        receiver.received.emplace_back(form->begin(), form->end());
                        r.body = "success";
                        return r;
                      });
    server.start();
    sim->set_public_url(server.url);
    sim->start();
    pay::GatewayConfig g;
    g.base_url = server.url;
    g.sign_type = type;
    g.platform_private_pem = platform.private_pem;
    g.gateway_public_pem = sim->public_key_pem();
    g.clock = clock;
    gateway = pay::make_http_gateway(g);
    notify_url = server.url + "/test/notify";
  }
  void TearDown() override {
    if (sim) sim->stop();
    server.stop();
  }
  std::vector<std::map<std::string, std::string>> received() {
    std::lock_guard lock(receiver.mu);
    return receiver.received;
  }
  std::vector<std::string> statuses_for(const std::string& out_trade_no) {
    std::vector<std::string> out;
    for (auto& n : received())
      if (n["out_trade_no"] == out_trade_no) out.push_back(n["trade_status"]);
    return out;
  }

  http::testing::TestServer server;
  Receiver receiver;
  pay::KeyPair platform;
  std::unique_ptr<Simulator> sim;
  std::unique_ptr<pay::Gateway> gateway;
  std::string notify_url;
};

TEST_F(Sim, CardPaymentIsCreatedPaidNotifiedAndRefunded) {
  start();
  auto t = gateway->create_trade(pay::Channel::card, "P1", 1999, "CNY", "茶叶 & 杯", notify_url);
  ASSERT_TRUE(t) << t.error().detail;
  EXPECT_EQ(t->status, "WAIT_BUYER_PAY");
  EXPECT_EQ(t->amount, 1999);
  EXPECT_EQ(t->cashier_url, server.url + "/sim/cashier/" + t->trade_no);
  // Idempotent per out_trade_no; another amount is refused.
  auto again = gateway->create_trade(pay::Channel::card, "P1", 1999, "CNY", "x", notify_url);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->trade_no, t->trade_no);
  auto other = gateway->create_trade(pay::Channel::card, "P1", 2000, "CNY", "x", notify_url);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Code::conflict);
  // Refunding before payment is refused.
  EXPECT_EQ(gateway->refund("P1", "R0", 100).error().code, Code::invalid_state);

  // The payer sees the cashier page and pays with a test card.
  auto page = http::get(t->cashier_url);
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("19.99"), std::string::npos);
  EXPECT_NE(page->body.find("茶叶 &amp; 杯"), std::string::npos);
  EXPECT_NE(page->body.find("card_number"), std::string::npos);
  auto paid =
      http::post_form(t->cashier_url, {{"result", "success"}, {"card_number", "6222020000000001"}});
  ASSERT_TRUE(paid);
  EXPECT_EQ(paid->status, 200);

  auto q = gateway->query_trade("P1");
  ASSERT_TRUE(q) << q.error().detail;
  EXPECT_EQ(q->status, "TRADE_SUCCESS");
  EXPECT_EQ(q->fee, 12);  // 0.60 % of 19.99 = 0.11994 -> 0.12
  EXPECT_GT(q->paid_at_us, 0);

  ASSERT_TRUE(eventually([&] { return statuses_for("P1").size() == 2; }));
  EXPECT_EQ(statuses_for("P1"), (std::vector<std::string>{"WAIT_BUYER_PAY", "TRADE_SUCCESS"}));
  auto form = received()[1];
  auto n = gateway->verify_notification(form);
  ASSERT_TRUE(n) << n.error().detail;
  EXPECT_EQ(n->trade_status, "TRADE_SUCCESS");
  EXPECT_EQ(n->amount, 1999);
  EXPECT_EQ(n->fee, 12);
  EXPECT_EQ(n->currency, "CNY");
  EXPECT_TRUE(n->is_final());
  auto forged = form;
  forged["total_amount"] = "0.01";
  EXPECT_EQ(gateway->verify_notification(forged).error().code, Code::unauthenticated);
  forged = form;
  forged.erase("sign");
  EXPECT_EQ(gateway->verify_notification(forged).error().code, Code::unauthenticated);

  auto r = gateway->refund("P1", "R1", 500);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->status, "REFUND_SUCCESS");
  EXPECT_EQ(r->amount, 500);
  auto r_again = gateway->refund("P1", "R1", 500);
  ASSERT_TRUE(r_again);
  EXPECT_EQ(r_again->refund_no, r->refund_no);
  EXPECT_EQ(gateway->refund("P1", "R1", 400).error().code, Code::conflict);
  EXPECT_EQ(gateway->refund("P1", "R2", 1500).error().code, Code::invalid_state);
  EXPECT_TRUE(gateway->refund("P1", "R2", 1499));
  EXPECT_EQ(gateway->query_trade("NOPE").error().code, Code::not_found);
}

TEST_F(Sim, DeclinedCardAndDeclineButtonCloseTheTrade) {
  start(SignType::rsa2);
  auto a = gateway->create_trade(pay::Channel::card, "D1", 100, "CNY", "x", notify_url);
  auto b = gateway->create_trade(pay::Channel::qr, "D2", 100, "CNY", "x", notify_url);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->qr_code, b->cashier_url);
  EXPECT_EQ(sim->complete(a->trade_no, true, "6222020000000002")->status, "TRADE_CLOSED");
  EXPECT_EQ(sim->complete(b->trade_no, false, "")->status, "TRADE_CLOSED");
  EXPECT_EQ(sim->complete(b->trade_no, true, "").error().code, Code::invalid_state);
  EXPECT_EQ(gateway->query_trade("D1")->status, "TRADE_CLOSED");
  ASSERT_TRUE(eventually([&] { return statuses_for("D2").size() == 2; }));
  EXPECT_EQ(statuses_for("D2").back(), "TRADE_CLOSED");
}

TEST_F(Sim, RequestsWithABadSignatureAreRefusedWithASignedAnswer) {
  start();
  // A platform key the simulator does not know.
  auto stranger = *pay::generate_key_pair(SignType::sm2);
  pay::GatewayConfig g;
  g.base_url = server.url;
  g.platform_private_pem = stranger.private_pem;
  g.gateway_public_pem = sim->public_key_pem();
  auto impostor = pay::make_http_gateway(g);
  auto t = impostor->create_trade(pay::Channel::qr, "X1", 100, "CNY", "x", notify_url);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Code::upstream_failure);
  EXPECT_NE(t.error().detail.find("isv.invalid-signature"), std::string::npos);
  EXPECT_EQ(gateway->query_trade("X1").error().code, Code::not_found);  // nothing was created

  // The refusal itself is signed by the gateway, over the object's exact text.
  auto raw =
      http::post_form(server.url + "/sim/gateway/api", {{"app_id", "jishi"},
                                                        {"method", "trade.query"},
                                                        {"sign_type", "SM2"},
                                                        {"timestamp", "2026-11-28 12:00:00"},
                                                        {"version", "1.0"},
                                                        {"biz_content", R"({"out_trade_no":"X1"})"},
                                                        {"sign", "AAAA"}});
  ASSERT_TRUE(raw);
  auto verifier = pay::Verifier::from_pem(SignType::sm2, sim->public_key_pem());
  auto answer = pay::wire::verify_response(*verifier, "trade.query", raw->body);
  ASSERT_TRUE(answer) << answer.error().detail;
  EXPECT_EQ((*answer)["sub_code"], "isv.invalid-signature");
  // A gateway answer whose signature does not match is not trusted.
  auto tampered = raw->body;
  tampered.replace(tampered.find("invalid-signature"), 7, "INVALID");
  EXPECT_EQ(pay::wire::verify_response(*verifier, "trade.query", tampered).error().code,
            Code::upstream_failure);
}

TEST_F(Sim, NotificationsAreRetriedUntilSuccessThenGivenUp) {
  start();
  receiver.refuse_next = 2;
  auto t = gateway->create_trade(pay::Channel::netbank, "N1", 300, "CNY", "x", notify_url);
  ASSERT_TRUE(t);
  ASSERT_TRUE(eventually([&] { return statuses_for("N1").size() == 1; }));
  // The receiver has it; the simulator records the outcome right after the answer.
  ASSERT_TRUE(eventually([&] {
    auto r = sim->notifications("N1");
    return r.size() == 1 && r[0].state != "pending";
  }));
  auto rows = sim->notifications("N1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "delivered");
  EXPECT_EQ(rows[0].attempts, 3);  // refused twice, then "success"

  // A platform that never answers "success": after notify_attempts_max the simulator gives up.
  auto lost =
      gateway->create_trade(pay::Channel::qr, "N2", 300, "CNY", "x", "http://127.0.0.1:1/notify");
  ASSERT_TRUE(lost);
  ASSERT_TRUE(eventually([&] {
    auto r = sim->notifications("N2");
    return r.size() == 1 && r[0].state == "failed";
  }));
  auto failed = sim->notifications("N2")[0];
  EXPECT_EQ(failed.attempts, 4);
  EXPECT_FALSE(failed.last_error.empty());
}

TEST_F(Sim, DuplicateAndStaleOutOfOrderNotificationsAreProduced) {
  start(SignType::sm2, nullptr, 100, 100);
  auto t = gateway->create_trade(pay::Channel::qr, "O1", 1000, "CNY", "x", notify_url);
  ASSERT_TRUE(t);
  ASSERT_TRUE(eventually([&] { return statuses_for("O1").size() == 2; }));
  ASSERT_TRUE(sim->complete(t->trade_no, true, ""));
  // WAIT x2 (duplicate), SUCCESS x2 (duplicate), then the stale WAIT after the final state.
  ASSERT_TRUE(eventually([&] { return statuses_for("O1").size() == 5; }));
  EXPECT_EQ(statuses_for("O1"),
            (std::vector<std::string>{"WAIT_BUYER_PAY", "WAIT_BUYER_PAY", "TRADE_SUCCESS",
                                      "TRADE_SUCCESS", "WAIT_BUYER_PAY"}));
  auto all = received();
  EXPECT_EQ(all[0]["notify_id"], all[1]["notify_id"]);  // a duplicate is the same notification
  EXPECT_EQ(all[4]["notify_id"], all[0]["notify_id"]);  // the stale one is the old one
  for (auto& n : all) EXPECT_TRUE(gateway->verify_notification(n)) << n["notify_id"];
  auto rows = sim->notifications("O1");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[4].stale);
}

TEST_F(Sim, UnpaidTradesCloseAfterTheTimeout) {
  // 2026-11-28 12:00:00 Beijing.
  ManualClock clock(*pay::wire::parse_time("2026-11-28 12:00:00"));
  start(SignType::sm2, &clock);
  auto t = gateway->create_trade(pay::Channel::qr, "T1", 100, "CNY", "x", notify_url);
  ASSERT_TRUE(t);
  sim->stop();  // the background thread would close it too; this test calls close_expired
  EXPECT_EQ(*sim->close_expired(), 0);
  clock.advance_us(limits::gateway_trade_timeout_us);
  EXPECT_EQ(*sim->close_expired(), 1);
  EXPECT_EQ(gateway->query_trade("T1")->status, "TRADE_CLOSED");
}

TEST(Fees, PerChannelRoundedHalfToEven) {
  EXPECT_EQ(fee_for("card", 1999), 12);   // 11.994
  EXPECT_EQ(fee_for("card", 2500), 15);   // 15.0
  EXPECT_EQ(fee_for("netbank", 100), 0);  // 0.5 -> 0 (even)
  EXPECT_EQ(fee_for("netbank", 300), 2);  // 1.5 -> 2 (even)
  EXPECT_EQ(fee_for("netbank", 500), 2);  // 2.5 -> 2 (even)
  EXPECT_EQ(fee_for("qr", 12500), 48);    // 47.5 -> 48 (even)
  EXPECT_EQ(fee_for("qr", 10000), 38);
  EXPECT_EQ(fee_for("qr", INT64_MAX / 2), 17524406870024074);
}

class Statement : public Sim {
 protected:
  // Pays a trade at a Beijing wall-clock time.
  std::string pay_at(ManualClock& clock, const std::string& out_trade_no, std::int64_t amount,
                     const char* beijing) {
    auto t = gateway->create_trade(pay::Channel::qr, out_trade_no, amount, "CNY", "x", notify_url);
    EXPECT_TRUE(t);
    clock.set_us(*pay::wire::parse_time(beijing));
    EXPECT_TRUE(sim->complete(t->trade_no, true, ""));
    return t->trade_no;
  }
  std::vector<std::string> lines(const std::string& csv) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < csv.size()) {
      auto nl = csv.find('\n', at);
      out.push_back(csv.substr(at, nl - at));
      at = nl + 1;
    }
    return out;
  }
};

TEST_F(Statement, ListsTheLocalDaysPaymentsAndRefundsAndAppliesEachFault) {
  ManualClock clock(*pay::wire::parse_time("2026-11-28 00:10:00"));
  start(SignType::sm2, &clock);
  sim->stop();  // the clock jumps hours ahead: the timeout must not close trades mid-test
  auto a = pay_at(clock, "A", 10000, "2026-11-28 00:20:00");  // 2026-11-27T16:20Z: still the 28th
  auto b = pay_at(clock, "B", 20000, "2026-11-28 09:00:00");
  auto c = pay_at(clock, "C", 30000, "2026-11-28 10:00:00");
  auto d = pay_at(clock, "D", 40000, "2026-11-28 23:59:00");
  pay_at(clock, "E", 50000, "2026-11-29 00:00:01");  // the next day
  clock.set_us(*pay::wire::parse_time("2026-11-28 11:00:00"));
  auto refund = gateway->refund("A", "A-R1", 2500);
  ASSERT_TRUE(refund);

  auto clean = gateway->download_statement("2026-11-28");
  ASSERT_TRUE(clean) << clean.error().detail;
  EXPECT_EQ(
      lines(*clean),
      (std::vector<std::string>{
          "trade_no,out_trade_no,type,amount,fee,currency,status,finished_at",
          a + ",A,payment,10000,38,CNY,TRADE_SUCCESS,2026-11-27T16:20:00.000000Z",
          b + ",B,payment,20000,76,CNY,TRADE_SUCCESS,2026-11-28T01:00:00.000000Z",
          c + ",C,payment,30000,114,CNY,TRADE_SUCCESS,2026-11-28T02:00:00.000000Z",
          refund->refund_no + ",A-R1,refund,2500,0,CNY,REFUND_SUCCESS,2026-11-28T03:00:00.000000Z",
          d + ",D,payment,40000,152,CNY,TRADE_SUCCESS,2026-11-28T15:59:00.000000Z"}));

  ASSERT_TRUE(sim->add_fault("2026-11-28", "drop", "B", 0, ""));
  ASSERT_TRUE(sim->add_fault("2026-11-28", "amount", "C", 7, ""));
  ASSERT_TRUE(sim->add_fault("2026-11-28", "fee", "A", 0, ""));  // default +1
  ASSERT_TRUE(sim->add_fault("2026-11-28", "extra", "", 999, ""));
  ASSERT_TRUE(sim->add_fault("2026-11-28", "shift", "D", 0, "next"));
  ASSERT_TRUE(sim->add_fault("2026-11-29", "shift", "E", 0, "previous"));
  EXPECT_EQ(sim->add_fault("2026-11-28", "shift", "D", 0, "sideways").error().code,
            Code::validation_failed);
  EXPECT_EQ(sim->add_fault("2026-11-28", "drop", "", 0, "").error().code, Code::validation_failed);

  auto faulty = gateway->download_statement("2026-11-28");
  ASSERT_TRUE(faulty);
  auto l = lines(*faulty);
  ASSERT_EQ(l.size(), 6u) << *faulty;
  EXPECT_EQ(l[1], a + ",A,payment,10000,39,CNY,TRADE_SUCCESS,2026-11-27T16:20:00.000000Z");
  EXPECT_EQ(l[2], c + ",C,payment,30007,114,CNY,TRADE_SUCCESS,2026-11-28T02:00:00.000000Z");
  EXPECT_EQ(l[3], refund->refund_no +
                      ",A-R1,refund,2500,0,CNY,REFUND_SUCCESS,2026-11-28T03:00:00.000000Z");
  EXPECT_TRUE(l[4].starts_with("SIMX")) << l[4];
  EXPECT_NE(l[4].find(",payment,999,0,CNY,TRADE_SUCCESS,2026-11-28T04:00:00.000000Z"),
            std::string::npos);
  // E moved back across midnight into the 28th; D moved out of it.
  EXPECT_TRUE(l[5].starts_with("SIM") == false &&
              l[5].find(",E,payment,50000,") != std::string::npos)
      << l[5];
  EXPECT_TRUE(l[5].ends_with("2026-11-28T15:59:59.500000Z"));
  EXPECT_EQ(faulty->find(",B,"), std::string::npos);
  EXPECT_EQ(faulty->find(",D,"), std::string::npos);

  auto next = sim->statement("2026-11-29");
  ASSERT_TRUE(next);
  EXPECT_EQ(lines(*next),
            (std::vector<std::string>{
                "trade_no,out_trade_no,type,amount,fee,currency,status,finished_at",
                d + ",D,payment,40000,152,CNY,TRADE_SUCCESS,2026-11-28T16:00:00.500000Z"}));
  EXPECT_EQ(gateway->download_statement("2026-13-01").error().code, Code::validation_failed);
}

}  // namespace
}  // namespace jishi::paysim
