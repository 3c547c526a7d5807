// Asynchronous notifications: an outbox table in the simulator's database (it survives
// restarts), a background thread delivering due rows, retries with doubling delays, and the
// realism knobs (duplicate deliveries, a stale WAIT_BUYER_PAY after the final state).
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/thread_name.h"
#include "http/client.h"
#include "pay/gateway_wire.h"
#include "paysim/internal.h"

namespace jishi::paysim {

namespace wire = pay::wire;

namespace {
constexpr int kDeliveriesPerTick = 100;
constexpr auto kTick = std::chrono::milliseconds(20);
}  // namespace

Status Simulator::enqueue_locked(const SimTrade& t) {
  auto& impl = *impl_;
  auto now = options_.clock->now_us();
  std::string notify_id =
      "N" + t.trade_no + "-" + std::to_string(now) + "-" + std::to_string(++impl.notify_seq);
  pay::SignParams p{{"app_id", options_.app_id},
                    {"notify_id", notify_id},
                    {"notify_time", wire::format_time(now)},
                    {"notify_type", "trade_status_sync"},
                    {"trade_no", t.trade_no},
                    {"out_trade_no", t.out_trade_no},
                    {"trade_status", t.status},
                    {"total_amount", *wire::format_amount(t.amount, t.currency)},
                    {"currency", t.currency},
                    {"sign_type", std::string(pay::name_of(options_.sign_type))}};
  if (t.status == "TRADE_SUCCESS") {
    p["fee_amount"] = *wire::format_amount(t.fee, t.currency);
    p["gmt_payment"] = wire::format_time(t.paid_us);
  }
  JISHI_ASSIGN_OR_RETURN(auto sig, impl.signer.sign_params(p));
  p["sign"] = sig;
  std::string payload = http::form_encode(http::Fields(p.begin(), p.end()));
  auto insert = [&](const std::string& id, const std::string& status, const std::string& body,
                    bool stale) -> Status {
    JISHI_TRY(impl.db->exec(
        "INSERT INTO sim_notifications (notify_id, trade_no, out_trade_no, trade_status, url, "
        "payload, state, next_us, stale, created_us) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $7)",
        {id, t.trade_no, t.out_trade_no, status, t.notify_url, body, now, stale}));
    return {};
  };
  JISHI_TRY(insert(notify_id, t.status, payload, false));
  // Decisions come from one seeded generator, so a run with the same seed and the same
  // sequence of events produces the same deliveries.
  if (options_.duplicate_pct > 0 && static_cast<int>(impl.rng() % 100) < options_.duplicate_pct)
    JISHI_TRY(insert(notify_id, t.status, payload, false));
  bool final_state = t.status != "WAIT_BUYER_PAY";
  if (final_state && options_.reorder_pct > 0 &&
      static_cast<int>(impl.rng() % 100) < options_.reorder_pct) {
    // The stale copy is the trade's earlier WAIT_BUYER_PAY notification, queued after the
    // final one, as a slow gateway node would deliver it.
    auto earlier = impl.db->query_one(
        "SELECT notify_id, payload FROM sim_notifications WHERE trade_no = $1 AND "
        "trade_status = 'WAIT_BUYER_PAY' ORDER BY id LIMIT 1",
        {t.trade_no}, [](const store::Row& r) { return std::make_pair(r.str(0), r.str(1)); });
    if (earlier && *earlier)
      JISHI_TRY(insert((*earlier)->first, "WAIT_BUYER_PAY", (*earlier)->second, true));
  }
  impl.wake.notify_one();
  return {};
}

int Simulator::deliver_due() {
  struct Due {
    std::int64_t id;
    std::string url, payload;
    int attempts;
  };
  std::vector<Due> due;
  {
    std::lock_guard lock(impl_->mu);
    auto st = impl_->db->query(
        "SELECT id, url, payload, attempts FROM sim_notifications WHERE state = 'pending' AND "
        "next_us <= $1 ORDER BY next_us, id LIMIT $2",
        {options_.clock->now_us(), kDeliveriesPerTick}, [&](const store::Row& r) {
          due.push_back({r.i64(0), r.str(1), r.str(2), static_cast<int>(r.i64(3))});
          return true;
        });
    if (!st) spdlog::error("simulator: reading the outbox failed: {}", st.error().detail);
  }
  for (const auto& d : due) {
    // Delivered without the lock: the platform may call the gateway while handling it.
    std::string error;
    auto form = http::parse_form(d.payload);
    auto res = http::post_form(d.url, form.value_or(http::Fields{}));
    if (!res) {
      error = res.error().detail;
    } else {
      std::string_view body = res->body;
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' '))
        body.remove_suffix(1);
      if (res->status != 200 || body != "success")
        error = "HTTP " + std::to_string(res->status) + ": " + std::string(body.substr(0, 100));
    }
    std::lock_guard lock(impl_->mu);
    auto now = options_.clock->now_us();
    int attempts = d.attempts + 1;
    Result<std::int64_t> st = 0;
    if (error.empty()) {
      st = impl_->db->exec(
          "UPDATE sim_notifications SET state = 'delivered', attempts = $1, last_error = '' "
          "WHERE id = $2",
          {attempts, d.id});
    } else if (attempts >= options_.notify_attempts_max) {
      spdlog::warn("simulator: giving up notification {} to {} after {} attempts: {}", d.id, d.url,
                   attempts, error);
      st = impl_->db->exec(
          "UPDATE sim_notifications SET state = 'failed', attempts = $1, last_error = $2 "
          "WHERE id = $3",
          {attempts, error, d.id});
    } else {
      std::int64_t delay_us = options_.notify_retry_ms * 1000 * (std::int64_t{1} << (attempts - 1));
      st = impl_->db->exec(
          "UPDATE sim_notifications SET attempts = $1, last_error = $2, next_us = $3 "
          "WHERE id = $4",
          {attempts, error, now + delay_us, d.id});
    }
    if (!st) spdlog::error("simulator: updating the outbox failed: {}", st.error().detail);
  }
  return static_cast<int>(due.size());
}

std::vector<SimNotification> Simulator::notifications(std::string_view out_trade_no) {
  std::vector<SimNotification> out;
  std::lock_guard lock(impl_->mu);
  (void)impl_->db->query(
      "SELECT id, notify_id, out_trade_no, trade_status, state, attempts, last_error, stale "
      "FROM sim_notifications WHERE out_trade_no = $1 ORDER BY id",
      {out_trade_no}, [&](const store::Row& r) {
        out.push_back({r.i64(0), r.str(1), r.str(2), r.str(3), r.str(4), static_cast<int>(r.i64(5)),
                       r.str(6), r.i64(7) != 0});
        return true;
      });
  return out;
}

void Simulator::start() {
  std::lock_guard lock(impl_->thread_mu);
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([this] {
    name_this_thread("jishi-simnotify");
    auto last_expiry = std::chrono::steady_clock::now();
    std::unique_lock wait_lock(impl_->thread_mu);
    while (!impl_->stopping) {
      impl_->wake.wait_for(wait_lock, kTick);
      if (impl_->stopping) break;
      wait_lock.unlock();
      while (deliver_due() == kDeliveriesPerTick) {
      }
      if (std::chrono::steady_clock::now() - last_expiry > std::chrono::seconds(1)) {
        last_expiry = std::chrono::steady_clock::now();
        if (auto closed = close_expired(); !closed)
          spdlog::error("simulator: closing expired trades failed: {}", closed.error().detail);
      }
      wait_lock.lock();
    }
  });
}

void Simulator::stop() {
  {
    std::lock_guard lock(impl_->thread_mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace jishi::paysim
