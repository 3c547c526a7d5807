// The batched single writer (ARCHITECTURE.md). Every write is a Command run on the writer's
// thread: BEGIN; the commands; one COMMIT — one fsync — for the whole batch; then every command
// is completed. Nothing is completed as committed before COMMIT has returned. The queue is
// bounded: a full queue completes the command at once with Outcome::overloaded (the API answers
// 503 + Retry-After).
//
// Isolation of failures: a command that fails rolls back alone. The batch first runs without
// savepoints (they cost ~20% of a small command); a command that fails before changing any row
// needs no undo. If one fails after changing rows, the batch is rolled back and run again with
// a SAVEPOINT per command. So execute() may run more than once: it must have no effects
// outside its transaction (ids and clock reads are fine; nothing has been reported yet).
//
// Pipelined durability (WriterOptions::pipelined_sync, on in `jishi serve`): COMMIT returns
// once the batch is in the log, not on disk, and a second thread, the syncer, makes it durable
// (one fdatasync covering every batch committed meanwhile) while the writer already executes
// the next batch. Commands are still completed only after their batch is durable, in order, so
// nothing is acknowledged before it would survive a power loss. Readers may see a batch in the
// few milliseconds between its COMMIT and its fsync; a crash in that window loses that batch
// (and every later one) as a whole, and none of them had been acknowledged.
//
// With pipelined durability the log is also checkpointed beside the writer: a third thread,
// the checkpointer, copies the log into the database from a connection of its own when the
// writer finds it due after a COMMIT (Conn::background_checkpoint), so the writer neither
// copies pages nor waits for the database file's fsync.
//
// A hook (WriterOptions::hook) lets a module do work of its own in the writer's transactions:
// inventory folds the reservations it defers into inv_stock, at the end of a batch when due,
// after an idle spell, and in a last transaction at stop.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "store/database.h"

namespace jishi::store {

enum class Outcome {
  committed,      // execute() succeeded and the batch is durable
  rolled_back,    // execute() returned false or threw; its writes were undone
  commit_failed,  // the batch's COMMIT failed; nothing of the batch is stored
  overloaded,     // the queue was full; never executed
  stopped,        // the writer was stopping; never executed
};

class Command {
 public:
  virtual ~Command() = default;
  // Runs inside the batch transaction. No I/O besides tx; must not block; no DDL. Return
  // false to roll back this command's writes (its result is still reported through
  // complete()). May be run again from scratch (see above).
  virtual bool execute(Tx& tx) = 0;
  // Called exactly once, on the writer's thread (or the submitter's thread for overloaded /
  // stopped). Must be quick: hand the result to the caller's executor and return.
  virtual void complete(Outcome outcome) noexcept = 0;

 private:
  friend class Writer;
  std::int64_t submitted_ns_ = 0;  // steady clock, set by Writer::submit
};

// Work the writer does for a module around the commands: on the writer's connection, after
// the batch's commands and before its COMMIT, when the hook says it is due (inventory folds the
// reservations it defers; see inventory::ReservationDeferral).
class WriterHook {
 public:
  virtual ~WriterHook() = default;
  // Once, on the writer's connection, outside any transaction, before the writer starts
  // (Store::open calls it). A failure fails the open.
  virtual Status prepare(Conn& conn) = 0;
  // Asked right before each run, inside the transaction, at the end of every batch whose
  // commands ran: `commands` in the batch, `idle` when no command is waiting, `stopping` for
  // the writer's last transaction (which has no command). Also asked, with no command and
  // outside any transaction, once the writer has been idle for idle_delay_us() after a batch;
  // a yes then runs a transaction for the hook alone (where it is asked again).
  virtual bool due(Conn& conn, std::size_t commands, bool idle, bool stopping) = 0;
  virtual std::int64_t idle_delay_us() const = 0;
  // Inside the batch's transaction, under a savepoint of its own: a failure is logged and
  // undone alone, and the batch's commands still commit.
  virtual Status run(Tx& tx) = 0;

  // State the module keeps in memory beside the transaction (inventory's deferred units)
  // follows it through these: the writer takes a mark() after BEGIN, before each command and
  // before run(); whenever it rolls back to one of those points (a failed command, with or
  // without its savepoint; the whole batch before a replay, on a failure or a failed COMMIT;
  // the hook's own savepoint) it calls undo_to() with that mark; after a COMMIT, committed().
  // Everything between the last committed() and the next BEGIN is thereby durable or undone.
  virtual std::size_t mark() { return 0; }
  virtual void undo_to(std::size_t /*mark*/) {}
  virtual void committed() {}
};

struct WriterOptions {
  std::size_t batch_commands_max = 1000;
  std::size_t queue_commands_max = 8192;  // also bounds the commands waiting for the syncer
  bool pipelined_sync = false;            // see above; needs an engine that can defer sync
  WriterHook* hook = nullptr;             // not owned; outlives the writer
};

class Writer {
 public:
  // Takes ownership of the write connection and starts the writer thread.
  Writer(std::unique_ptr<Conn> conn, WriterOptions options, metrics::Registry* registry);
  ~Writer();  // stop()s

  // Enqueues a command; never blocks. Completes it at once when full or stopping.
  void submit(std::unique_ptr<Command> command);
  // Runs every queued command, then stops the thread. Idempotent.
  void stop();

  std::size_t queue_depth() const;
  std::uint64_t batches() const { return batches_.load(); }
  // Batches that had to be re-run with savepoints.
  std::uint64_t replays() const { return replays_.load(); }
  // Whether COMMIT and fsync are pipelined (the option was set and the engine can defer).
  bool pipelined() const { return static_cast<bool>(sync_); }

 private:
  void run();
  void run_batch(std::deque<std::unique_ptr<Command>>& batch, bool idle, bool stopping);
  // False when the batch must fail: the hook's savepoint could not be undone, or the
  // transaction is gone.
  bool run_hook(std::size_t commands, bool idle, bool stopping);
  enum class Pass { done, needs_savepoints, broken };
  Pass execute_all(std::deque<std::unique_ptr<Command>>& batch, std::vector<Outcome>& outcomes,
                   bool savepoints);
  void run_syncer();
  void run_checkpointer();
  // Completes each command with its outcome and observes its time since submission.
  void complete_all(std::deque<std::unique_ptr<Command>>& batch,
                    const std::vector<Outcome>& outcomes);

  // A committed batch waiting for the syncer.
  struct Committed {
    std::deque<std::unique_ptr<Command>> commands;
    std::vector<Outcome> outcomes;
    std::int64_t committed_ns = 0;  // steady clock, when its COMMIT returned
  };

  std::unique_ptr<Conn> conn_;
  WriterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Command>> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> replays_{0};
  metrics::Counter* replayed_ = nullptr;
  metrics::Histogram* batch_size_ = nullptr;
  metrics::Histogram* commit_seconds_ = nullptr;
  metrics::Histogram* wait_seconds_ = nullptr;     // submitted → its batch begins
  metrics::Histogram* command_seconds_ = nullptr;  // submitted → completed (durable)
  metrics::Histogram* durable_seconds_ = nullptr;  // its batch's COMMIT returned → completed
  metrics::Counter* overloaded_ = nullptr;
  metrics::Counter* commit_failures_ = nullptr;
  metrics::Histogram* sync_seconds_ = nullptr;
  metrics::Histogram* sync_batches_ = nullptr;
  metrics::Counter* hook_runs_ = nullptr;
  metrics::Counter* hook_failures_ = nullptr;

  std::function<Status()> sync_;  // set when pipelined
  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;    // the syncer waits for work
  std::condition_variable sync_room_;  // the writer waits when too much awaits the syncer
  std::deque<Committed> sync_pending_;
  std::size_t sync_pending_commands_ = 0;
  bool sync_stopping_ = false;
  std::thread sync_thread_;

  std::function<Result<std::int64_t>()> checkpoint_;  // set when pipelined, the engine has a log
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;
  bool checkpoint_stopping_ = false;
  metrics::Histogram* checkpoint_seconds_ = nullptr;
  metrics::Counter* checkpoint_failures_ = nullptr;
  metrics::Counter* checkpoint_frames_ = nullptr;
  std::thread checkpoint_thread_;

  std::thread thread_;
};

// A command from a lambda, for tools, tests and the CLI: fn(tx) -> bool, done(outcome).
template <class Fn, class Done>
class LambdaCommand final : public Command {
 public:
  LambdaCommand(Fn fn, Done done) : fn_(std::move(fn)), done_(std::move(done)) {}
  bool execute(Tx& tx) override { return fn_(tx); }
  void complete(Outcome o) noexcept override { done_(o); }

 private:
  Fn fn_;
  Done done_;
};

template <class Fn, class Done>
std::unique_ptr<Command> make_command(Fn fn, Done done) {
  return std::make_unique<LambdaCommand<Fn, Done>>(std::move(fn), std::move(done));
}

// Submits fn and blocks the calling thread until its outcome is known. For CLI verbs and
// tests only; never call from an I/O thread.
Outcome run_and_wait(Writer& writer, std::function<bool(Tx&)> fn);

}  // namespace jishi::store
