// Durable jobs (timers): one row per (kind, key). schedule() inserts the job or moves it (a
// done or cancelled job becomes pending again); cancel_job() cancels it. The runner takes due
// jobs and runs each in its own writer command: it marks the job done, then calls the
// handler, in one transaction — so a job's work commits exactly with its completion, a restart
// loses none (they are rows), and a job run twice (or after it was cancelled or moved) does
// nothing. A handler may schedule its own kind+key again (it then stays pending). A failing
// handler is rolled back and retried with backoff, then marked failed.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/env.h"
#include "core/metrics.h"
#include "core/result.h"
#include "store/database.h"
#include "store/store.h"

namespace jishi::events {

Status schedule(store::Tx& tx, Env& env, std::string_view kind, std::string_view key,
                std::int64_t run_at_us, std::string_view payload = {});
Status cancel_job(store::Tx& tx, std::string_view kind, std::string_view key);

struct Job {
  std::int64_t id = 0;
  std::string kind, key, payload, status;
  std::int64_t run_at_us = 0, attempts = 0;
  std::optional<std::string> last_error;
};
Result<std::optional<Job>> get_job(store::Conn& conn, std::string_view kind, std::string_view key);

using JobHandler = std::function<Status(store::Tx&, Env&, const Job&)>;

// Timed work that is found by a query instead of being scheduled row by row (unpaid orders by
// their deadline: a checkout then writes no job). Each pass `due` reads, on a read
// connection, the keys whose time has come (at most jobs_per_pass_max); `run` handles each in a
// writer command of its own and must be idempotent: a key may be seen again before its
// handling commits. A key whose handling fails is retried with backoff (kept in memory).
// `after`, if set, runs in a writer command of its own after a pass whose `due` succeeded
// (the sweep's own bookkeeping, such as a cursor `due` found; a failure is logged), when
// `after_due` (if set) says there is something to do.
struct Sweep {
  std::function<Result<std::vector<std::string>>(store::Conn&, const Env&)> due;
  std::function<Status(store::Tx&, Env&, const std::string& key)> run;
  std::function<Status(store::Tx&, Env&)> after;
  std::function<bool()> after_due;
};

struct JobRunnerOptions {
  std::int64_t interval_ms = 500;
  std::int64_t attempts_max = 10;
  std::int64_t retry_base_us = 10'000'000;  // doubles per attempt
};

class JobRunner {
 public:
  JobRunner(store::Store& store, Env env, JobRunnerOptions options,
            metrics::Registry* registry = nullptr);
  ~JobRunner();
  // Handlers and sweeps are registered before start(); a due job of an unknown kind waits.
  void on(std::string kind, JobHandler handler);
  void sweep(std::string name, Sweep sweep);
  void start();
  void stop();
  // Runs every job due now once, then every sweep's due keys; returns how many completed (tests,
  // the CLI).
  std::int64_t run_once();

 private:
  void loop();
  std::int64_t run_sweeps();
  store::Store& store_;
  Env env_;
  JobRunnerOptions options_;
  metrics::Registry* registry_;
  std::map<std::string, JobHandler, std::less<>> handlers_;
  std::map<std::string, Sweep, std::less<>> sweeps_;
  struct Retry {
    std::int64_t attempts = 0, next_us = 0;
  };
  std::map<std::pair<std::string, std::string>, Retry> sweep_retries_;  // (sweep, key); bounded
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jishi::events
