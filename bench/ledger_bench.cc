// Ledger transfers per second through the batched writer, with fsync, in-process (no HTTP):
// single-phase transfers, and two-phase ones (a pending transfer, then its post). Each
// command carries a span of transfers between random accounts of 10,000 (as a batch API call
// would; 100 by default), submitters keep a bounded number of commands in flight, and latency
// is per command, submit -> durable completion (so it includes queueing behind the batch being
// committed).
//
// Usage: jishi_ledger_bench [--seconds S] [--transfers-per-command N] [--in-flight-commands N]
// Prints: ledger kind=single transfers_per_s=N commands_per_s=N p50_ms=N p99_ms=N
//         transfers_per_command=N in_flight_commands=N batches_per_s=N
//         writer_cpu_us_per_transfer=N writer_busy=N (CPU seconds of the writer thread per second)
//         commit_ms=N (mean COMMIT time per batch, fsync included)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/currency.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "pay/ledger.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/writer.h"

namespace {

using namespace jishi;
using SteadyClock = std::chrono::steady_clock;
constexpr int kAccounts = 10'000;

struct Options {
  double seconds = 3;
  std::int64_t transfers_per_command = 100;
  // 4000 transfers in flight, as many as the bench kept before commands carried spans. The
  // writer takes what is queued as one batch, so this sets the batch size (the COMMIT's fixed
  // cost is spread over it) and the latency (mostly waiting for the batch ahead).
  std::int64_t in_flight_commands = 40;
};

struct Run {
  double transfers_per_s = 0, commands_per_s = 0, batches_per_s = 0, p50_ms = 0, p99_ms = 0;
  double writer_cpu_us_per_transfer = 0, writer_busy = 0, commit_ms = 0;
};

// A sample's value from the metrics text ("name value" lines), 0 when absent.
double metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + name.size() + 2));
}

// This process's thread ids (Linux: /proc/self/task).
std::set<std::string> thread_ids() {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    out.insert(e.path().filename().string());
  return out;
}

// CPU seconds (user + system) a thread of this process has used.
double thread_cpu_s(const std::string& tid) {
  std::ifstream in("/proc/self/task/" + tid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Run run(const std::string& dir, bool two_phase, const Options& options) {
  std::string path = dir + (two_phase ? "/two_phase.db" : "/single.db");
  auto conn = std::move(store::open_sqlite(path, store::OpenMode::read_write).value());
  if (!store::migrate(*conn)) std::abort();
  SystemClock clock;
  Currency cny = currency_from_code("CNY").value();
  (void)conn->begin();
  for (int i = 1; i <= kAccounts; ++i)
    if (!pay::create_account(*conn, clock, {pay::AccountId{i}, cny, 1, std::nullopt, 0}))
      std::abort();
  (void)conn->commit();
  store::WriterOptions opts;
  opts.batch_commands_max = limits::writer_batch_commands_max;
  opts.queue_commands_max = limits::writer_queue_commands_max;
  auto before_writer = thread_ids();
  metrics::Registry registry;  // for the writer's COMMIT time (the fsync)
  store::Writer writer(std::move(conn), opts, &registry);
  // The writer's thread: CPU time there per transfer is what the ledger costs, whatever
  // else shares the machine (wall-clock rates are skewed by other load).
  std::string writer_tid;
  for (const auto& t : thread_ids())
    if (!before_writer.contains(t)) writer_tid = t;

  std::atomic<std::int64_t> in_flight{0}, failed{0};
  std::mutex latencies_mutex;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  auto submit = [&](std::vector<pay::TransferSpec> ts) {
    auto t0 = SteadyClock::now();
    in_flight.fetch_add(1);
    writer.submit(store::make_command(
        [&clock, ts = std::move(ts), &failed](store::Tx& tx) {
          auto r = pay::create_transfers(tx, clock, ts);
          if (!r) return false;
          for (auto x : *r)
            if (x != pay::TransferResult::ok) failed.fetch_add(1);
          return true;
        },
        [&, t0](store::Outcome o) {
          if (o != store::Outcome::committed) failed.fetch_add(1);
          double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
          {
            std::lock_guard lock(latencies_mutex);
            latencies.push_back(ms);
          }
          in_flight.fetch_sub(1);
          in_flight.notify_one();
        }));
  };
  std::int64_t next_id = 1, transfers = 0, commands = 0;
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> open_pendings;
  auto batches_before = writer.batches();
  double writer_cpu_before = writer_tid.empty() ? 0 : thread_cpu_s(writer_tid);
  std::string metrics_before = registry.render();
  auto start = SteadyClock::now();
  auto deadline = start + std::chrono::duration<double>(options.seconds);
  while (SteadyClock::now() < deadline) {
    // Sleep (not spin) while enough is in flight: the writer needs the core.
    for (auto v = in_flight.load(); v >= options.in_flight_commands; v = in_flight.load())
      in_flight.wait(v);
    std::vector<pay::TransferSpec> ts;
    ts.reserve(static_cast<std::size_t>(options.transfers_per_command));
    for (std::int64_t k = 0; k < options.transfers_per_command; ++k) {
      std::int64_t d = 1 + static_cast<std::int64_t>(rng() % kAccounts), c = d % kAccounts + 1;
      pay::TransferSpec t;
      t.id = pay::TransferId{next_id++};
      t.debit = pay::AccountId{d};
      t.credit = pay::AccountId{c};
      t.amount = 1 + static_cast<std::int64_t>(rng() % 10'000);
      // Two-phase: half pendings, half posts of the newest open pending (often one of the
      // same command, so posts within a span are exercised too).
      if (two_phase && !open_pendings.empty() && rng() % 2) {
        pay::TransferSpec post;
        post.id = t.id;
        post.kind = pay::TransferKind::post_pending;
        post.pending_id = pay::TransferId{open_pendings.back()};
        open_pendings.pop_back();
        ts.push_back(post);
      } else {
        if (two_phase) {
          t.kind = pay::TransferKind::pending;
          open_pendings.push_back(t.id.value);
        }
        ts.push_back(t);
      }
    }
    transfers += options.transfers_per_command;
    ++commands;
    submit(std::move(ts));
  }
  for (auto v = in_flight.load(); v > 0; v = in_flight.load()) in_flight.wait(v);
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  auto batches = writer.batches() - batches_before;
  double writer_cpu = writer_tid.empty() ? 0 : thread_cpu_s(writer_tid) - writer_cpu_before;
  std::string metrics_after = registry.render();
  double commits = metric(metrics_after, "jishi_writer_commit_seconds_count") -
                   metric(metrics_before, "jishi_writer_commit_seconds_count");
  double commit_s = metric(metrics_after, "jishi_writer_commit_seconds_sum") -
                    metric(metrics_before, "jishi_writer_commit_seconds_sum");
  writer.stop();
  if (failed.load() != 0) {
    std::fprintf(stderr, "jishi_ledger_bench: %lld transfers failed\n",
                 static_cast<long long>(failed.load()));
    std::exit(1);
  }
  std::sort(latencies.begin(), latencies.end());
  Run r;
  r.transfers_per_s = static_cast<double>(transfers) / elapsed;
  r.commands_per_s = static_cast<double>(commands) / elapsed;
  r.batches_per_s = static_cast<double>(batches) / elapsed;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms = latencies[latencies.size() * 99 / 100];
  r.writer_cpu_us_per_transfer = writer_cpu * 1e6 / static_cast<double>(transfers);
  r.writer_busy = writer_cpu / elapsed;
  r.commit_ms = commits > 0 ? commit_s * 1e3 / commits : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seconds") {
      options.seconds = std::stod(argv[i + 1]);
    } else if (flag == "--transfers-per-command") {
      options.transfers_per_command = std::stoll(argv[i + 1]);
    } else if (flag == "--in-flight-commands") {
      options.in_flight_commands = std::stoll(argv[i + 1]);
    } else {
      std::fprintf(stderr, "jishi_ledger_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (options.transfers_per_command < 1 || options.in_flight_commands < 1) return 2;
  char tmpl[] = "/tmp/jishi_ledger_bench.XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string dir = tmpl;
  for (bool two_phase : {false, true}) {
    Run r = run(dir, two_phase, options);
    std::printf(
        "ledger kind=%s transfers_per_s=%.0f commands_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
        "transfers_per_command=%lld in_flight_commands=%lld batches_per_s=%.0f "
        "writer_cpu_us_per_transfer=%.2f writer_busy=%.2f commit_ms=%.2f\n",
        two_phase ? "two_phase" : "single", r.transfers_per_s, r.commands_per_s, r.p50_ms, r.p99_ms,
        static_cast<long long>(options.transfers_per_command),
        static_cast<long long>(options.in_flight_commands), r.batches_per_s,
        r.writer_cpu_us_per_transfer, r.writer_busy, r.commit_ms);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
