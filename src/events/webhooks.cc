#include "events/webhooks.h"

#include <chrono>
#include <random>

#include "core/crypto.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "events/events.h"
#include "http/client.h"

namespace jishi::events {

namespace {

constexpr std::string_view kColumns =
    "id, org_id, url, event_types, description, enabled, created_at_us, updated_at_us";

std::vector<std::string> split_types(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto sp = s.find(' ');
    if (sp != 0) out.emplace_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

std::string join_types(const std::vector<std::string>& types) {
  std::string out;
  for (const auto& t : types) out += (out.empty() ? "" : " ") + t;
  return out;
}

Webhook read(const store::Row& r) {
  return Webhook{r.i64(0),     OrgId{r.i64(1)}, r.str(2), split_types(r.text(3)),
                 r.opt_str(4), r.i64(5) != 0,   r.i64(6), r.i64(7)};
}

constexpr std::string_view kSecretField = "webhook.secret";

}  // namespace

Status validate_webhook(const WebhookFields& f) {
  std::string_view url = f.url;
  if (url.size() > limits::webhook_url_bytes_max)
    return fail(Code::validation_failed, "url is too long", "/url");
  std::string_view rest;
  if (url.starts_with("http://"))
    rest = url.substr(7);
  else if (url.starts_with("https://"))
    rest = url.substr(8);
  else
    return fail(Code::validation_failed, "url must start with http:// or https://", "/url");
  auto host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.find('@') != std::string_view::npos ||
      host.find_first_of(" \t\r\n") != std::string_view::npos)
    return fail(Code::validation_failed, "url needs a host and no credentials", "/url");
  if (f.event_types.empty() || f.event_types.size() > limits::webhook_event_types_max)
    return fail(Code::validation_failed,
                "event_types lists 1.." + std::to_string(limits::webhook_event_types_max) +
                    " types, or [\"*\"]",
                "/event_types");
  for (const auto& t : f.event_types) {
    bool ok = !t.empty() && t.size() <= limits::event_type_bytes_max;
    for (char c : t) ok = ok && ((c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '*');
    if (!ok || (t.find('*') != std::string::npos && t != "*"))
      return fail(Code::validation_failed, "bad event type \"" + t + "\"", "/event_types");
  }
  if (f.description && f.description->size() > limits::reason_bytes_max)
    return fail(Code::validation_failed, "description is too long", "/description");
  return {};
}

Result<std::pair<Webhook, std::string>> create_webhook(store::Tx& tx, Env& env, OrgId org,
                                                       UserId by, const WebhookFields& f) {
  JISHI_TRY(validate_webhook(f));
  JISHI_ASSIGN_OR_RETURN(auto n,
                         tx.query_one("SELECT COUNT(*) FROM ev_webhooks WHERE org_id = "
                                      "$1 AND enabled = 1",
                                      {org.value}, [](const store::Row& r) { return r.i64(0); }));
  if (n.value_or(0) >= static_cast<std::int64_t>(limits::webhooks_per_org_max))
    return fail(Code::conflict, "an organisation has at most " +
                                    std::to_string(limits::webhooks_per_org_max) +
                                    " enabled webhooks");
  std::string secret = crypto::new_token("whsec_");
  std::int64_t id = env.ids.next(), now = env.clock.now_us();
  JISHI_TRY(
      tx.exec("INSERT INTO ev_webhooks (id, org_id, url, event_types, description, "
              "secret_enc, enabled, created_by, created_at_us, updated_at_us) VALUES ($1, $2, "
              "$3, $4, $5, $6, 1, $7, $8, $8)",
              {id, org.value, f.url, join_types(f.event_types), f.description,
               env.cipher.encrypt(kSecretField, secret), by.value, now}));
  JISHI_ASSIGN_OR_RETURN(auto w, get_webhook(tx, org, id));
  return std::pair(w, secret);
}

Result<Webhook> update_webhook(store::Tx& tx, Env& env, OrgId org, std::int64_t id,
                               const std::optional<WebhookFields>& f, std::optional<bool> enabled) {
  JISHI_TRY(get_webhook(tx, org, id));
  if (f) {
    JISHI_TRY(validate_webhook(*f));
    JISHI_TRY(
        tx.exec("UPDATE ev_webhooks SET url = $2, event_types = $3, description = $4, "
                "updated_at_us = $5 WHERE id = $1",
                {id, f->url, join_types(f->event_types), f->description, env.clock.now_us()}));
  }
  if (enabled) {
    if (*enabled) {
      // Re-enabling counts against the limit like creating.
      JISHI_ASSIGN_OR_RETURN(
          auto n, tx.query_one("SELECT COUNT(*) FROM ev_webhooks WHERE org_id = "
                               "$1 AND enabled = 1 AND id <> $2",
                               {org.value, id}, [](const store::Row& r) { return r.i64(0); }));
      if (n.value_or(0) >= static_cast<std::int64_t>(limits::webhooks_per_org_max))
        return fail(Code::conflict, "an organisation has at most " +
                                        std::to_string(limits::webhooks_per_org_max) +
                                        " enabled webhooks");
    }
    JISHI_TRY(tx.exec("UPDATE ev_webhooks SET enabled = $2, updated_at_us = $3 WHERE id = $1",
                      {id, *enabled, env.clock.now_us()}));
  }
  return get_webhook(tx, org, id);
}

Result<Webhook> get_webhook(store::Conn& conn, OrgId org, std::int64_t id) {
  JISHI_ASSIGN_OR_RETURN(auto w,
                         conn.query_one("SELECT " + std::string(kColumns) +
                                            " FROM ev_webhooks WHERE id = $1 AND org_id = $2",
                                        {id, org.value}, read));
  if (!w) return fail(Code::not_found, "no such webhook");
  return *w;
}

Result<std::vector<Webhook>> list_webhooks(store::Conn& conn, OrgId org) {
  std::vector<Webhook> out;
  JISHI_TRY(conn.query(
      "SELECT " + std::string(kColumns) + " FROM ev_webhooks WHERE org_id = $1 ORDER BY id",
      {org.value}, [&](const store::Row& r) {
        out.push_back(read(r));
        return true;
      }));
  return out;
}

Result<Page<Delivery>> list_deliveries(store::Conn& conn, std::int64_t webhook_id,
                                       std::int64_t before, std::size_t limit) {
  Page<Delivery> page;
  JISHI_TRY(conn.query(
      "SELECT d.id, d.webhook_id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at_us, "
      "d.created_at_us, d.last_status_code, d.finished_at_us, d.last_error FROM ev_deliveries d "
      "LEFT JOIN ev_events e ON e.id = d.event_id WHERE d.webhook_id = $1 AND d.id < $2 ORDER BY "
      "d.id "
      "DESC LIMIT $3",
      {webhook_id, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(Delivery{r.i64(0),
                                      r.i64(1),
                                      r.i64(2),
                                      r.opt_str(3).value_or(""),
                                      r.str(4),
                                      r.i64(5),
                                      r.i64(6),
                                      r.i64(7),
                                      r.opt_i64(8),
                                      r.opt_i64(9),
                                      r.opt_str(10),
                                      {}});
        return true;
      }));
  trim_page(page, limit, [](const Delivery& d) { return d.id; });
  for (auto& d : page.items) {
    if (d.event_type.empty()) {  // an implied event (order.created): its type from its source
      JISHI_ASSIGN_OR_RETURN(auto e, find_implied(conn, EventId{d.event_id}));
      if (e) d.event_type = e->type;
    }
  }
  for (auto& d : page.items)
    JISHI_TRY(conn.query(
        "SELECT attempt, status_code, error, duration_ms, at_us FROM "
        "ev_delivery_attempts WHERE delivery_id = $1 ORDER BY id",
        {d.id}, [&](const store::Row& r) {
          d.log.push_back(Attempt{r.i64(0), r.opt_i64(1), r.opt_str(2), r.i64(3), r.i64(4)});
          return true;
        }));
  return page;
}

Result<Delivery> retry_delivery(store::Tx& tx, Env& env, std::int64_t webhook_id,
                                std::int64_t delivery_id) {
  // Pending (waiting for its next attempt), failed or even delivered: it goes out again now.
  JISHI_ASSIGN_OR_RETURN(auto n, tx.exec("UPDATE ev_deliveries SET status = 'pending', "
                                         "next_attempt_at_us = $3, finished_at_us = NULL WHERE "
                                         "id = $1 AND webhook_id = $2",
                                         {delivery_id, webhook_id, env.clock.now_us()}));
  if (n != 1) return fail(Code::not_found, "no such delivery");
  JISHI_ASSIGN_OR_RETURN(auto page, list_deliveries(tx, webhook_id, delivery_id + 1, 1));
  return page.items.front();
}

std::string signature_header(std::string_view secret, std::int64_t unix_s, std::string_view body) {
  std::string t = std::to_string(unix_s);
  std::string signed_text = t + "." + std::string(body);
  return "t=" + t + ",v1=" + crypto::hex(crypto::hmac_sha256(secret, signed_text));
}

WebhookDeliverer::WebhookDeliverer(store::Store& store, Env env, DelivererOptions options,
                                   metrics::Registry* registry)
    : store_(store), env_(env), options_(options), registry_(registry) {}

WebhookDeliverer::~WebhookDeliverer() {
  stop();
}

void WebhookDeliverer::start() {
  dispatcher_ = std::thread([this] {
    name_this_thread("jishi-hooks");
    dispatch_loop();
  });
  for (std::size_t i = 0; i < options_.threads; ++i)
    workers_.emplace_back([this] {
      name_this_thread("jishi-hook-send");
      work_loop();
    });
}

void WebhookDeliverer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
}

// Finds due deliveries and queues those not already in flight; workers take them.
void WebhookDeliverer::dispatch_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::vector<std::int64_t> due;
    {
      auto lease = store_.reads().lease();
      (void)lease->query(
          "SELECT id FROM ev_deliveries WHERE status = 'pending' AND next_attempt_at_us <= $1 "
          "ORDER BY next_attempt_at_us LIMIT $2",
          {env_.clock.now_us(), static_cast<std::int64_t>(limits::webhook_deliveries_per_pass_max)},
          [&](const store::Row& r) {
            due.push_back(r.i64(0));
            return true;
          });
    }
    lock.lock();
    for (auto id : due)
      if (in_flight_.insert(id).second) queue_.push_back(id);
    if (!due.empty()) cv_.notify_all();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms), [&] { return stopping_; });
  }
}

void WebhookDeliverer::work_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto id = queue_.front();
    queue_.pop_front();
    lock.unlock();
    deliver(id);
    lock.lock();
    in_flight_.erase(id);
  }
}

void WebhookDeliverer::deliver(std::int64_t delivery_id) {
  struct Target {
    std::int64_t webhook_id, event_id, attempts;
    std::string url, secret_enc;
    bool enabled;
    std::string status;
    std::int64_t created_at_us;
  };
  std::optional<Target> t;
  std::optional<Event> event;
  std::string unreadable;  // why the event could not be read (its data made), if so
  {
    auto lease = store_.reads().lease();
    auto row = lease->query_one(
        "SELECT d.webhook_id, d.event_id, d.attempts, w.url, w.secret_enc, w.enabled, d.status, "
        "d.created_at_us FROM ev_deliveries d JOIN ev_webhooks w ON w.id = d.webhook_id WHERE "
        "d.id = $1",
        {delivery_id}, [](const store::Row& r) {
          return Target{r.i64(0), r.i64(1),      r.i64(2), r.str(3),
                        r.str(4), r.i64(5) != 0, r.str(6), r.i64(7)};
        });
    if (!row || !*row || (*row)->status != "pending") return;
    t = **row;
    auto e = get_event(*lease, EventId{t->event_id});
    if (e && !*e) return;  // no such event: nothing to send
    if (e) {
      event = **e;
    } else {
      // An event whose data cannot be made (events rendered on read) is an attempt that
      // failed: recorded, retried with backoff and given up like any other, never skipped in
      // silence (it would be picked again at every pass and never given up).
      unreadable = e.error().detail;
      spdlog::error("webhook delivery {}: event {} cannot be read: {}", delivery_id, t->event_id,
                    unreadable);
    }
  }
  std::int64_t now = env_.clock.now_us();
  std::int64_t attempt = t->attempts + 1;
  std::optional<std::int64_t> code;
  std::string error;
  auto started = std::chrono::steady_clock::now();
  if (!event) {
    error = "the event cannot be read: " + unreadable;
  } else if (!t->enabled) {
    error = "the webhook is disabled";
  } else if (t->url.starts_with("https://")) {
    error =
        "https delivery is not supported by this build (use an http:// endpoint behind a TLS "
        "proxy)";
  } else {
    auto secret = env_.cipher.decrypt("webhook.secret", t->secret_enc);
    if (!secret) {
      error = "the webhook secret cannot be read";
    } else {
      std::string body = event_envelope(*event);
      http::Fields headers{{"Jishi-Event-Id", std::to_string(event->id.value)},
                           {"Jishi-Event-Type", event->type},
                           {"Jishi-Signature", signature_header(*secret, now / 1'000'000, body)}};
      http::ClientOptions co;
      co.timeout_ms = static_cast<std::uint32_t>(options_.timeout_ms);
      co.body_bytes_max = limits::webhook_response_bytes_max;
      auto r = http::post_json(t->url, std::move(body), headers, co);
      if (r) {
        code = r->status;
        if (r->status < 200 || r->status >= 300) error = "HTTP " + std::to_string(r->status);
      } else {
        error = r.error().detail;
      }
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  bool ok = error.empty();
  // Backoff: 10 s doubling per attempt, capped at an hour, ±10% jitter; give up after the window.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::int64_t base = std::min<std::int64_t>(
      10'000'000LL << std::min<std::int64_t>(attempt - 1, 20), 3'600'000'000LL);
  std::int64_t jitter = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(base / 5 + 1));
  std::int64_t next = now + base - base / 10 + jitter;
  std::int64_t since = event ? event->created_at_us : t->created_at_us;
  bool give_up = !ok && next > since + options_.retry_hours * 3'600'000'000LL;
  std::string status = ok ? "succeeded" : give_up ? "failed" : "pending";
  auto outcome = store::run_and_wait(store_.writer(), [&](store::Tx& tx) {
    auto a = tx.exec(
        "INSERT INTO ev_delivery_attempts (id, delivery_id, attempt, status_code, "
        "error, duration_ms, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {env_.ids.next(), delivery_id, attempt, code,
         ok ? std::optional<std::string>() : std::optional<std::string>(error),
         static_cast<std::int64_t>(ms), now});
    if (!a) return false;
    auto u = tx.exec(
        "UPDATE ev_deliveries SET status = $2, attempts = $3, next_attempt_at_us = $4, "
        "last_status_code = $5, last_error = $6, finished_at_us = $7 WHERE id = $1 AND status = "
        "'pending'",
        {delivery_id, status, attempt, next, code,
         ok ? std::optional<std::string>() : std::optional<std::string>(error),
         status == "pending" ? std::optional<std::int64_t>() : std::optional<std::int64_t>(now)});
    return u.has_value();
  });
  if (outcome != store::Outcome::committed)
    spdlog::warn("webhook delivery {}: not recorded", delivery_id);
  if (registry_)
    registry_
        ->counter("jishi_webhook_attempts_total", "Webhook delivery attempts by outcome",
                  ok ? "outcome=\"delivered\"" : "outcome=\"failed\"")
        .add();
}

}  // namespace jishi::events
