// Trade statistics for regulators and operators.
#include <boost/json.hpp>

#include "api/common.h"
#include "api/routes.h"
#include "core/local_time.h"
#include "order/stats.h"

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

}  // namespace

void add_stats_routes(http::Router& router, Services& s) {
  router.add(Method::get, "/api/v1/stats/gmv", [&s](Request& r) { return gmv(s, r); });
}

}  // namespace jishi::api
