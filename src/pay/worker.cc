#include "pay/worker.h"

#include <spdlog/spdlog.h>

#include "core/limits.h"
#include "core/thread_name.h"
#include "pay/payments.h"
#include "pay/settlement.h"

namespace jishi::pay {

Worker::Worker(store::Store& store, Env env, Gateway* gateway, WorkerOptions options)
    : store_(store), env_(env), gateway_(gateway), options_(options) {}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  thread_ = std::thread([this] {
    name_this_thread("jishi-pay");
    loop();
  });
}

void Worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Worker::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      run_once();
    } catch (const std::exception& e) {
      spdlog::error("pay worker: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms),
                 [this] { return stopping_; });
  }
}

std::int64_t Worker::run_once() {
  std::int64_t done = 0;
  auto write = [&](auto fn) {
    return store::run_and_wait(store_.writer(), [&](store::Tx& tx) { return fn(tx); }) ==
           store::Outcome::committed;
  };
  // Expiry.
  std::int64_t expired = 0;
  write([&](store::Tx& tx) {
    auto n = expire_intents(tx, env_, limits::pay_worker_batch_max);
    if (n) expired = *n;
    return n.has_value();
  });
  done += expired;
  if (gateway_) {
    // Refunds waiting for the channel.
    std::vector<Refund> refunds;
    {
      auto lease = store_.reads().lease();
      if (auto r = refunds_to_submit(*lease, limits::pay_worker_batch_max)) refunds = *r;
    }
    for (const auto& f : refunds) {
      auto out_trade_no = std::to_string(f.intent.value);
      auto answer = gateway_->refund(out_trade_no, std::to_string(f.id.value), f.amount.minor);
      if (!answer)
        spdlog::warn("refund {} not accepted yet: {}", f.id.value, answer.error().detail);
      if (write([&](store::Tx& tx) {
            return record_refund_answer(tx, env_, f.id, answer, options_.refund_attempts_max)
                .has_value();
          }))
        ++done;
    }
    // Silent processing intents: ask the gateway; only a final, verified answer changes state.
    std::vector<Intent> stale;
    {
      auto lease = store_.reads().lease();
      if (auto r = stale_processing_intents(*lease, env_.clock, options_.query_after_us,
                                            limits::pay_worker_batch_max))
        stale = *r;
    }
    for (const auto& i : stale) {
      auto t = gateway_->query_trade(std::to_string(i.id.value));
      if (!t) continue;
      Notification n;
      n.notify_id = "query";
      n.trade_no = t->trade_no;
      n.out_trade_no = t->out_trade_no;
      n.trade_status = t->status;
      n.amount = t->amount;
      n.currency = t->currency;
      n.fee = t->fee;
      n.paid_at_us = t->paid_at_us;
      write([&](store::Tx& tx) {
        if (!n.is_final()) {
          // Still waiting: look again after another query_after.
          return tx
              .exec("UPDATE pay_intents SET updated_at_us = $2 WHERE id = $1",
                    {i.id.value, env_.clock.now_us()})
              .has_value();
        }
        return apply_notification(tx, env_, *i.channel, n).has_value();
      });
      ++done;
    }
  }
  // Withdrawals held for a risk review: follow the operator's decision.
  std::vector<std::pair<PayoutId, std::string>> decided;
  {
    auto lease = store_.reads().lease();
    (void)lease->query(
        "SELECT p.id, r.status FROM pay_payouts p JOIN risk_reviews r ON r.subject_kind = "
        "'withdrawal' AND r.subject_id = p.id WHERE p.status = 'in_review' AND r.status <> "
        "'pending' LIMIT $1",
        {static_cast<std::int64_t>(limits::pay_worker_batch_max)}, [&](const store::Row& r) {
          decided.emplace_back(PayoutId{r.i64(0)}, r.str(1));
          return true;
        });
  }
  for (const auto& [id, status] : decided) {
    if (write([&](store::Tx& tx) {
          return decide_withdrawal(tx, env_, id, status == "approved", "rejected in risk review")
              .has_value();
        }))
      ++done;
  }
  // Payouts waiting for the bank.
  std::vector<Payout> payouts;
  {
    auto lease = store_.reads().lease();
    if (auto r = payouts_to_send(*lease, limits::pay_worker_batch_max)) payouts = *r;
  }
  for (const auto& p : payouts) {
    std::optional<std::string> account;
    {
      auto lease = store_.reads().lease();
      if (auto a = payout_account_number(*lease, env_, p.org)) account = *a;
    }
    auto answer = simulated_bank_answer(p, account);
    if (write([&](store::Tx& tx) {
          return record_payout_answer(tx, env_, p.id, answer).has_value();
        }))
      ++done;
  }
  return done;
}

}  // namespace jishi::pay
