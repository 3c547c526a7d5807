// The platform's side of a payment gateway (a channel such as a bank card quick-pay acquirer,
// online banking or a QR wallet). Requests are signed with the platform's key and responses and
// notifications are verified with the gateway's public key, over canonicalised parameters the
// way Chinese gateways sign (pay/gateway_sign.h). Calls do network I/O: never make one inside a
// database transaction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/limits.h"
#include "core/result.h"
#include "pay/gateway_sign.h"

namespace jishi::pay {

// Channels behind one interface. `wallet` is internal (the buyer's balance) and never reaches a
// gateway; the others go through one.
enum class Channel { card, netbank, qr, wallet };
std::string_view name_of(Channel c);
std::optional<Channel> parse_channel(std::string_view name);

// A trade as the gateway knows it.
struct GatewayTrade {
  std::string trade_no;      // the gateway's id
  std::string out_trade_no;  // ours: the payment intent id
  std::string status;        // WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED
  std::int64_t amount = 0;   // minor units
  std::string currency;      // ISO 4217
  std::int64_t fee = 0;      // the channel's fee, minor units (known once paid)
  std::string qr_code;       // qr: the text to render as a QR code
  std::string cashier_url;   // card / netbank: where the payer completes the payment
  std::int64_t paid_at_us = 0;
};

struct GatewayRefund {
  std::string refund_no;      // the gateway's id
  std::string out_refund_no;  // ours
  std::string status;         // REFUND_SUCCESS | REFUND_FAILED
  std::int64_t amount = 0;
};

// A verified asynchronous notification.
struct Notification {
  std::string notify_id;
  std::string trade_no;
  std::string out_trade_no;
  std::string trade_status;  // WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED
  std::int64_t amount = 0;
  std::string currency;
  std::int64_t fee = 0;
  std::int64_t paid_at_us = 0;
  bool is_final() const {
    return trade_status == "TRADE_SUCCESS" || trade_status == "TRADE_CLOSED";
  }
};

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Creates (or, for the same out_trade_no and amount, returns) a trade. notify_url receives
  // the asynchronous notifications.
  virtual Result<GatewayTrade> create_trade(Channel channel, std::string_view out_trade_no,
                                            std::int64_t amount, std::string_view currency,
                                            std::string_view subject,
                                            std::string_view notify_url) = 0;
  virtual Result<GatewayTrade> query_trade(std::string_view out_trade_no) = 0;
  // Refunds part or all of a paid trade; idempotent by out_refund_no.
  virtual Result<GatewayRefund> refund(std::string_view out_trade_no,
                                       std::string_view out_refund_no, std::int64_t amount) = 0;
  // The statement (CSV, see docs/payments-gateway.md) of one day (YYYY-MM-DD, the gateway's time
  // zone).
  virtual Result<std::string> download_statement(std::string_view date) = 0;
  // Checks the signature of a notification's form parameters and parses it. A bad or missing
  // signature is Code::unauthenticated (the caller logs it and changes nothing).
  virtual Result<Notification> verify_notification(
      const std::map<std::string, std::string>& form) const = 0;
};

// The platform's client for a gateway speaking the signed protocol of docs/payments-gateway.md
// over HTTP (the built-in simulator, or a real gateway with the same protocol).
struct GatewayConfig {
  std::string base_url;  // requests go to POST {base_url}/sim/gateway/api
  std::string app_id = "jishi";
  SignType sign_type = SignType::sm2;
  std::string platform_private_pem;  // signs our requests (PKCS#8 PEM)
  std::string gateway_public_pem;    // verifies the gateway's answers and notifications (SPKI)
  std::uint32_t timeout_ms = limits::http_client_timeout_ms;
  const Clock* clock = nullptr;  // request timestamps; the system clock when null
};
// Never null. Keys that do not load make every call fail with Code::internal (and are logged).
std::unique_ptr<Gateway> make_http_gateway(const GatewayConfig& config);

}  // namespace jishi::pay
