// Trade statistics and the integrity checks (ledger, stock) for regulators and operators.
#include <boost/json.hpp>

#include "api/common.h"
#include "api/routes.h"
#include "core/clock.h"
#include "core/local_time.h"
#include "flows/trade.h"
#include "inventory/inventory.h"
#include "order/stats.h"
#include "pay/ledger.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;

namespace {

json::object bucket_json(const order::GmvBucket& b, std::string_view currency, bool province) {
  json::object o;
  o[province ? "province_code" : "date"] = b.key;
  if (province) o["province"] = b.name;
  o["gmv"] = json::object{{"amount", b.amount}, {"currency", currency}};
  o["orders"] = b.orders;
  return o;
}

Reply gmv(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_regulator(p) && !is_operator(p))
    return forbidden("trade statistics are for regulators and operators");
  std::string today = business_date(s.env.clock.now_us());
  std::string to = std::string(req.query_param("to").value_or(today));
  std::string from = std::string(req.query_param("from").value_or(""));
  auto to_start = business_day_start_us(to);
  if (!to_start) return http::problem(Error(Code::validation_failed, "to is YYYY-MM-DD", "to"));
  if (from.empty()) {
    from = to;
    for (int i = 0; i < 29; ++i) {  // the 30 days ending with `to`
      auto start = business_day_start_us(from);
      from = business_date(*start - 1);
    }
  }
  auto from_start = business_day_start_us(from);
  if (!from_start)
    return http::problem(Error(Code::validation_failed, "from is YYYY-MM-DD", "from"));
  std::int64_t end = *business_day_start_us(next_date(to));
  if (*from_start >= end || end - *from_start > 366LL * 86'400'000'000)
    return http::problem(
        Error(Code::validation_failed, "from..to is 1 to 366 days, from not after to", "from"));
  std::string currency(req.query_param("currency").value_or("CNY"));
  if (currency.size() != 3)
    return http::problem(
        Error(Code::validation_failed, "currency is an ISO 4217 code", "currency"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto r, order::gmv(*lease, *from_start, end, currency));
  json::object o;
  o["from"] = from;
  o["to"] = to;
  o["currency"] = r.currency;
  o["gmv"] = json::object{{"amount", r.amount}, {"currency", r.currency}};
  o["refunded"] = json::object{{"amount", r.refunded}, {"currency", r.currency}};
  o["orders"] = r.orders;
  json::array days, provinces;
  for (const auto& b : r.by_day) days.push_back(bucket_json(b, r.currency, false));
  for (const auto& b : r.by_province) provinces.push_back(bucket_json(b, r.currency, true));
  o["by_day"] = std::move(days);
  o["by_province"] = std::move(provinces);
  return ok_json(o);
}

// The checks of `jishi verify ledger` and `jishi verify stock`, on one snapshot of a read
// connection (WAL readers never block the writer). Each is one pass over its tables.
Reply verification(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_regulator(p) && !is_operator(p))
    return forbidden("ledger verification is for regulators and operators");
  auto lease = s.store.reads().lease();
  std::int64_t at = s.env.clock.now_us();
  std::optional<Result<std::optional<std::string>>> ledger_checked;
  std::optional<Result<inventory::VerifyReport>> stock_checked;
  {
    API_ASSIGN(auto snapshot, store::ReadSnapshot::begin(*lease));
    ledger_checked = pay::verify_ledger(*lease);
    stock_checked = flows::verify_stock(*lease);
  }
  if (!*ledger_checked) return http::problem(ledger_checked->error());
  if (!*stock_checked) return http::problem(stock_checked->error());
  const std::optional<std::string>& problem = **ledger_checked;
  const inventory::VerifyReport& stock = **stock_checked;
  json::object o;
  o["checked_at"] = format_rfc3339(at);
  json::object l;
  l["ok"] = !problem.has_value();
  if (problem)
    l["problem"] = *problem;
  else
    l["problem"] = nullptr;
  o["ledger"] = std::move(l);
  json::object st;
  st["ok"] = stock.problems.empty();
  st["skus"] = stock.skus;
  st["movements"] = stock.movements;
  // Units unpaid orders hold that the writer has not yet folded into `reserved` (≤ 1 s).
  st["deferred_units"] = stock.deferred_units;
  json::array problems;
  for (std::size_t i = 0; i < stock.problems.size() && i < 100; ++i)
    problems.push_back(json::string(stock.problems[i]));
  st["problems"] = std::move(problems);
  o["stock"] = std::move(st);
  return ok_json(o);
}

}  // namespace

void add_stats_routes(http::Router& router, Services& s) {
  router.add(Method::get, "/api/v1/stats/gmv", [&s](Request& r) { return gmv(s, r); });
  router.add(Method::get, "/api/v1/ledger/verification",
             [&s](Request& r) { return verification(s, r); });
}

}  // namespace jishi::api
