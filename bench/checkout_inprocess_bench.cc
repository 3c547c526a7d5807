// In-process checkouts: the same flows::checkout commands the API runs, submitted straight to the
// batched writer (no HTTP, no JSON), to show what the transaction itself costs.
//
//   jishi_checkout_bench DIR [SECONDS] [SKUS]
//
// One merchant with SKUS SKUs (a million units each), JISHI_BENCH_BUYERS buyers taking turns
// (10,000 by default, as in the HTTP bench and the PostgreSQL peer); commands of 1–3 random lines
// (uniform) and of one hot SKU, with 256 commands in flight. Prints
// `checkout_inprocess kind=K per_s=N p50_ms=N p99_ms=N failed=N cpu_us=N written_kb=N`:
// cpu_us is the process's CPU time (user + system, every thread) per checkout and written_kb
// what it wrote to disk per checkout (/proc/self/io), steadier figures than per_s on a busy
// machine. Then `cpu_writer_us cpu_sync_us cpu_ckpt_us cpu_driver_us`: that CPU time by thread
// (/proc/self/task), the driver being the threads that build, seal and submit the commands.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/field_cipher.h"
#include "core/ids.h"
#include "core/limits.h"
#include "events/events.h"
#include "flows/trade.h"
#include "inventory/inventory.h"
#include "order/orders.h"
#include "pay/payments.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/writer.h"

#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace jishi;
using SteadyClock = std::chrono::steady_clock;

// CPU seconds of the whole process (every thread), user + system.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// CPU seconds so far of the writer's threads, by the names they give themselves, and of the
// others (this driver, which builds and submits the commands and seals their addresses).
struct ThreadCpu {
  double writer = 0, sync = 0, ckpt = 0, driver = 0;
};

ThreadCpu thread_cpu() {
  ThreadCpu t;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;  // ended meanwhile
    std::string name = stat.substr(open + 1, close - open - 1);
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    double utime = 0, stime = 0;
    // After the name: state, then ten fields, then utime and stime (proc(5), fields 14-15).
    for (int i = 0; i < 13 && fields >> field; ++i) {
      if (i == 11) utime = std::stod(field);
      if (i == 12) stime = std::stod(field);
    }
    double seconds = (utime + stime) / tick;
    if (name == "jishi-writer")
      t.writer += seconds;
    else if (name == "jishi-sync")
      t.sync += seconds;
    else if (name == "jishi-ckpt")
      t.ckpt += seconds;
    else
      t.driver += seconds;
  }
  return t;
}

// Bytes this process has caused to be written to storage (0 where /proc does not say).
double written_bytes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  double value = 0;
  while (in >> key >> value)
    if (key == "write_bytes:") return value;
  return 0;
}

void must(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "setup failed: %s\n", what);
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS] [SKUS]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  double seconds = argc > 2 ? std::stod(argv[2]) : 5;
  int skus_wanted = argc > 3 ? std::stoi(argv[3]) : 10000;
  auto conn =
      std::move(store::open_sqlite(dir + "/checkout.db", store::OpenMode::read_write).value());
  must(store::migrate(*conn).has_value(), "migrate");
  SystemClock clock;
  IdGenerator ids(clock, 1);
  // The server's default scheme (config field_cipher = sm4): SM4-CTR with HMAC-SM3.
  FieldCipher cipher =
      FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'), "sm4");
  Env env{clock, ids, cipher};
  Currency cny = currency_from_code("CNY").value();
  OrgId seller{7};
  // A seller, a category, products of 100 SKUs, stock (the buyers are ids: no user row needed).
  must(
      conn->exec_script(
              "INSERT INTO users (id, email, display_name, password_hash, status, created_at_us, "
              "updated_at_us) VALUES (1, 's@x', 's', 'x', 'active', 0, 0);"
              "INSERT INTO orgs (id, kind, name, status, created_by, created_at_us, updated_at_us) "
              "VALUES (7, 'merchant', 'bench', 'approved', 1, 0, 0);")
          .has_value(),
      "seed");
  std::vector<std::int64_t> skus;
  must(conn->begin().has_value(), "begin");
  auto cat = catalog::create_category(*conn, env, catalog::NewCategory{{}, "bench", "压测", {}, 0});
  must(cat.has_value(), "category");
  for (int p = 0; p < std::max(1, skus_wanted / 100); ++p) {
    catalog::ProductFields f{
        "压测商品 " + std::to_string(p), std::nullopt, std::nullopt, cat->id, {}};
    std::vector<catalog::NewSku> news;
    for (int i = 0; i < 100; ++i)
      news.push_back({{{"款式", std::to_string(i)}}, Money{100 + i, cny}, std::nullopt});
    auto product = catalog::create_product(*conn, env, seller, f, news);
    must(product.has_value(), "product");
    for (const auto& s : product->skus) {
      must(inventory::set_on_hand(*conn, env, s.id.value, seller, 1'000'000, UserId{1}, "")
               .has_value(),
           "stock");
      must(catalog::set_in_stock(*conn, s.id, true).has_value(), "in stock");
      skus.push_back(s.id.value);
    }
    must(catalog::list_product(*conn, env, product->id, UserId{1}).has_value(), "list");
  }
  must(conn->commit().has_value(), "commit");

  store::WriterOptions wo;
  wo.batch_commands_max = limits::writer_batch_commands_max;
  wo.queue_commands_max = limits::writer_queue_commands_max;
  // As `jishi serve` runs it (JISHI_WRITER_PIPELINED_SYNC=false for the plain COMMIT).
  const char* pipelined = std::getenv("JISHI_WRITER_PIPELINED_SYNC");
  wo.pipelined_sync = !pipelined || std::string_view(pipelined) != "false";
  // Offers, payees and webhooks cached, checkout tokens filtered and reservations deferred in
  // the writer, as `jishi serve` runs it (JISHI_OFFER_CACHE=false to read every offer, payee,
  // webhook list and token).
  const char* offer_cache = std::getenv("JISHI_OFFER_CACHE");
  if (!offer_cache || std::string_view(offer_cache) != "false") {
    must(catalog::prepare_offer_cache(*conn).has_value(), "prepare the offer cache");
    must(pay::prepare_payee_cache(*conn).has_value(), "prepare the payee cache");
    must(events::prepare_webhook_cache(*conn).has_value(), "prepare the webhook cache");
    must(order::prepare_checkout_filter(*conn).has_value(), "prepare the checkout filter");
  }
  auto reservations = flows::reservation_deferral(clock);
  must(reservations->prepare(*conn).has_value(), "prepare the writer");
  wo.hook = reservations.get();
  const store::Conn* writer_conn = conn.get();  // for the offer cache's counts after each run
  store::Writer writer(std::move(conn), wo, nullptr);
  std::printf("writer pipelined_sync=%s\n", writer.pipelined() ? "on" : "off");
  flows::register_on_read();  // a checkout intent's splits are its orders, as in `jishi serve`
  flows::TradeConfig cfg;
  order::AddressFields address{"压测", "+8613800138000", "330106", "文三路 90 号", std::nullopt};

  // JISHI_BENCH_EDITS_EVERY=N: in the uniform run, the merchant changes a random SKU's price
  // after every N checkouts (each change reaches the offer cache).
  const char* buyers_env = std::getenv("JISHI_BENCH_BUYERS");
  const std::int64_t buyers =
      std::max<std::int64_t>(1, buyers_env ? std::stoll(buyers_env) : 10'000);
  const char* edits_every_env = std::getenv("JISHI_BENCH_EDITS_EVERY");
  const std::int64_t edits_every = edits_every_env ? std::stoll(edits_every_env) : 0;
  std::atomic<std::int64_t> edits_in_flight{0};

  for (bool hot : {false, true}) {
    std::atomic<std::int64_t> in_flight{0}, failed{0}, done{0};
    std::mutex mutex;
    std::string first_failure;  // why the first failed checkout failed (the writer's thread)
    std::vector<double> latencies;
    std::mt19937_64 rng(hot ? 2 : 1);
    std::int64_t n = 0;
    auto start = SteadyClock::now();
    double cpu0 = cpu_seconds(), written0 = written_bytes();
    ThreadCpu threads0 = thread_cpu();
    auto deadline = start + std::chrono::duration<double>(seconds);
    while (SteadyClock::now() < deadline) {
      while (in_flight.load() >= 256) in_flight.wait(in_flight.load());
      if (!hot && edits_every > 0 && n > 0 && n % edits_every == 0) {
        catalog::SkuPatch patch;
        patch.price = Money{100 + static_cast<std::int64_t>(rng() % 100), cny};
        catalog::SkuId sku{skus[rng() % skus.size()]};
        edits_in_flight.fetch_add(1);
        writer.submit(store::make_command(
            [&env, sku, patch](store::Tx& tx) {
              return catalog::update_sku(tx, env, sku, patch).has_value();
            },
            [&](store::Outcome) {
              edits_in_flight.fetch_sub(1);
              edits_in_flight.notify_one();
            }));
      }
      flows::CheckoutRequest req;
      req.buyer = UserId{1000 + n % buyers};
      req.token = "inprocess-" + std::to_string(hot) + "-" + std::to_string(n++) + "-bench";
      req.address = address;
      int lines = hot ? 1 : 1 + static_cast<int>(rng() % 3);
      for (int l = 0; l < lines; ++l)
        req.lines.push_back({hot ? skus.front() : skus[rng() % skus.size()], 1, std::nullopt});
      // As the API does, on the submitting thread: the address validated and sealed.
      flows::prepare_checkout(env, req);
      must(req.prepared_address.has_value(), "prepare the checkout");
      auto t0 = SteadyClock::now();
      in_flight.fetch_add(1);
      writer.submit(store::make_command(
          [&env, &cfg, &first_failure, req](store::Tx& tx) {
            auto r = flows::checkout(tx, env, cfg, req);
            if (!r && first_failure.empty())
              first_failure = std::string(code_name(r.error().code)) + ": " + r.error().detail;
            return r.has_value();
          },
          [&, t0](store::Outcome o) {
            if (o != store::Outcome::committed) failed.fetch_add(1);
            double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
            {
              std::lock_guard lock(mutex);
              latencies.push_back(ms);
            }
            done.fetch_add(1);
            in_flight.fetch_sub(1);
            in_flight.notify_one();
          }));
    }
    while (in_flight.load() > 0) in_flight.wait(in_flight.load());
    while (edits_in_flight.load() > 0) edits_in_flight.wait(edits_in_flight.load());
    double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
    double checkouts = std::max<double>(1, static_cast<double>(done.load()));
    double cpu_us = (cpu_seconds() - cpu0) * 1e6 / checkouts;
    double written_kb = (written_bytes() - written0) / 1024 / checkouts;
    ThreadCpu threads1 = thread_cpu();
    auto per = [&](double ThreadCpu::*m) { return (threads1.*m - threads0.*m) * 1e6 / checkouts; };
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies.empty() ? 0.0
                               : latencies[static_cast<std::size_t>(p * (latencies.size() - 1))];
    };
    if (!first_failure.empty())
      std::fprintf(stderr, "first failed checkout: %s\n", first_failure.c_str());
    std::printf(
        "checkout_inprocess kind=%s per_s=%.0f p50_ms=%.2f p99_ms=%.2f failed=%lld cpu_us=%.1f "
        "written_kb=%.1f cpu_writer_us=%.1f cpu_sync_us=%.1f cpu_ckpt_us=%.1f "
        "cpu_driver_us=%.1f\n",
        hot ? "hot" : "uniform", static_cast<double>(done.load() - failed.load()) / elapsed,
        pct(0.50), pct(0.99), static_cast<long long>(failed.load()), cpu_us, written_kb,
        per(&ThreadCpu::writer), per(&ThreadCpu::sync), per(&ThreadCpu::ckpt),
        per(&ThreadCpu::driver));
    // Read once every checkout of the run has completed (the writer is idle).
    if (auto c = catalog::offer_cache_stats(*writer_conn))
      std::printf(
          "offer_cache hits=%llu misses=%llu resets=%llu evictions=%llu unchanged=%llu "
          "entries=%zu (so far)\n",
          static_cast<unsigned long long>(c->hits), static_cast<unsigned long long>(c->misses),
          static_cast<unsigned long long>(c->resets), static_cast<unsigned long long>(c->evictions),
          static_cast<unsigned long long>(c->unchanged), c->entries);
    auto rows = reservations->row_copies();
    if (auto f = order::checkout_filter_stats(*writer_conn))
      std::printf("checkout_filter skipped=%llu looked_up=%llu fills=%llu tokens=%zu (so far)\n",
                  static_cast<unsigned long long>(f->skipped),
                  static_cast<unsigned long long>(f->looked_up),
                  static_cast<unsigned long long>(f->fills), f->tokens);
    std::printf("stock_rows hits=%llu misses=%llu entries=%zu (so far)\n",
                static_cast<unsigned long long>(rows.hits),
                static_cast<unsigned long long>(rows.misses), rows.entries);
    std::fflush(stdout);
  }
  writer.stop();
  return 0;
}
