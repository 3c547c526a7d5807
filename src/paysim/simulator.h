// The built-in payment gateway simulator: a separate party with its own SQLite file, its own key
// pair and the platform's public key. It speaks the signed protocol of docs/payments-gateway.md
// (trade.create / trade.query / trade.refund / statement.download), shows a cashier page where
// the payer pays or declines, notifies the platform asynchronously with retries (and, when asked,
// duplicates and stale out-of-order deliveries), and produces daily statements, optionally with
// injected faults for reconciliation tests.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/limits.h"
#include "core/result.h"
#include "pay/gateway_sign.h"

namespace jishi {
class FieldReader;
}

namespace jishi::paysim {

struct SimulatorOptions {
  std::string dir;  // simulator.db, keys/, statements/
  std::string app_id = "jishi";
  pay::SignType sign_type = pay::SignType::sm2;
  std::string platform_public_pem;  // verifies the platform's requests
  std::string public_url;           // base of cashier URLs; settable later (set_public_url)
  bool faults_enabled = false;      // POST /sim/admin/statement-faults
  // Delivery n (n >= 1) that fails is retried after notify_retry_ms * 2^(n-1).
  std::int64_t notify_retry_ms = 1000;
  int notify_attempts_max = limits::gateway_notify_attempts_max;
  int duplicate_pct = 0;  // chance that a notification is delivered twice
  int reorder_pct = 0;    // chance that a stale WAIT_BUYER_PAY follows a final notification
  std::uint64_t seed = 1;
  // Statement days are local days at this offset (Asia/Shanghai: +08:00, no daylight saving).
  int statement_utc_offset_min = 8 * 60;
  std::int64_t trade_timeout_us = limits::gateway_trade_timeout_us;
  const Clock* clock = nullptr;  // the system clock when null
};

struct SimTrade {
  std::string trade_no, out_trade_no, channel, status, currency, subject, notify_url;
  std::int64_t amount = 0, fee = 0, refunded = 0, created_us = 0, paid_us = 0, closed_us = 0;
};

// One row of the notification outbox.
struct SimNotification {
  std::int64_t id = 0;
  std::string notify_id, out_trade_no, trade_status;
  std::string state;  // pending | delivered | failed
  int attempts = 0;
  std::string last_error;
  bool stale = false;  // a deliberately late copy of an earlier state (reorder knob)
};

class Simulator {
 public:
  static Result<std::unique_ptr<Simulator>> open(SimulatorOptions options);
  ~Simulator();

  const std::string& public_key_pem() const { return public_pem_; }
  pay::SignType sign_type() const { return options_.sign_type; }
  void set_public_url(std::string url);

  // The gateway endpoint: a form-encoded request in, a signed JSON answer out (always HTTP 200,
  // errors as result codes, as real gateways answer).
  std::string handle_api(std::string_view form_body);

  Result<SimTrade> trade(std::string_view trade_no);
  // The payer's decision on the cashier page. Card trades take a card number; one ending in
  // 0002 is declined. invalid_state when the trade is already final.
  Result<SimTrade> complete(std::string_view trade_no, bool pay, std::string_view card_number);
  // Closes unpaid trades older than trade_timeout_us; returns how many.
  Result<int> close_expired();

  // The statement CSV of one local day (YYYY-MM-DD), faults applied; also written to
  // <dir>/statements/<date>.csv.
  Result<std::string> statement(std::string_view date);
  // kind: drop | extra | amount | fee | shift; target out_trade_no (not for extra); delta for
  // amount/fee/extra (minor units); direction for shift: next | previous.
  Status add_fault(std::string_view date, std::string_view kind, std::string_view out_trade_no,
                   std::int64_t delta, std::string_view direction);
  bool faults_enabled() const { return options_.faults_enabled; }

  // Delivers every due notification once (what the background thread does each tick); returns
  // how many deliveries were attempted.
  int deliver_due();
  std::vector<SimNotification> notifications(std::string_view out_trade_no);

  // The background thread: deliveries and trade timeouts. stop() joins it; idempotent.
  void start();
  void stop();

 private:
  struct Impl;
  explicit Simulator(SimulatorOptions options);
  // Protocol methods (simulator.cc): an answer object, success or a result code.
  boost::json::object create(FieldReader& biz, const std::string& notify_url);
  boost::json::object query(FieldReader& biz);
  boost::json::object refund(FieldReader& biz);
  boost::json::object download(FieldReader& biz);
  boost::json::object trade_json(const SimTrade& t);
  // With the mutex held: a final state and its notifications in one transaction.
  Status finish_locked(const SimTrade& t);
  // With the mutex held, inside a transaction: the notification(s) of t's current state.
  Status enqueue_locked(const SimTrade& t);

  SimulatorOptions options_;
  std::string public_pem_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jishi::paysim
