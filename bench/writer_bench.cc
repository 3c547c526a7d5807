// Throughput of the batched single writer with real fsyncs: trivial commands (one INSERT of a
// small row each) per second on a fresh SQLite file (WAL, synchronous=FULL as open_sqlite sets
// it), for several batch caps. Submitter threads keep a bounded number of commands in flight so
// the writer always finds a full batch waiting.
//
// Usage: jishi_writer_bench [--seconds S] [--caps 1,100,1000] [--submitters N] [--dir DIR]
// Prints one line per cap:
//   writer batch_max=1000 commands_per_s=NNN batches_per_s=NNN mean_batch=NNN
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/limits.h"
#include "store/sqlite.h"
#include "store/writer.h"

namespace {

using jishi::store::Outcome;
using jishi::store::Tx;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  double seconds = 3.0;
  std::vector<std::size_t> caps = {1, 100, 1000};
  std::size_t submitters = 2;
  std::string dir;  // empty: a fresh mkdtemp directory under /tmp, removed at exit
};

struct CapResult {
  std::size_t batch_max = 0;
  double commands_per_s = 0;
  double batches_per_s = 0;
  double mean_batch = 0;
};

// Shared between submitters and completion callbacks (which run on the writer thread).
struct Counters {
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> failed{0};  // any outcome but committed: a bench failure
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "jishi_writer_bench: %s\n", why.c_str());
  std::exit(1);
}

std::size_t parse_count(std::string_view s, std::string_view what) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0)
    die("bad " + std::string(what) + ": " + std::string(s));
  return v;
}

BenchOptions parse_args(int argc, char** argv) {
  BenchOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) die(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--seconds") {
      std::string v(value());
      char* end = nullptr;
      o.seconds = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || o.seconds <= 0 || o.seconds > 600)
        die("bad --seconds: " + v);
    } else if (arg == "--caps") {
      o.caps.clear();
      std::string_view list = value();
      while (!list.empty()) {
        auto comma = list.find(',');
        o.caps.push_back(parse_count(list.substr(0, comma), "--caps"));
        list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
      }
    } else if (arg == "--submitters") {
      o.submitters = parse_count(value(), "--submitters");
    } else if (arg == "--dir") {
      o.dir = std::string(value());
    } else {
      die("unknown argument " + std::string(arg) +
          " (usage: --seconds S --caps 1,100,1000 --submitters N --dir DIR)");
    }
  }
  if (o.caps.empty()) die("--caps is empty");
  return o;
}

// Commands kept in flight across all submitters: enough for several full batches so the writer
// never waits for work, but no more, so a slow cap (1: one fsync per command) drains quickly.
// Never above the queue bound, so no command is refused as overloaded.
std::int64_t in_flight_max(std::size_t batch_max) {
  std::size_t want = std::max<std::size_t>(64, 8 * batch_max);
  return static_cast<std::int64_t>(std::min(want, jishi::limits::writer_queue_commands_max));
}

// One submitter: refills up to its share of in-flight commands, then sleeps until completions
// bring the shared count down to the low-water mark (hysteresis keeps wake-ups rare).
void submit_loop(jishi::store::Writer& writer, Counters& counters, const std::atomic<bool>& stop,
                 std::int64_t high, std::int64_t low, std::int64_t first_id) {
  std::int64_t next_id = first_id;
  while (!stop.load(std::memory_order_relaxed)) {
    while (counters.in_flight.load() < high && !stop.load(std::memory_order_relaxed)) {
      counters.in_flight.fetch_add(1);
      std::int64_t id = next_id++;
      writer.submit(jishi::store::make_command(
          [id](Tx& tx) {
            return tx.exec("INSERT INTO bench (id, value) VALUES ($1, $2)", {id, id * 7})
                .has_value();
          },
          [&counters, low](Outcome outcome) {
            if (outcome == Outcome::committed)
              counters.committed.fetch_add(1, std::memory_order_relaxed);
            else
              counters.failed.fetch_add(1, std::memory_order_relaxed);
            if (counters.in_flight.fetch_sub(1) - 1 == low) counters.in_flight.notify_all();
          }));
    }
    // Sleep until the count drops to low (or the stop flag is set; the main thread then
    // bumps in_flight's waiters with a notify).
    for (std::int64_t v = counters.in_flight.load();
         v > low && !stop.load(std::memory_order_relaxed); v = counters.in_flight.load())
      counters.in_flight.wait(v);
  }
}

std::int64_t count_rows(const std::string& path) {
  auto conn = jishi::store::open_sqlite(path, jishi::store::OpenMode::read_only);
  if (!conn) die("reopen " + path + ": " + conn.error().detail);
  auto n = (*conn)->query_one("SELECT COUNT(*) FROM bench", {},
                              [](const jishi::store::Row& r) { return r.i64(0); });
  if (!n || !*n) die("count rows: " + (n ? std::string("no row") : n.error().detail));
  return **n;
}

CapResult run_cap(const BenchOptions& options, const std::string& dir, std::size_t batch_max) {
  std::string path = dir + "/writer_" + std::to_string(batch_max) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto conn = jishi::store::open_sqlite(path, jishi::store::OpenMode::read_write);
  if (!conn) die("open " + path + ": " + conn.error().detail);
  if (auto ok = (*conn)->exec_script(
          "CREATE TABLE bench (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)");
      !ok)
    die("create table: " + ok.error().detail);

  jishi::store::WriterOptions wo;
  wo.batch_commands_max = batch_max;
  wo.queue_commands_max = jishi::limits::writer_queue_commands_max;
  Counters counters;
  std::atomic<bool> stop{false};
  std::int64_t high = in_flight_max(batch_max);
  std::int64_t low = std::max<std::int64_t>(high / 2, high - static_cast<std::int64_t>(batch_max));
  std::uint64_t window_commands = 0, window_batches = 0;
  double window_s = 0;
  {
    jishi::store::Writer writer(std::move(*conn), wo, nullptr);
    std::vector<std::thread> submitters;
    auto t0 = Clock::now();
    std::uint64_t batches0 = writer.batches();
    for (std::size_t s = 0; s < options.submitters; ++s)
      submitters.emplace_back(submit_loop, std::ref(writer), std::ref(counters), std::cref(stop),
                              high, low, static_cast<std::int64_t>(s + 1) << 40);
    // A fixed measuring window; the rates are read at its end, before the drain.
    std::this_thread::sleep_until(t0 + std::chrono::duration<double>(options.seconds));
    window_commands = counters.committed.load();
    window_batches = writer.batches() - batches0;
    window_s = std::chrono::duration<double>(Clock::now() - t0).count();
    stop.store(true);
    counters.in_flight.fetch_add(1);  // a change for the waiters to see, then wake them
    counters.in_flight.notify_all();
    for (auto& t : submitters) t.join();
    counters.in_flight.fetch_sub(1);
    writer.stop();  // runs every queued command
  }
  if (counters.in_flight.load() != 0 || counters.failed.load() != 0)
    die("cap " + std::to_string(batch_max) + ": " + std::to_string(counters.failed.load()) +
        " commands not committed, " + std::to_string(counters.in_flight.load()) +
        " never completed");
  // Every committed command must be a row, and no more.
  auto rows = count_rows(path);
  if (static_cast<std::uint64_t>(rows) != counters.committed.load())
    die("cap " + std::to_string(batch_max) + ": " + std::to_string(rows) + " rows but " +
        std::to_string(counters.committed.load()) + " committed commands");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  CapResult r;
  r.batch_max = batch_max;
  r.commands_per_s = static_cast<double>(window_commands) / window_s;
  r.batches_per_s = static_cast<double>(window_batches) / window_s;
  r.mean_batch = window_batches
                     ? static_cast<double>(window_commands) / static_cast<double>(window_batches)
                     : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options = parse_args(argc, argv);
  std::string dir = options.dir;
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/jishi_writer_bench.XXXXXX";
    if (!::mkdtemp(tmpl)) die("mkdtemp failed");
    dir = tmpl;
  }
  std::printf("writer sqlite_version=%s submitters=%zu seconds=%.1f dir=%s\n", sqlite3_libversion(),
              options.submitters, options.seconds, dir.c_str());
  std::fflush(stdout);
  for (std::size_t cap : options.caps) {
    CapResult r = run_cap(options, dir, cap);
    std::printf("writer batch_max=%zu commands_per_s=%.0f batches_per_s=%.0f mean_batch=%.1f\n",
                r.batch_max, r.commands_per_s, r.batches_per_s, r.mean_batch);
    std::fflush(stdout);
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
