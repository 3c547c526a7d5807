// /sim routes. Work runs on the CPU pool (signatures, the simulator's own SQLite file), never on
// an I/O thread.
#include "paysim/routes.h"
#include <functional>

#include <boost/json.hpp>

#include "core/json.h"
#include "http/client.h"
#include "pay/gateway_wire.h"

namespace jishi::paysim {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;

namespace {

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Response html(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string page(std::string_view title, std::string_view inner) {
  return "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"><title>" +
         escape_html(title) +
         "</title><style>body{font-family:sans-serif;max-width:28em;margin:2em auto}"
         ".amount{font-size:2em}button{font-size:1.2em;margin:.5em}</style></head><body>" +
         std::string(inner) + "</body></html>\n";
}

std::string trade_summary(const SimTrade& t) {
  return "<h1>jishi 支付网关模拟器 · gateway simulator</h1><p class=\"amount\">" +
         escape_html(t.currency) + " " +
         escape_html(pay::wire::format_amount(t.amount, t.currency).value_or("?")) + "</p><p>" +
         escape_html(t.subject) + "</p><p>trade_no <code>" + escape_html(t.trade_no) +
         "</code> · channel " + escape_html(t.channel) + " · status <b id=\"status\">" +
         escape_html(t.status) + "</b></p>";
}

bool wants_json(const Request& req) {
  auto accept = req.header("accept");
  return accept && accept->find("application/json") != std::string_view::npos;
}

}  // namespace

// The handlers run on the I/O thread, not the CPU pool: the platform calls the gateway from its
// CPU pool (pay_routes.cc confirm) and waits for the answer, so a simulator needing that pool
// would deadlock it under concurrent confirmations.
void add_routes(http::Router& router, Simulator& sim) {
  http::RouteOptions gateway;
  gateway.unlimited = true;  // the platform's own server-to-server calls
  gateway.body_bytes_max = 64 << 10;
  router.add(
      Method::post, "/sim/gateway/api",
      [&sim](Request& req) -> Reply {
        return std::invoke([&sim, body = req.body]() -> Reply {
          Response r;
          r.content_type = "application/json; charset=utf-8";
          r.body = sim.handle_api(body);
          return r;
        });
      },
      gateway);

  router.add(Method::get, "/sim/cashier/{trade_no}", [&sim](Request& req) -> Reply {
    return std::invoke([&sim, trade_no = std::string(req.param("trade_no"))]() -> Reply {
      auto t = sim.trade(trade_no);
      if (!t) return http::problem(t.error());
      std::string inner = trade_summary(*t);
      if (t->status == "WAIT_BUYER_PAY") {
        inner += "<form method=\"post\">";
        if (t->channel == "card")
          inner +=
              "<p><label>银行卡号 card number <input name=\"card_number\" inputmode=\"numeric\" "
              "value=\"6222020000000001\"></label><br><small>test cards: any 12-19 digits; one "
              "ending in 0002 is declined</small></p>";
        inner +=
            "<button name=\"result\" value=\"success\">支付 Pay</button>"
            "<button name=\"result\" value=\"fail\">拒绝 Decline</button></form>";
      }
      return html(200, page("收银台 Cashier", inner));
    });
  });

  router.add(Method::post, "/sim/cashier/{trade_no}", [&sim](Request& req) -> Reply {
    return std::invoke([&sim, trade_no = std::string(req.param("trade_no")), body = req.body,
                        json_answer = wants_json(req)]() -> Reply {
      auto form = http::parse_form(body);
      if (!form) return http::problem(Error(Code::bad_request, "malformed form body"));
      std::string result, card;
      for (const auto& [k, v] : *form) {
        if (k == "result") result = v;
        if (k == "card_number") card = v;
      }
      if (result != "success" && result != "fail")
        return http::problem(
            Error(Code::validation_failed, "result must be success or fail", "result"));
      auto t = sim.complete(trade_no, result == "success", card);
      if (!t) return http::problem(t.error());
      if (json_answer)
        return http::json_response(200, json::object{{"trade_no", t->trade_no},
                                                     {"out_trade_no", t->out_trade_no},
                                                     {"status", t->status}});
      return html(200, page("收银台 Cashier", trade_summary(*t)));
    });
  });

  router.add(Method::post, "/sim/admin/statement-faults", [&sim](Request& req) -> Reply {
    if (!sim.faults_enabled())
      return http::problem(
          Error(Code::forbidden, "statement faults are disabled (set simulator_faults=true)"));
    auto ct = req.header("content-type");
    if (!ct || !ct->starts_with("application/json"))
      return http::problem(Error(Code::unsupported_media_type, "send application/json"));
    auto body = parse_json(req.body);
    if (!body) return http::problem(body.error());
    FieldReader f(*body);
    auto date = f.string("date", 10);
    auto kind = f.string("kind", 10);
    auto target = f.optional_string("out_trade_no", limits::gateway_id_bytes_max);
    auto delta = f.optional_integer("delta", -1'000'000'000'000LL, 1'000'000'000'000LL);
    auto direction = f.optional_string("direction", 10);
    if (auto st = f.finish(); !st) return http::problem(st.error());
    return std::invoke([&sim, date, kind, target, delta, direction]() -> Reply {
      auto st =
          sim.add_fault(date, kind, target.value_or(""), delta.value_or(0), direction.value_or(""));
      if (!st) return http::problem(st.error());
      return http::json_response(201, json::object{{"date", date}, {"kind", kind}});
    });
  });
}

}  // namespace jishi::paysim
