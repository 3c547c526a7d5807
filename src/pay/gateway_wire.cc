#include "pay/gateway_wire.h"

#include <boost/json.hpp>
#include <cstdio>

#include "core/json.h"
#include "core/money.h"

namespace jishi::pay::wire {

namespace {
constexpr std::int64_t kBeijingOffsetUs = 8LL * 3600 * 1'000'000;
constexpr std::int64_t kDayUs = 86400LL * 1'000'000;

// Days since 1970-01-01 <-> civil date (Howard Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}
}  // namespace

Result<std::string> format_amount(std::int64_t minor, std::string_view currency) {
  JISHI_ASSIGN_OR_RETURN(auto c, currency_from_code(currency));
  return format_decimal(Money{minor, c});
}

Result<std::int64_t> parse_amount(std::string_view text, std::string_view currency) {
  JISHI_ASSIGN_OR_RETURN(auto c, currency_from_code(currency));
  JISHI_ASSIGN_OR_RETURN(auto m, parse_decimal(text, c));
  return m.minor;
}

std::string format_time(std::int64_t unix_us) {
  std::int64_t local = unix_us + kBeijingOffsetUs;
  std::int64_t days = local >= 0 ? local / kDayUs : (local - kDayUs + 1) / kDayUs;
  std::int64_t secs = (local - days * kDayUs) / 1'000'000;
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", y, m, d,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

std::optional<std::int64_t> parse_time(std::string_view text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  std::string copy(text);
  if (text.size() != 19 ||
      std::sscanf(copy.c_str(), "%4d-%2u-%2u %2u:%2u:%2u%c", &y, &mo, &d, &h, &mi, &s, &tail) != 6)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::int64_t days = days_from_civil(y, mo, d);
  return (days * 86400 + h * 3600 + mi * 60 + s) * 1'000'000LL - kBeijingOffsetUs;
}

std::string response_key(std::string_view method) {
  std::string key(method);
  for (auto& c : key)
    if (c == '.') c = '_';
  return key + "_response";
}

Result<std::string> signed_response(const Signer& signer, std::string_view method,
                                    const boost::json::object& response) {
  std::string text = boost::json::serialize(response);
  JISHI_ASSIGN_OR_RETURN(auto sig, signer.sign(text));
  return "{\"" + response_key(method) + "\":" + text + ",\"sign\":\"" + sig + "\"}";
}

Result<boost::json::object> verify_response(const Verifier& verifier, std::string_view method,
                                            std::string_view body) {
  auto bad = [](std::string why) { return fail(Code::upstream_failure, std::move(why)); };
  std::string prefix = "{\"" + response_key(method) + "\":";
  constexpr std::string_view kSignKey = ",\"sign\":\"";
  auto sign_at = body.rfind(kSignKey);
  if (!body.starts_with(prefix) || sign_at == std::string_view::npos || sign_at < prefix.size() ||
      !body.ends_with("\"}"))
    return bad("the gateway's answer is not a signed " + response_key(method));
  auto object_text = body.substr(prefix.size(), sign_at - prefix.size());
  auto sig = body.substr(sign_at + kSignKey.size(), body.size() - 2 - sign_at - kSignKey.size());
  if (auto ok = verifier.verify(object_text, sig); !ok)
    return bad("the gateway's answer is not signed by the gateway: " + ok.error().detail);
  auto parsed = parse_json(object_text);
  if (!parsed || !parsed->is_object()) return bad("the gateway's answer is not a JSON object");
  return parsed->as_object();
}

}  // namespace jishi::pay::wire
