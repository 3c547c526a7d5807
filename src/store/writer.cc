#include "store/writer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <future>

#include "core/thread_name.h"

namespace jishi::store {

Writer::Writer(std::unique_ptr<Conn> conn, WriterOptions options, metrics::Registry* registry)
    : conn_(std::move(conn)), options_(options) {
  if (registry) {
    batch_size_ =
        &registry->histogram("jishi_writer_batch_commands", "Commands per writer transaction", "",
                             metrics::batch_size_buckets());
    commit_seconds_ = &registry->histogram("jishi_writer_commit_seconds",
                                           "Time for one batch COMMIT (includes fsync)", "",
                                           metrics::latency_seconds_buckets());
    wait_seconds_ = &registry->histogram(
        "jishi_writer_wait_seconds",
        "Time a command waited in the writer's queue, from its submission to its batch's start", "",
        metrics::latency_seconds_buckets());
    command_seconds_ = &registry->histogram(
        "jishi_writer_command_seconds",
        "Time from a command's submission to its outcome: queued, run, committed and durable", "",
        metrics::latency_seconds_buckets());
    durable_seconds_ = &registry->histogram(
        "jishi_writer_durable_seconds",
        "Time from a command's COMMIT to its completion: the wait for the syncer and its "
        "fsync (pipelined durability)",
        "", metrics::latency_seconds_buckets());
    overloaded_ = &registry->counter("jishi_writer_overloaded_total",
                                     "Commands refused because the queue was full", "");
    commit_failures_ =
        &registry->counter("jishi_writer_commit_failures_total", "Batches whose COMMIT failed", "");
    replayed_ = &registry->counter("jishi_writer_replayed_batches_total",
                                   "Batches re-run with savepoints after a command failed "
                                   "having written",
                                   "");
    sync_seconds_ = &registry->histogram("jishi_writer_sync_seconds",
                                         "Time for one fdatasync of the log (pipelined durability)",
                                         "", metrics::latency_seconds_buckets());
    sync_batches_ =
        &registry->histogram("jishi_writer_sync_batches", "Batches made durable by one fsync", "",
                             metrics::batch_size_buckets());
    hook_runs_ = &registry->counter("jishi_writer_hook_runs_total",
                                    "Batches that also ran the writer's hook (inventory folds "
                                    "deferred reservations)",
                                    "");
    hook_failures_ = &registry->counter("jishi_writer_hook_failures_total",
                                        "Hook runs that failed and were undone alone", "");
    checkpoint_seconds_ = &registry->histogram(
        "jishi_writer_checkpoint_seconds",
        "Time for one checkpoint of the log beside the writer (pipelined durability)", "",
        metrics::latency_seconds_buckets());
    checkpoint_failures_ = &registry->counter("jishi_writer_checkpoint_failures_total",
                                              "Checkpoints beside the writer that failed", "");
    checkpoint_frames_ =
        &registry->counter("jishi_writer_checkpoint_frames_total",
                           "Log frames copied into the database beside the writer", "");
    registry->gauge("jishi_writer_queue_depth", "Commands waiting for the writer", "",
                    [this] { return static_cast<double>(queue_depth()); });
  }
  if (options_.pipelined_sync) sync_ = conn_->defer_sync();
  if (sync_)
    sync_thread_ = std::thread([this] {
      name_this_thread("jishi-sync");
      run_syncer();
    });
  if (sync_) checkpoint_ = conn_->background_checkpoint();
  if (checkpoint_)
    checkpoint_thread_ = std::thread([this] {
      name_this_thread("jishi-ckpt");
      run_checkpointer();
    });
  thread_ = std::thread([this] {
    name_this_thread("jishi-writer");
    run();
  });
}

Writer::~Writer() {
  stop();
}

namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}
}  // namespace

void Writer::submit(std::unique_ptr<Command> command) {
  if (command_seconds_) command->submitted_ns_ = steady_ns();
  Outcome refused;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.queue_commands_max) {
      queue_.push_back(std::move(command));
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
    refused = stopping_ ? Outcome::stopped : Outcome::overloaded;
  }
  if (refused == Outcome::overloaded && overloaded_) overloaded_->add();
  command->complete(refused);
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // The writer has drained its queue; the syncer completes what it still holds.
  {
    std::lock_guard lock(sync_mutex_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_one();
  if (sync_thread_.joinable()) sync_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_one();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

std::size_t Writer::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Writer::run() {
  std::deque<std::unique_ptr<Command>> batch;
  WriterHook* hook = options_.hook;
  bool hook_may_wait = false;  // a batch ran since the hook last had nothing to do when idle
  for (;;) {
    bool idle = false;
    {
      std::unique_lock lock(mutex_);
      auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (hook && hook_may_wait) {
        // Idle for the hook's delay after a batch: its work may be due without a command.
        if (!cv_.wait_for(lock, std::chrono::microseconds(hook->idle_delay_us()), ready)) {
          lock.unlock();
          hook_may_wait = false;
          if (hook->due(*conn_, 0, true, false)) run_batch(batch, true, false);
          continue;
        }
      } else {
        cv_.wait(lock, ready);
      }
      if (queue_.empty()) break;  // stopping and drained
      std::size_t n = std::min(queue_.size(), options_.batch_commands_max);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      idle = queue_.empty();
    }
    if (wait_seconds_) {
      std::int64_t now = steady_ns();
      for (const auto& c : batch) wait_seconds_->observe(seconds_between(c->submitted_ns_, now));
    }
    run_batch(batch, idle, false);
    batch.clear();
    hook_may_wait = true;
  }
  // The hook's last transaction (inventory's final fold), with no command in it.
  if (hook) run_batch(batch, true, true);
}

namespace {
// Runs one command, turning exceptions into failure (a bug in one command must not take the
// writer down with it).
bool execute_one(Command& command, Tx& tx) {
  try {
    return command.execute(tx);
  } catch (const std::exception& e) {
    spdlog::error("writer: command threw: {}", e.what());
  } catch (...) {
    spdlog::error("writer: command threw a non-exception");
  }
  return false;
}
}  // namespace

Writer::Pass Writer::execute_all(std::deque<std::unique_ptr<Command>>& batch,
                                 std::vector<Outcome>& outcomes, bool savepoints) {
  WriterHook* hook = options_.hook;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    outcomes[i] = Outcome::committed;
    if (savepoints && !conn_->exec("SAVEPOINT cmd")) return Pass::broken;
    std::int64_t changes_before = conn_->total_changes();
    std::size_t mark = hook ? hook->mark() : 0;
    bool ok = execute_one(*batch[i], *conn_);
    // SQLite rolled the whole transaction back by itself (an I/O error, a full disk): what the
    // batch did is gone, and nothing after it may run outside a transaction.
    if (!conn_->in_transaction()) return Pass::broken;
    if (!ok) {
      outcomes[i] = Outcome::rolled_back;
      if (!savepoints) {
        // The batch is rolled back and replayed (run_batch undoes the hook's memory then).
        if (conn_->total_changes() != changes_before) return Pass::needs_savepoints;
        if (hook) hook->undo_to(mark);  // it changed the hook's memory alone, if anything
        continue;
      }
      if (!conn_->exec("ROLLBACK TO cmd")) return Pass::broken;
      if (hook) hook->undo_to(mark);
    }
    if (savepoints && !conn_->exec("RELEASE cmd")) return Pass::broken;
  }
  return Pass::done;
}

bool Writer::run_hook(std::size_t commands, bool idle, bool stopping) {
  if (!options_.hook->due(*conn_, commands, idle, stopping)) return true;
  if (hook_runs_) hook_runs_->add();
  std::size_t mark = options_.hook->mark();
  if (auto opened = conn_->exec("SAVEPOINT hook"); !opened) {
    spdlog::error("writer: cannot run the hook: {}", opened.error().detail);
    if (hook_failures_) hook_failures_->add();
    return conn_->in_transaction();
  }
  Status ran = options_.hook->run(*conn_);
  if (ran && conn_->exec("RELEASE hook")) return conn_->in_transaction();
  if (hook_failures_) hook_failures_->add();
  spdlog::error("writer: the hook failed and was undone: {}",
                ran ? std::string("RELEASE failed") : ran.error().detail);
  // Its writes and its memory go together: if they cannot be taken back to the savepoint, the
  // batch fails as a whole (its rollback undoes both).
  bool undone =
      conn_->exec("ROLLBACK TO hook") && conn_->exec("RELEASE hook") && conn_->in_transaction();
  options_.hook->undo_to(mark);
  return undone;
}

void Writer::run_batch(std::deque<std::unique_ptr<Command>>& batch, bool idle, bool stopping) {
  std::vector<Outcome> outcomes(batch.size(), Outcome::committed);
  WriterHook* hook = options_.hook;
  bool batch_ok = static_cast<bool>(conn_->begin());
  std::size_t batch_mark = hook ? hook->mark() : 0;
  if (batch_ok) {
    Pass pass = execute_all(batch, outcomes, false);
    if (pass == Pass::needs_savepoints) {
      replays_.fetch_add(1);
      if (replayed_) replayed_->add();
      batch_ok = static_cast<bool>(conn_->rollback());
      if (hook) hook->undo_to(batch_mark);
      batch_ok = batch_ok && conn_->begin();
      if (batch_ok) pass = execute_all(batch, outcomes, true);
    }
    batch_ok = batch_ok && pass == Pass::done;
    if (batch_ok && options_.hook) batch_ok = run_hook(batch.size(), idle, stopping);
  }
  std::int64_t committed_ns = 0;
  if (batch_ok) {
    std::int64_t t0 = steady_ns();
    auto committed = conn_->commit();
    committed_ns = steady_ns();
    if (commit_seconds_) commit_seconds_->observe(seconds_between(t0, committed_ns));
    if (!committed) {
      spdlog::error("writer: COMMIT failed: {}", committed.error().detail);
      batch_ok = false;
    }
  }
  if (!batch_ok) {
    if (commit_failures_) commit_failures_->add();
    (void)conn_->rollback();
    if (hook) hook->undo_to(batch_mark);
    for (auto& o : outcomes) o = Outcome::commit_failed;
  } else if (hook) {
    hook->committed();
  }
  batches_.fetch_add(1);
  if (batch_size_) batch_size_->observe(static_cast<double>(batch.size()));
  if (!batch_ok || !sync_) {
    complete_all(batch, outcomes);
    return;
  }
  // Committed but maybe not yet on disk: the syncer completes the batch once it is. Even the
  // commands that rolled back wait, since what they answer may rest on this batch's writes.
  if (auto due = conn_->after_commit(); !due) {
    spdlog::warn("writer: checkpoint failed: {}", due.error().detail);
  } else if (*due && checkpoint_) {
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_due_ = true;
    }
    checkpoint_cv_.notify_one();
  }
  std::unique_lock lock(sync_mutex_);
  sync_room_.wait(lock, [this] {
    return sync_pending_commands_ < options_.queue_commands_max || sync_pending_.empty();
  });
  sync_pending_commands_ += batch.size();
  sync_pending_.push_back(Committed{std::move(batch), std::move(outcomes), committed_ns});
  if (sync_pending_.size() == 1) sync_cv_.notify_one();
}

void Writer::complete_all(std::deque<std::unique_ptr<Command>>& batch,
                          const std::vector<Outcome>& outcomes) {
  if (command_seconds_) {
    std::int64_t now = steady_ns();
    for (const auto& c : batch) command_seconds_->observe(seconds_between(c->submitted_ns_, now));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->complete(outcomes[i]);
}

void Writer::run_syncer() {
  std::deque<Committed> work;
  for (;;) {
    {
      std::unique_lock lock(sync_mutex_);
      sync_cv_.wait(lock, [this] { return sync_stopping_ || !sync_pending_.empty(); });
      if (sync_pending_.empty()) return;  // stopping and drained
      work.swap(sync_pending_);
      sync_pending_commands_ = 0;
    }
    sync_room_.notify_one();
    std::int64_t t0 = steady_ns();
    auto synced = sync_();
    if (!synced) {
      // After a failed fsync the kernel may have dropped the dirty pages: what is on disk is
      // unknown, and retrying could report success for lost data. Stop, as PostgreSQL does;
      // recovery at the next start finds exactly what is durable. Nothing of it was answered.
      spdlog::critical("writer: cannot make the log durable ({}); stopping", synced.error().detail);
      std::abort();
    }
    std::int64_t now = steady_ns();
    if (sync_seconds_) sync_seconds_->observe(seconds_between(t0, now));
    if (sync_batches_) sync_batches_->observe(static_cast<double>(work.size()));
    if (durable_seconds_)  // per command, as the other two: a batch's commands share the value
      for (const auto& c : work)
        durable_seconds_->observe(seconds_between(c.committed_ns, now), c.commands.size());
    for (auto& c : work) complete_all(c.commands, c.outcomes);
    work.clear();
  }
}

void Writer::run_checkpointer() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_stopping_ || checkpoint_due_; });
      if (checkpoint_stopping_) return;  // the last connection to close checkpoints
      checkpoint_due_ = false;
    }
    auto t0 = std::chrono::steady_clock::now();
    // A failure (the disk, say) loses nothing: the log keeps every frame, the next request
    // tries again, and the writer checkpoints itself if the log grows too long.
    auto copied = checkpoint_();
    if (!copied) {
      spdlog::warn("writer: background checkpoint failed: {}", copied.error().detail);
      if (checkpoint_failures_) checkpoint_failures_->add();
      continue;
    }
    if (checkpoint_frames_) checkpoint_frames_->add(static_cast<std::uint64_t>(*copied));
    if (checkpoint_seconds_)
      checkpoint_seconds_->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

Outcome run_and_wait(Writer& writer, std::function<bool(Tx&)> fn) {
  std::promise<Outcome> done;
  auto fut = done.get_future();
  writer.submit(make_command(std::move(fn), [&done](Outcome o) { done.set_value(o); }));
  return fut.get();
}

}  // namespace jishi::store
