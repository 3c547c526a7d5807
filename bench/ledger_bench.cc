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
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/currency.h"
#include "core/limits.h"
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
  // Enough to keep the writer busy while completions travel back, few enough that a batch
  // stays a few milliseconds of work (latency is mostly waiting for the batch ahead).
  std::int64_t in_flight_commands = 24;
};

struct Run {
  double transfers_per_s = 0, commands_per_s = 0, batches_per_s = 0, p50_ms = 0, p99_ms = 0;
};

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
  store::Writer writer(std::move(conn), opts, nullptr);

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
        "transfers_per_command=%lld in_flight_commands=%lld batches_per_s=%.0f\n",
        two_phase ? "two_phase" : "single", r.transfers_per_s, r.commands_per_s, r.p50_ms, r.p99_ms,
        static_cast<long long>(options.transfers_per_command),
        static_cast<long long>(options.in_flight_commands), r.batches_per_s);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
