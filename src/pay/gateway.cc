// HttpGateway: the platform's client for the signed gateway protocol (docs/payments-gateway.md).
#include "pay/gateway.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/json.h"
#include "http/client.h"
#include "pay/gateway_wire.h"

namespace jishi::pay {

namespace json = boost::json;

std::string_view name_of(Channel c) {
  switch (c) {
    case Channel::card:
      return "card";
    case Channel::netbank:
      return "netbank";
    case Channel::qr:
      return "qr";
    case Channel::wallet:
      return "wallet";
  }
  return "card";
}

std::optional<Channel> parse_channel(std::string_view name) {
  for (auto c : {Channel::card, Channel::netbank, Channel::qr, Channel::wallet})
    if (name_of(c) == name) return c;
  return std::nullopt;
}

namespace {

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

// A business failure from the gateway, as one of our codes.
Error business_error(const json::object& r) {
  auto code = text_of(r, "code"), sub = text_of(r, "sub_code");
  std::string detail = "gateway: " + code + " " + text_of(r, "msg");
  if (!sub.empty()) detail += " (" + sub + ": " + text_of(r, "sub_msg") + ")";
  if (sub == "ACQ.TRADE_NOT_EXIST") return Error(Code::not_found, detail);
  if (sub == "ACQ.AMOUNT_MISMATCH" || sub == "ACQ.REFUND_NO_REUSED")
    return Error(Code::conflict, detail);
  if (sub == "ACQ.TRADE_STATUS_ERROR" || sub == "ACQ.REFUND_AMOUNT_EXCEEDED")
    return Error(Code::invalid_state, detail);
  if (sub == "isv.invalid-signature" || sub == "isv.invalid-app-id")
    return Error(Code::upstream_failure, detail);
  if (code == wire::kCodeMissingArgument || code == wire::kCodeInvalidArgument)
    return Error(Code::validation_failed, detail);
  return Error(Code::upstream_failure, detail);
}

Result<GatewayTrade> trade_from(const json::object& r) {
  GatewayTrade t;
  t.trade_no = text_of(r, "trade_no");
  t.out_trade_no = text_of(r, "out_trade_no");
  t.status = text_of(r, "trade_status");
  t.currency = text_of(r, "currency");
  t.qr_code = text_of(r, "qr_code");
  t.cashier_url = text_of(r, "cashier_url");
  if (t.trade_no.empty() || t.out_trade_no.empty() || t.status.empty())
    return fail(Code::upstream_failure, "gateway: the trade lacks trade_no/out_trade_no/status");
  auto amount = wire::parse_amount(text_of(r, "total_amount"), t.currency);
  if (!amount) return fail(Code::upstream_failure, "gateway: bad total_amount/currency");
  t.amount = *amount;
  if (auto fee = text_of(r, "fee_amount"); !fee.empty()) {
    auto f = wire::parse_amount(fee, t.currency);
    if (!f) return fail(Code::upstream_failure, "gateway: bad fee_amount");
    t.fee = *f;
  }
  if (auto paid = text_of(r, "gmt_payment"); !paid.empty()) {
    auto at = wire::parse_time(paid);
    if (!at) return fail(Code::upstream_failure, "gateway: bad gmt_payment");
    t.paid_at_us = *at;
  }
  return t;
}

class HttpGateway final : public Gateway {
 public:
  explicit HttpGateway(const GatewayConfig& c) : config_(c) {
    if (!config_.clock) config_.clock = &system_clock_;
    auto s = Signer::from_pem(c.sign_type, c.platform_private_pem);
    auto v = Verifier::from_pem(c.sign_type, c.gateway_public_pem);
    if (s && v) {
      signer_ = std::move(*s);
      verifier_ = std::move(*v);
      keys_ok_ = true;
    } else {
      spdlog::error("gateway client: keys do not load: {}",
                    s ? v.error().detail : s.error().detail);
    }
  }

  Result<GatewayTrade> create_trade(Channel channel, std::string_view out_trade_no,
                                    std::int64_t amount, std::string_view currency,
                                    std::string_view subject,
                                    std::string_view notify_url) override {
    if (channel == Channel::wallet)
      return fail(Code::validation_failed, "the wallet channel never reaches a gateway");
    JISHI_ASSIGN_OR_RETURN(auto total, wire::format_amount(amount, currency));
    json::object biz{{"out_trade_no", out_trade_no},
                     {"total_amount", total},
                     {"currency", currency},
                     {"subject", subject},
                     {"channel", name_of(channel)}};
    JISHI_ASSIGN_OR_RETURN(auto r, call("trade.create", biz, notify_url));
    return trade_from(r);
  }

  Result<GatewayTrade> query_trade(std::string_view out_trade_no) override {
    JISHI_ASSIGN_OR_RETURN(auto r, call("trade.query", {{"out_trade_no", out_trade_no}}, {}));
    return trade_from(r);
  }

  Result<GatewayRefund> refund(std::string_view out_trade_no, std::string_view out_refund_no,
                               std::int64_t amount) override {
    // The currency is the trade's; the amount is formatted with its exponent.
    JISHI_ASSIGN_OR_RETURN(auto trade, query_trade(out_trade_no));
    JISHI_ASSIGN_OR_RETURN(auto text, wire::format_amount(amount, trade.currency));
    JISHI_ASSIGN_OR_RETURN(auto r, call("trade.refund",
                                        {{"out_trade_no", out_trade_no},
                                         {"out_refund_no", out_refund_no},
                                         {"refund_amount", text}},
                                        {}));
    GatewayRefund out;
    out.refund_no = text_of(r, "refund_no");
    out.out_refund_no = text_of(r, "out_refund_no");
    out.status = text_of(r, "refund_status");
    auto a = wire::parse_amount(text_of(r, "refund_amount"), trade.currency);
    if (out.refund_no.empty() || out.status.empty() || !a)
      return fail(Code::upstream_failure, "gateway: malformed refund answer");
    out.amount = *a;
    return out;
  }

  Result<std::string> download_statement(std::string_view date) override {
    JISHI_ASSIGN_OR_RETURN(auto r, call("statement.download", {{"bill_date", date}}, {}));
    auto it = r.find("statement");
    if (it == r.end() || !it->value().is_string())
      return fail(Code::upstream_failure, "gateway: the answer has no statement");
    return std::string(it->value().as_string());
  }

  Result<Notification> verify_notification(
      const std::map<std::string, std::string>& form) const override {
    if (!keys_ok_) return fail(Code::internal, "gateway keys are not configured");
    auto sign_type = form.find("sign_type");
    if (sign_type == form.end() || sign_type->second != name_of(config_.sign_type))
      return fail(Code::unauthenticated,
                  "notification sign_type is not " + std::string(name_of(config_.sign_type)));
    JISHI_TRY(verifier_.verify_params(form));
    auto get = [&](const char* k) {
      auto it = form.find(k);
      return it == form.end() ? std::string() : it->second;
    };
    if (get("app_id") != config_.app_id)
      return fail(Code::validation_failed, "notification for another app_id");
    Notification n;
    n.notify_id = get("notify_id");
    n.trade_no = get("trade_no");
    n.out_trade_no = get("out_trade_no");
    n.trade_status = get("trade_status");
    n.currency = get("currency");
    if (n.notify_id.empty() || n.trade_no.empty() || n.out_trade_no.empty())
      return fail(Code::validation_failed, "notification lacks notify_id/trade_no/out_trade_no");
    if (n.trade_status != "WAIT_BUYER_PAY" && n.trade_status != "TRADE_SUCCESS" &&
        n.trade_status != "TRADE_CLOSED")
      return fail(Code::validation_failed, "unknown trade_status " + n.trade_status);
    JISHI_ASSIGN_OR_RETURN(n.amount, wire::parse_amount(get("total_amount"), n.currency));
    if (auto fee = get("fee_amount"); !fee.empty()) {
      JISHI_ASSIGN_OR_RETURN(n.fee, wire::parse_amount(fee, n.currency));
    }
    if (auto paid = get("gmt_payment"); !paid.empty()) {
      auto at = wire::parse_time(paid);
      if (!at) return fail(Code::validation_failed, "bad gmt_payment");
      n.paid_at_us = *at;
    }
    return n;
  }

 private:
  Result<json::object> call(std::string_view method, const json::object& biz,
                            std::string_view notify_url) {
    if (!keys_ok_) return fail(Code::internal, "gateway keys are not configured");
    SignParams p{{"app_id", config_.app_id},
                 {"method", std::string(method)},
                 {"charset", "utf-8"},
                 {"sign_type", std::string(name_of(config_.sign_type))},
                 {"timestamp", wire::format_time(config_.clock->now_us())},
                 {"version", std::string(wire::kVersion)},
                 {"biz_content", json::serialize(biz)}};
    if (!notify_url.empty()) p["notify_url"] = std::string(notify_url);
    JISHI_ASSIGN_OR_RETURN(auto sig, signer_.sign_params(p));
    p["sign"] = sig;
    http::Fields form(p.begin(), p.end());
    http::ClientOptions options;
    options.timeout_ms = config_.timeout_ms;
    JISHI_ASSIGN_OR_RETURN(
        auto res, http::post_form(config_.base_url + std::string(wire::kApiPath), form, options));
    if (res.status != 200)
      return fail(Code::upstream_failure, "gateway answered HTTP " + std::to_string(res.status) +
                                              " to " + std::string(method));
    JISHI_ASSIGN_OR_RETURN(auto r, wire::verify_response(verifier_, method, res.body));
    if (text_of(r, "code") != wire::kCodeSuccess) return fail(business_error(r));
    return r;
  }

  GatewayConfig config_;
  SystemClock system_clock_;
  Signer signer_;
  Verifier verifier_;
  bool keys_ok_ = false;
};

}  // namespace

std::unique_ptr<Gateway> make_http_gateway(const GatewayConfig& config) {
  return std::make_unique<HttpGateway>(config);
}

}  // namespace jishi::pay
