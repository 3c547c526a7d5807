#include "events/jobs.h"

#include "core/limits.h"
#include "core/log.h"
#include "core/thread_name.h"

namespace jishi::events {

namespace {
constexpr std::string_view kColumns =
    "id, kind, key, payload, status, run_at_us, attempts, last_error";

Job read(const store::Row& r) {
  return Job{r.i64(0), r.str(1), r.str(2), r.str(3), r.str(4), r.i64(5), r.i64(6), r.opt_str(7)};
}
}  // namespace

Status schedule(store::Tx& tx, Env& env, std::string_view kind, std::string_view key,
                std::int64_t run_at_us, std::string_view payload) {
  std::int64_t now = env.clock.now_us();
  JISHI_TRY(tx.exec(
      "INSERT INTO ev_jobs (id, kind, key, payload, run_at_us, status, attempts, created_at_us, "
      "updated_at_us) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (kind, key) "
      "DO UPDATE SET payload = excluded.payload, run_at_us = excluded.run_at_us, status = "
      "'pending', attempts = 0, last_error = NULL, updated_at_us = excluded.updated_at_us",
      {env.ids.next(), kind, key, std::string(payload), run_at_us, now}));
  return {};
}

Status cancel_job(store::Tx& tx, std::string_view kind, std::string_view key) {
  JISHI_TRY(
      tx.exec("UPDATE ev_jobs SET status = 'cancelled' WHERE kind = $1 AND key = $2 AND "
              "status = 'pending'",
              {kind, key}));
  return {};
}

Result<std::optional<Job>> get_job(store::Conn& conn, std::string_view kind, std::string_view key) {
  return conn.query_one(
      "SELECT " + std::string(kColumns) + " FROM ev_jobs WHERE kind = $1 AND key = $2", {kind, key},
      read);
}

JobRunner::JobRunner(store::Store& store, Env env, JobRunnerOptions options,
                     metrics::Registry* registry)
    : store_(store), env_(env), options_(options), registry_(registry) {}

JobRunner::~JobRunner() {
  stop();
}

void JobRunner::on(std::string kind, JobHandler handler) {
  handlers_[std::move(kind)] = std::move(handler);
}

void JobRunner::sweep(std::string name, Sweep sweep) {
  sweeps_[std::move(name)] = std::move(sweep);
}

void JobRunner::start() {
  thread_ = std::thread([this] {
    name_this_thread("jishi-jobs");
    loop();
  });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    run_once();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms), [&] { return stopping_; });
  }
}

std::int64_t JobRunner::run_once() {
  std::vector<Job> due;
  {
    auto lease = store_.reads().lease();
    auto r =
        lease->query("SELECT " + std::string(kColumns) +
                         " FROM ev_jobs WHERE status = 'pending' AND run_at_us <= $1 ORDER "
                         "BY run_at_us LIMIT $2",
                     {env_.clock.now_us(), static_cast<std::int64_t>(limits::jobs_per_pass_max)},
                     [&](const store::Row& row) {
                       due.push_back(read(row));
                       return true;
                     });
    if (!r) {
      spdlog::warn("jobs: {}", r.error().detail);
      return run_sweeps();
    }
  }
  std::int64_t done = run_sweeps();
  for (const auto& seen : due) {
    auto it = handlers_.find(seen.kind);
    if (it == handlers_.end()) continue;
    const JobHandler& handler = it->second;
    Status result;
    // Done first, then the work: the handler may schedule the job again; one transaction.
    auto outcome = store::run_and_wait(store_.writer(), [&](store::Tx& tx) {
      auto claimed = tx.exec(
          "UPDATE ev_jobs SET status = 'done', updated_at_us = $3 WHERE id = $1 AND status = "
          "'pending' AND run_at_us = $2 AND run_at_us <= $3",
          {seen.id, seen.run_at_us, env_.clock.now_us()});
      if (!claimed) {
        result = std::unexpected(claimed.error());
        return false;
      }
      if (*claimed != 1) {
        result = {};
        return true;  // moved, cancelled or run meanwhile: nothing to do
      }
      result = handler(tx, env_, seen);
      return result.has_value();
    });
    if (outcome == store::Outcome::committed && result) {
      ++done;
      if (registry_)
        registry_
            ->counter("jishi_jobs_run_total", "Durable jobs completed",
                      "kind=\"" + seen.kind + "\"")
            .add();
      continue;
    }
    std::string why = result ? "the write did not commit" : result.error().detail;
    spdlog::warn("job {} {} failed (attempt {}): {}", seen.kind, seen.key, seen.attempts + 1, why);
    std::int64_t attempts = seen.attempts + 1;
    std::int64_t delay = options_.retry_base_us << std::min<std::int64_t>(attempts - 1, 12);
    (void)store::run_and_wait(store_.writer(), [&](store::Tx& tx) {
      return tx
          .exec(
              "UPDATE ev_jobs SET attempts = $2, last_error = $3, status = $4, run_at_us = $5, "
              "updated_at_us = $6 WHERE id = $1 AND status = 'pending' AND run_at_us = $7",
              {seen.id, attempts, why.substr(0, 500),
               attempts >= options_.attempts_max ? "failed" : "pending",
               env_.clock.now_us() + delay, env_.clock.now_us(), seen.run_at_us})
          .has_value();
    });
  }
  return done;
}

std::int64_t JobRunner::run_sweeps() {
  std::int64_t done = 0;
  for (const auto& [name, sweep] : sweeps_) {
    Result<std::vector<std::string>> due;
    {
      auto lease = store_.reads().lease();
      due = sweep.due(*lease, env_);
    }
    if (!due) {
      spdlog::warn("sweep {}: {}", name, due.error().detail);
      continue;
    }
    for (const auto& key : *due) {
      auto retry = sweep_retries_.find({name, key});
      if (retry != sweep_retries_.end() && env_.clock.now_us() < retry->second.next_us) continue;
      Status result;
      auto outcome = store::run_and_wait(store_.writer(), [&](store::Tx& tx) {
        result = sweep.run(tx, env_, key);
        return result.has_value();
      });
      if (outcome == store::Outcome::committed && result) {
        ++done;
        if (retry != sweep_retries_.end()) sweep_retries_.erase(retry);
        if (registry_)
          registry_
              ->counter("jishi_jobs_run_total", "Durable jobs completed", "kind=\"" + name + "\"")
              .add();
        continue;
      }
      std::string why = result ? "the write did not commit" : result.error().detail;
      if (retry == sweep_retries_.end()) {
        if (sweep_retries_.size() >= limits::jobs_per_pass_max) sweep_retries_.clear();
        retry = sweep_retries_.emplace(std::pair(name, key), Retry{}).first;
      }
      std::int64_t attempts = ++retry->second.attempts;
      retry->second.next_us = env_.clock.now_us() +
                              (options_.retry_base_us << std::min<std::int64_t>(attempts - 1, 12));
      spdlog::warn("sweep {} {} failed (attempt {}): {}", name, key, attempts, why);
    }
    if (!sweep.after || (sweep.after_due && !sweep.after_due())) continue;
    Status result;
    auto outcome = store::run_and_wait(store_.writer(), [&](store::Tx& tx) {
      result = sweep.after(tx, env_);
      return result.has_value();
    });
    if (outcome != store::Outcome::committed || !result)
      spdlog::warn("sweep {}: {}", name,
                   result ? "the write did not commit" : result.error().detail);
  }
  return done;
}

}  // namespace jishi::events
