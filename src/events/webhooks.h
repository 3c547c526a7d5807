// Merchants' webhooks: endpoints that receive the organisation's events, signed.
//
//   POST <url>  Content-Type: application/json
//   Jishi-Event-Id: <event id>   Jishi-Event-Type: order.paid
//   Jishi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// A 2xx answer delivers; anything else (or no answer within webhook_timeout_ms) is retried with
// exponential backoff until webhook_retry_hours after the event, then the delivery fails. Each
// attempt is logged. Deliveries run on the deliverer's own threads, never on the I/O threads or
// in the writer: a slow endpoint delays only its own deliveries.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/page.h"
#include "core/result.h"
#include "store/store.h"

namespace jishi::events {

struct Webhook {
  std::int64_t id = 0;
  OrgId org;
  std::string url;
  std::vector<std::string> event_types;  // {"*"} for all
  std::optional<std::string> description;
  bool enabled = true;
  std::int64_t created_at_us = 0, updated_at_us = 0;
};

struct WebhookFields {
  std::string url;
  std::vector<std::string> event_types;
  std::optional<std::string> description;
};

// Checks a URL (http:// or https://, a host, no credentials, <= 2048 bytes) and event types.
Status validate_webhook(const WebhookFields& f);
// Creates a webhook; returns it and its secret (shown once: whsec_ + 32 random bytes).
Result<std::pair<Webhook, std::string>> create_webhook(store::Tx& tx, Env& env, OrgId org,
                                                       UserId by, const WebhookFields& f);
Result<Webhook> update_webhook(store::Tx& tx, Env& env, OrgId org, std::int64_t id,
                               const std::optional<WebhookFields>& f, std::optional<bool> enabled);
Result<Webhook> get_webhook(store::Conn& conn, OrgId org, std::int64_t id);
Result<std::vector<Webhook>> list_webhooks(store::Conn& conn, OrgId org);

struct Attempt {
  std::int64_t attempt = 0;
  std::optional<std::int64_t> status_code;
  std::optional<std::string> error;
  std::int64_t duration_ms = 0, at_us = 0;
};
struct Delivery {
  std::int64_t id = 0, webhook_id = 0, event_id = 0;
  std::string event_type;
  std::string status;  // pending | succeeded | failed
  std::int64_t attempts = 0, next_attempt_at_us = 0, created_at_us = 0;
  std::optional<std::int64_t> last_status_code, finished_at_us;
  std::optional<std::string> last_error;
  std::vector<Attempt> log;
};
Result<Page<Delivery>> list_deliveries(store::Conn& conn, std::int64_t webhook_id,
                                       std::int64_t before, std::size_t limit);
// Sends a delivery now: one waiting for its next attempt, a failed one, or a delivered one.
Result<Delivery> retry_delivery(store::Tx& tx, Env& env, std::int64_t webhook_id,
                                std::int64_t delivery_id);

// The signature header value for a body at a time (exposed for tests and docs).
std::string signature_header(std::string_view secret, std::int64_t unix_s, std::string_view body);

struct DelivererOptions {
  std::int64_t interval_ms = 500;
  std::int64_t timeout_ms = 5000;
  std::int64_t retry_hours = 24;
  std::size_t threads = 4;
};

class WebhookDeliverer {
 public:
  WebhookDeliverer(store::Store& store, Env env, DelivererOptions options,
                   metrics::Registry* registry = nullptr);
  ~WebhookDeliverer();
  void start();
  void stop();

 private:
  void dispatch_loop();
  void work_loop();
  void deliver(std::int64_t delivery_id);
  store::Store& store_;
  Env env_;
  DelivererOptions options_;
  metrics::Registry* registry_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<std::int64_t> queue_;
  std::set<std::int64_t> in_flight_;
  std::thread dispatcher_;
  std::vector<std::thread> workers_;
};

}  // namespace jishi::events
