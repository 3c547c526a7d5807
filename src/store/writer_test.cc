#include "store/writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::store {
namespace {

std::unique_ptr<Conn> fresh_conn(const std::string& path) {
  auto c = std::move(open_sqlite(path, OpenMode::read_write).value());
  EXPECT_TRUE(c->exec_script("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"));
  return c;
}

std::int64_t count_rows(const std::string& path) {
  auto r = std::move(open_sqlite(path, OpenMode::read_only).value());
  return r->query_one("SELECT COUNT(*) FROM t", {}, [](const Row& row) { return row.i64(0); })
      .value()
      .value();
}

TEST(Writer, AFailingCommandRollsBackAloneInItsBatch) {
  auto path = testing::fresh_db_path("writer_savepoint");
  Writer w(fresh_conn(path), {}, nullptr);
  // Fill one batch: even ids succeed; odd ids write then fail, so their writes must vanish.
  std::vector<std::future<Outcome>> outcomes;
  std::vector<std::promise<Outcome>> promises(200);
  for (int i = 0; i < 200; ++i) {
    outcomes.push_back(promises[i].get_future());
    w.submit(make_command(
        [i](Tx& tx) {
          EXPECT_TRUE(tx.exec("INSERT INTO t (id, v) VALUES ($1, $2)", {i, i}));
          return i % 2 == 0;
        },
        [&promises, i](Outcome o) { promises[i].set_value(o); }));
  }
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(outcomes[i].get(), i % 2 == 0 ? Outcome::committed : Outcome::rolled_back);
  EXPECT_GE(w.replays(), 1u);  // failures after writing need the savepoint pass
  w.stop();
  EXPECT_EQ(count_rows(path), 100);
}

TEST(Writer, ACommandFailingBeforeWritingNeedsNoReplay) {
  auto path = testing::fresh_db_path("writer_fail_early");
  Writer w(fresh_conn(path), {}, nullptr);
  std::vector<std::promise<Outcome>> promises(100);
  for (int i = 0; i < 100; ++i)
    w.submit(make_command(
        [i](Tx& tx) {
          if (i % 3 == 0) return false;  // e.g. a stock check that fails before any write
          return tx.exec("INSERT INTO t (id, v) VALUES ($1, $2)", {i, i}).has_value();
        },
        [&promises, i](Outcome o) { promises[i].set_value(o); }));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(promises[i].get_future().get(),
              i % 3 == 0 ? Outcome::rolled_back : Outcome::committed);
  EXPECT_EQ(w.replays(), 0u);
  w.stop();
  EXPECT_EQ(count_rows(path), 66);
}

TEST(Writer, AFailedStatementInsideACommandChangesNothing) {
  auto path = testing::fresh_db_path("writer_failed_stmt");
  Writer w(fresh_conn(path), {}, nullptr);
  ASSERT_EQ(
      run_and_wait(
          w, [](Tx& tx) { return tx.exec("INSERT INTO t (id, v) VALUES (1, 1)").has_value(); }),
      Outcome::committed);
  // A duplicate key fails the statement; SQLite undoes it; the command then gives up.
  EXPECT_EQ(
      run_and_wait(
          w, [](Tx& tx) { return tx.exec("INSERT INTO t (id, v) VALUES (1, 2)").has_value(); }),
      Outcome::rolled_back);
  w.stop();
  EXPECT_EQ(count_rows(path), 1);
}

TEST(Writer, ACommandThatThrowsIsRolledBackNotFatal) {
  auto path = testing::fresh_db_path("writer_throw");
  Writer w(fresh_conn(path), {}, nullptr);
  auto o = run_and_wait(w, [](Tx& tx) -> bool {
    (void)tx.exec("INSERT INTO t (id, v) VALUES (1, 1)");
    throw std::runtime_error("bug");
  });
  EXPECT_EQ(o, Outcome::rolled_back);
  EXPECT_EQ(
      run_and_wait(
          w, [](Tx& tx) { return tx.exec("INSERT INTO t (id, v) VALUES (2, 2)").has_value(); }),
      Outcome::committed);
  w.stop();
  EXPECT_EQ(count_rows(path), 1);
}

TEST(Writer, AFullQueueRefusesInsteadOfGrowing) {
  auto path = testing::fresh_db_path("writer_full");
  WriterOptions opts;
  opts.queue_commands_max = 4;
  opts.batch_commands_max = 1;
  Writer w(fresh_conn(path), opts, nullptr);
  std::promise<void> gate;
  auto gate_future = gate.get_future().share();
  std::atomic<int> overloaded{0}, committed{0};
  // The first command blocks the writer thread so the queue fills up behind it.
  w.submit(make_command(
      [gate_future](Tx&) {
        gate_future.wait();
        return true;
      },
      [&](Outcome o) { committed += o == Outcome::committed; }));
  // Wait (with a deadline) until the writer thread has taken it off the queue.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w.queue_depth() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(w.queue_depth(), 0u);
  for (int i = 0; i < 10; ++i)
    w.submit(make_command([](Tx&) { return true; },
                          [&](Outcome o) {
                            if (o == Outcome::overloaded) ++overloaded;
                            if (o == Outcome::committed) ++committed;
                          }));
  EXPECT_EQ(overloaded.load(), 6);
  gate.set_value();
  w.stop();
  EXPECT_EQ(committed.load(), 5);
}

TEST(Writer, StopRunsEverythingQueuedThenRefuses) {
  auto path = testing::fresh_db_path("writer_stop");
  Writer w(fresh_conn(path), {}, nullptr);
  std::atomic<int> done{0};
  for (int i = 0; i < 500; ++i)
    w.submit(make_command(
        [i](Tx& tx) { return tx.exec("INSERT INTO t (id, v) VALUES ($1, 0)", {i}).has_value(); },
        [&](Outcome o) { done += o == Outcome::committed; }));
  w.stop();
  EXPECT_EQ(done.load(), 500);
  Outcome late = Outcome::committed;
  w.submit(make_command([](Tx&) { return true; }, [&](Outcome o) { late = o; }));
  EXPECT_EQ(late, Outcome::stopped);
  EXPECT_EQ(count_rows(path), 500);
}

// Randomised: many threads, commands that fail at random; the table must hold exactly the
// committed commands' rows. The seed is printed so a failure reproduces.
TEST(Writer, RandomisedOutcomesMatchTheTable) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto path = testing::fresh_db_path("writer_random");
  Writer w(fresh_conn(path), {}, nullptr);
  std::atomic<std::int64_t> committed_sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + static_cast<unsigned>(t));
      std::vector<std::promise<void>> waits(250);
      for (int i = 0; i < 250; ++i) {
        std::int64_t id = t * 1000 + i;
        std::int64_t v = rng() % 1000;
        bool ok = rng() % 3 != 0;
        w.submit(make_command(
            [=](Tx& tx) {
              return tx.exec("INSERT INTO t (id, v) VALUES ($1, $2)", {id, v}).has_value() && ok;
            },
            [&, v, i](Outcome o) {
              if (o == Outcome::committed) committed_sum += v;
              waits[static_cast<std::size_t>(i)].set_value();
            }));
      }
      for (auto& p : waits) p.get_future().wait();
    });
  for (auto& th : threads) th.join();
  w.stop();
  auto r = std::move(open_sqlite(path, OpenMode::read_only).value());
  auto sum = r->query_one("SELECT COALESCE(SUM(v), 0) FROM t", {},
                          [](const Row& row) { return row.i64(0); });
  EXPECT_EQ(sum.value().value(), committed_sum.load());
}

// A real SQLite connection whose deferred sync waits at a gate the test opens: shows what
// happens between a batch's COMMIT and its fsync.
class GatedSyncConn final : public Conn {
 public:
  GatedSyncConn(std::unique_ptr<Conn> inner, std::shared_future<void> gate, std::atomic<int>* syncs)
      : inner_(std::move(inner)), gate_(std::move(gate)), syncs_(syncs) {}
  Engine engine() const override { return inner_->engine(); }
  Result<std::int64_t> exec(std::string_view sql, Params params) override {
    return inner_->exec(sql, params);
  }
  Status query(std::string_view sql, Params params, FunctionRef<bool(const Row&)> f) override {
    return inner_->query(sql, params, f);
  }
  Status exec_script(std::string_view sql) override { return inner_->exec_script(sql); }
  std::int64_t total_changes() const override { return inner_->total_changes(); }
  bool in_transaction() const override { return inner_->in_transaction(); }
  std::optional<std::uint64_t> others_committed() const override {
    return inner_->others_committed();
  }
  Status begin() override { return inner_->begin(); }
  Status commit() override { return inner_->commit(); }
  Status rollback() override { return inner_->rollback(); }
  Result<bool> after_commit() override { return inner_->after_commit(); }
  std::function<Result<std::int64_t>()> background_checkpoint() override {
    return inner_->background_checkpoint();
  }
  std::function<Status()> defer_sync() override {
    auto real = inner_->defer_sync();
    return [real, gate = gate_, syncs = syncs_]() -> Status {
      gate.wait();
      ++*syncs;
      return real();
    };
  }

 private:
  std::unique_ptr<Conn> inner_;
  std::shared_future<void> gate_;
  std::atomic<int>* syncs_;
};

TEST(WriterPipelined, NothingIsCompletedBeforeItsBatchIsSyncedYetTheWriterMovesOn) {
  auto path = testing::fresh_db_path("writer_pipelined");
  std::promise<void> gate;
  std::atomic<int> syncs{0};
  WriterOptions opts;
  opts.pipelined_sync = true;
  Writer w(std::make_unique<GatedSyncConn>(fresh_conn(path), gate.get_future().share(), &syncs),
           opts, nullptr);
  ASSERT_TRUE(w.pipelined());
  std::vector<Outcome> seen;
  std::mutex m;
  auto insert = [&](int id, bool ok) {
    w.submit(make_command(
        [id, ok](Tx& tx) {
          return tx.exec("INSERT INTO t (id, v) VALUES ($1, 0)", {id}).has_value() && ok;
        },
        [&, id](Outcome o) {
          std::lock_guard lock(m);
          seen.push_back(o);
          (void)id;
        }));
  };
  insert(1, true);
  // The first batch commits; its fsync is held at the gate.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (count_rows(path) != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(count_rows(path), 1);
  // The writer executes and commits more batches meanwhile (one failing command among them)...
  insert(2, true);
  insert(3, false);
  insert(4, true);
  while (count_rows(path) != 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(count_rows(path), 3);
  // ...but nothing is completed, not even the command that rolled back, before the fsync.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(m);
    EXPECT_TRUE(seen.empty());
  }
  EXPECT_EQ(syncs.load(), 0);
  gate.set_value();
  w.stop();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], Outcome::committed);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), Outcome::rolled_back), 1);
  // Batches committed while one fsync ran were made durable together.
  EXPECT_GE(syncs.load(), 1);
  EXPECT_LE(syncs.load(), 3);
}

// /metrics splits a command's time: jishi_writer_wait_seconds from its submission to its
// batch's start, jishi_writer_command_seconds to its completion, after the batch's fsync, and
// jishi_writer_durable_seconds from its batch's COMMIT to that completion.
TEST(WriterPipelined, ACommandsWaitAndItsWholeTimeAreObserved) {
  auto path = testing::fresh_db_path("writer_timed");
  std::promise<void> gate;
  std::atomic<int> syncs{0};
  WriterOptions opts;
  opts.pipelined_sync = true;
  metrics::Registry registry;
  Writer w(std::make_unique<GatedSyncConn>(fresh_conn(path), gate.get_future().share(), &syncs),
           opts, &registry);
  std::atomic<int> done{0};
  auto insert = [&](int id, int sleep_ms) {
    w.submit(make_command(
        [id, sleep_ms](Tx& tx) {
          std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
          return tx.exec("INSERT INTO t (id, v) VALUES ($1, 0)", {id}).has_value();
        },
        [&](Outcome o) { done += o == Outcome::committed; }));
  };
  insert(1, 80);  // the writer is busy with it for 80 ms...
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w.queue_depth() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  insert(2, 0);  // ...while this one waits in the queue
  while (count_rows(path) != 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(count_rows(path), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // committed, not yet durable
  EXPECT_EQ(done.load(), 0);
  gate.set_value();
  w.stop();
  EXPECT_EQ(done.load(), 2);
  auto histogram = [&](const std::string& name) {
    std::string out;
    registry.histogram(name, "", "", metrics::latency_seconds_buckets()).render(out, name, "");
    return out;
  };
  auto value = [](const std::string& text, const std::string& series) {
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos && text.starts_with(series + " ")) at = 0;
    EXPECT_NE(at, std::string::npos) << series << " in " << text;
    if (at == std::string::npos) return -1.0;
    return std::stod(text.substr(text.find(' ', at + 1) + 1));
  };
  std::string wait = histogram("jishi_writer_wait_seconds");
  std::string whole = histogram("jishi_writer_command_seconds");
  EXPECT_EQ(value(wait, "jishi_writer_wait_seconds_count"), 2);
  EXPECT_EQ(value(whole, "jishi_writer_command_seconds_count"), 2);
  // The second waited for the first's 80 ms; each waited for the fsync held 50 ms and more.
  EXPECT_GE(value(wait, "jishi_writer_wait_seconds_sum"), 0.06);
  EXPECT_GE(value(whole, "jishi_writer_command_seconds_sum"),
            value(wait, "jishi_writer_wait_seconds_sum") + 0.08 + 2 * 0.05);
  // Both were committed, then held at the fsync for 50 ms and more; the first ran 80 ms before
  // its COMMIT, which its time to durable does not count.
  std::string durable = histogram("jishi_writer_durable_seconds");
  EXPECT_EQ(value(durable, "jishi_writer_durable_seconds_count"), 2);
  EXPECT_GE(value(durable, "jishi_writer_durable_seconds_sum"), 2 * 0.05);
  EXPECT_LE(value(durable, "jishi_writer_durable_seconds_sum"),
            value(whole, "jishi_writer_command_seconds_sum") - 0.08);
}

TEST(WriterPipelined, InMemoryDatabasesCannotDeferAndStayPlain) {
  auto c = std::move(open_sqlite(":memory:", OpenMode::read_write).value());
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)"));
  WriterOptions opts;
  opts.pipelined_sync = true;
  Writer w(std::move(c), opts, nullptr);
  EXPECT_FALSE(w.pipelined());
  EXPECT_EQ(
      run_and_wait(w, [](Tx& tx) { return tx.exec("INSERT INTO t VALUES (1, 1)").has_value(); }),
      Outcome::committed);
}

// Pipelined durability with small batches, on a database with a table `pad` (id, b) beside `t`.
WriterOptions pipelined_options() {
  WriterOptions opts;
  opts.pipelined_sync = true;
  opts.batch_commands_max = 50;
  return opts;
}
std::unique_ptr<Conn> padded_conn(const std::string& path) {
  auto conn = fresh_conn(path);
  EXPECT_TRUE(conn->exec_script("CREATE TABLE pad (id BIGINT PRIMARY KEY, b TEXT NOT NULL)"));
  return conn;
}

// Many threads, random failures, and enough data to pass the checkpoint threshold several
// times: every committed row is there after the writer closes (at synchronous=NORMAL), the WAL
// has been checkpointed into the database, and the sum matches.
TEST(WriterPipelined, RandomisedOutcomesMatchTheTableAcrossCheckpoints) {
  auto seed = std::random_device{}();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  auto path = testing::fresh_db_path("writer_pipelined_random");
  std::atomic<std::int64_t> committed_sum{0};
  {
    Writer w(padded_conn(path), pipelined_options(), nullptr);
    ASSERT_TRUE(w.pipelined());
    std::vector<std::thread> threads;
    std::string pad(3000, 'x');  // ~1 page per row: the WAL passes 2,000 frames, thrice
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        std::mt19937 rng(seed + static_cast<unsigned>(t));
        std::vector<std::promise<void>> waits(1500);
        for (int i = 0; i < 1500; ++i) {
          std::int64_t id = t * 10000 + i;
          std::int64_t v = rng() % 1000;
          bool ok = rng() % 4 != 0;
          w.submit(make_command(
              [=, &pad](Tx& tx) {
                return tx.exec("INSERT INTO t (id, v) VALUES ($1, $2)", {id, v}).has_value() &&
                       tx.exec("INSERT INTO pad (id, b) VALUES ($1, $2)", {id, pad}).has_value() &&
                       ok;
              },
              [&, v, i](Outcome o) {
                if (o == Outcome::committed) committed_sum += v;
                waits[static_cast<std::size_t>(i)].set_value();
              }));
        }
        for (auto& p : waits) p.get_future().wait();
      });
    for (auto& th : threads) th.join();
    // The writer checkpointed on its own: the pages reach the database file. The checkpointer
    // works beside the writer, so its copy may still be under way when the last command is
    // answered; it has at most 30 s to land (a clean CI run once looked too early).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::filesystem::file_size(path) <= (4u << 20) &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GT(std::filesystem::file_size(path), 4u << 20);
  }
  auto r = std::move(open_sqlite(path, OpenMode::read_only).value());
  auto sum = r->query_one("SELECT COALESCE(SUM(v), 0) FROM t", {},
                          [](const Row& row) { return row.i64(0); });
  EXPECT_EQ(sum.value().value(), committed_sum.load());
}

// Twelve times the checkpoint threshold of data, written without a pause: the checkpointer
// copies the log into the database beside the writer, the writer the little it appended
// meanwhile, and the log restarts. So it grows past the threshold (2,000 frames) only by what
// this writer, which does nothing but append pages, appends during the checkpointer's rounds
// (up to ~7,500 frames with three copies of this test at once under ASan).
TEST(WriterPipelined, TheLogStaysBoundedUnderEndlessWrites) {
  auto path = testing::fresh_db_path("writer_pipelined_bounded");
  std::string pad(3000, 'y');  // ~1 page per row
  constexpr int kRows = 24'000;
  metrics::Registry registry;
  {
    Writer w(padded_conn(path), pipelined_options(), &registry);
    ASSERT_TRUE(w.pipelined());
    constexpr int kChunk = 2'000;  // within the queue's bound, and the writer never idles long
    std::vector<std::promise<Outcome>> done(kRows);
    for (int from = 0; from < kRows; from += kChunk) {
      for (int i = from; i < from + kChunk; ++i)
        w.submit(make_command(
            [i, &pad](Tx& tx) {
              return tx.exec("INSERT INTO pad (id, b) VALUES ($1, $2)", {std::int64_t{i}, pad})
                  .has_value();
            },
            [&done, i](Outcome o) { done[static_cast<std::size_t>(i)].set_value(o); }));
      // Wait for the chunk before the one just sent, so two are always in flight.
      if (from < kChunk) continue;
      for (int i = from - kChunk; i < from; ++i)
        ASSERT_EQ(done[static_cast<std::size_t>(i)].get_future().get(), Outcome::committed);
    }
    for (int i = kRows - kChunk; i < kRows; ++i)
      ASSERT_EQ(done[static_cast<std::size_t>(i)].get_future().get(), Outcome::committed);
    auto wal = std::filesystem::file_size(path + "-wal");
    EXPECT_LT(wal, 12'000u * 4'096u) << "the log kept growing: it never restarted";
    EXPECT_GT(std::filesystem::file_size(path), 60u << 20) << "the pages reached the database";
    // The copying was done beside the writer, by the checkpointer's own connection.
    auto& checkpoints = registry.histogram("jishi_writer_checkpoint_seconds", "", "",
                                           metrics::latency_seconds_buckets());
    EXPECT_GE(checkpoints.count(), 2u);
    EXPECT_EQ(registry.counter("jishi_writer_checkpoint_failures_total", "", "").value(), 0u);
    // At least the log it was first asked about (2,000 frames). This writer, which does nothing
    // but append pages, outruns it, so the writer copies a good part itself (~2/3 here); a
    // checkout writes far fewer frames per second.
    EXPECT_GE(registry.counter("jishi_writer_checkpoint_frames_total", "", "").value(), 2'000u);
    // The syncer keeps the log's descriptor from its first sync on (sqlite.cc, LogFile). After
    // all those restarts every descriptor of the log, the syncer's among them, still names the
    // live file: SQLite starts the log over in place, and nothing synced a file it had left.
    struct stat live {};
    ASSERT_EQ(::stat((path + "-wal").c_str(), &live), 0);
    std::string log = std::filesystem::weakly_canonical(path + "-wal").string();
    int descriptors = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      std::string target = std::filesystem::read_symlink(e.path(), ec).string();
      if (ec || !target.starts_with(log)) continue;
      EXPECT_EQ(target, log);  // not "... (deleted)"
      struct stat open_file {};
      ASSERT_EQ(::fstat(std::stoi(e.path().filename().string()), &open_file), 0);
      EXPECT_EQ(open_file.st_ino, live.st_ino);
      ++descriptors;
    }
    // The writer's connection, the checkpointer's and the syncer's.
    EXPECT_GE(descriptors, 3);
  }
  auto r = std::move(open_sqlite(path, OpenMode::read_only).value());
  auto n = r->query_one("SELECT COUNT(*) FROM pad", {}, [](const Row& row) { return row.i64(0); });
  EXPECT_EQ(n.value().value(), kRows);
}

// A hook that writes a row of its own into `h` each time it runs, when and as told.
class TestHook final : public WriterHook {
 public:
  std::atomic<bool> due_on_batches{true}, failing{false}, due_when_idle{false};
  std::atomic<int> runs{0}, idle_asks{0}, stop_runs{0};
  std::atomic<std::int64_t> delay_us{1'000'000};
  Status prepare(Conn& conn) override {
    return conn.exec_script("CREATE TABLE IF NOT EXISTS h (run BIGINT NOT NULL)");
  }
  bool due(Conn&, std::size_t commands, bool, bool stopping) override {
    if (stopping) {
      stop_runs.fetch_add(1);
      return true;
    }
    if (commands == 0) {
      idle_asks.fetch_add(1);
      return due_when_idle.load();
    }
    return due_on_batches.load();
  }
  std::int64_t idle_delay_us() const override { return delay_us.load(); }
  Status run(Tx& tx) override {
    int n = runs.fetch_add(1) + 1;
    JISHI_TRY(tx.exec("INSERT INTO h (run) VALUES ($1)", {n}));
    if (failing.load()) return fail(Code::internal, "the hook failed on purpose");
    return {};
  }
};

std::int64_t count_in(const std::string& path, const char* table) {
  auto r = std::move(open_sqlite(path, OpenMode::read_only).value());
  return r
      ->query_one(std::string("SELECT COUNT(*) FROM ") + table, {},
                  [](const Row& row) { return row.i64(0); })
      .value()
      .value();
}

Outcome run_insert(Writer& w, int id) {
  return run_and_wait(w, [id](Tx& tx) {
    return tx.exec("INSERT INTO t (id, v) VALUES ($1, 0)", {id}).has_value();
  });
}

TEST(WriterHook, RunsInTheBatchAndAFailureIsUndoneWithoutTheCommands) {
  auto path = testing::fresh_db_path("writer_hook");
  TestHook hook;
  auto conn = fresh_conn(path);
  ASSERT_TRUE(hook.prepare(*conn));
  WriterOptions o;
  o.hook = &hook;
  Writer w(std::move(conn), o, nullptr);
  EXPECT_EQ(run_insert(w, 1), Outcome::committed);
  EXPECT_EQ(count_in(path, "h"), 1);  // committed with the batch, before the reply
  hook.failing = true;
  EXPECT_EQ(run_insert(w, 2), Outcome::committed);  // the command commits all the same
  EXPECT_EQ(count_in(path, "t"), 2);
  EXPECT_EQ(count_in(path, "h"), 1);  // the failed run's row is gone
  hook.failing = false;
  hook.due_on_batches = false;
  EXPECT_EQ(run_insert(w, 3), Outcome::committed);
  EXPECT_EQ(count_in(path, "h"), 1);  // not due: not run
  w.stop();
  EXPECT_EQ(hook.stop_runs.load(), 1);  // the last transaction, with no command
  EXPECT_EQ(count_in(path, "h"), 2);
}

TEST(WriterHook, AnIdleWriterAsksAfterTheDelayOnceAndRunsWhenDue) {
  auto path = testing::fresh_db_path("writer_hook_idle");
  TestHook hook;
  hook.due_on_batches = false;
  hook.due_when_idle = true;
  hook.delay_us = 20'000;
  auto conn = fresh_conn(path);
  ASSERT_TRUE(hook.prepare(*conn));
  WriterOptions o;
  o.hook = &hook;
  Writer w(std::move(conn), o, nullptr);
  EXPECT_EQ(hook.idle_asks.load(), 0);  // nothing ran yet: no reason to ask
  EXPECT_EQ(run_insert(w, 1), Outcome::committed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (count_in(path, "h") == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(count_in(path, "h"), 1);  // run on its own, with no command
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Asked once per idle spell (outside, then again in the transaction it runs in), not again
  // every delay.
  EXPECT_EQ(hook.idle_asks.load(), 2);
  w.stop();
}

}  // namespace
}  // namespace jishi::store
