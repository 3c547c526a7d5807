// The payment service's background work, on its own thread: everything that talks to a channel
// or the bank after a COMMIT (the outbox side of ARCHITECTURE.md), and timers.
//   - open intents past their deadline expire;
//   - submitted refunds are sent to the gateway, their answers recorded (retried, then failed);
//   - processing intents silent for too long are asked about (a notification may be lost);
//   - submitted payouts are sent to the (simulated) bank, their answers recorded.
// Every step is idempotent: a crash between the call and the record repeats the call, and the
// far side answers the same for the same id.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "core/env.h"
#include "pay/gateway.h"
#include "store/store.h"

namespace jishi::pay {

struct WorkerOptions {
  std::int64_t interval_ms = 500;
  std::int64_t query_after_us = 60'000'000;
  std::int64_t refund_attempts_max = 10;
};

class Worker {
 public:
  // gateway may be null (no channels): channel steps are skipped.
  Worker(store::Store& store, Env env, Gateway* gateway, WorkerOptions options);
  ~Worker();  // stop()s
  void start();
  void stop();
  // One pass of every step; returns how many things it did (for tests and the CLI).
  std::int64_t run_once();

 private:
  void loop();
  store::Store& store_;
  Env env_;
  Gateway* gateway_;
  WorkerOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jishi::pay
