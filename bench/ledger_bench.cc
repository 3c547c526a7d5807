// Ledger transfers per second through the batched writer, with fsync, in-process (no HTTP):
// single-phase transfers, and two-phase ones (a pending transfer, then its post). Each
// command carries one transfer between random accounts of 10,000; submitters keep the writer's
// queue full; latency is submit -> durable completion.
//
// Usage: jishi_ledger_bench [--seconds S]
// Prints: ledger kind=single transfers_per_s=N p50_ms=N p99_ms=N
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

struct Run {
  double per_s = 0, p50_ms = 0, p99_ms = 0;
};

Run run(const std::string& dir, bool two_phase, double seconds) {
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

  std::atomic<std::int64_t> in_flight{0}, next_id{1}, done{0}, failed{0};
  std::mutex latencies_mutex;
  std::vector<double> latencies;
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
          done.fetch_add(1);
          in_flight.fetch_sub(1);
          in_flight.notify_one();
        }));
  };
  auto deadline = SteadyClock::now() + std::chrono::duration<double>(seconds);
  auto start = SteadyClock::now();
  std::int64_t transfers = 0;
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> open_pendings;
  while (SteadyClock::now() < deadline) {
    // Sleep (not spin) while the queue is full: the writer needs the core.
    for (auto v = in_flight.load(); v > 4000; v = in_flight.load()) in_flight.wait(v);
    std::int64_t d = 1 + static_cast<std::int64_t>(rng() % kAccounts), c = d % kAccounts + 1;
    pay::TransferSpec t;
    t.id = pay::TransferId{next_id.fetch_add(1)};
    t.debit = pay::AccountId{d};
    t.credit = pay::AccountId{c};
    t.amount = 1 + static_cast<std::int64_t>(rng() % 10'000);
    if (two_phase && !open_pendings.empty() && rng() % 2) {
      pay::TransferSpec post;
      post.id = t.id;
      post.kind = pay::TransferKind::post_pending;
      post.pending_id = pay::TransferId{open_pendings.back()};
      open_pendings.pop_back();
      submit({post});
    } else {
      if (two_phase) {
        t.kind = pay::TransferKind::pending;
        open_pendings.push_back(t.id.value);
      }
      submit({t});
    }
    ++transfers;
  }
  for (auto v = in_flight.load(); v > 0; v = in_flight.load()) in_flight.wait(v);
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  writer.stop();
  if (failed.load() != 0) {
    std::fprintf(stderr, "jishi_ledger_bench: %lld transfers failed\n",
                 static_cast<long long>(failed.load()));
    std::exit(1);
  }
  std::sort(latencies.begin(), latencies.end());
  Run r;
  r.per_s = static_cast<double>(transfers) / elapsed;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms = latencies[latencies.size() * 99 / 100];
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--seconds") seconds = std::stod(argv[i + 1]);
  char tmpl[] = "/tmp/jishi_ledger_bench.XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string dir = tmpl;
  for (bool two_phase : {false, true}) {
    Run r = run(dir, two_phase, seconds);
    std::printf("ledger kind=%s transfers_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
                two_phase ? "two_phase" : "single", r.per_s, r.p50_ms, r.p99_ms);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
