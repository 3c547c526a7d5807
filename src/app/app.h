// The pieces of the jishi binary's verbs: opening the runtime (config, logs, keys, store)
// and serving HTTP on it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "api/services.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/field_cipher.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "flows/trade.h"
#include "pay/gateway.h"
#include "pki/pki.h"
#include "store/store.h"

namespace jishi::events {
class JobRunner;
}

namespace jishi::app {

// Everything a verb needs, opened in order: data dir, key file, database (migrated).
struct Runtime {
  Config config;
  SystemClock clock;
  std::unique_ptr<IdGenerator> ids;
  std::unique_ptr<FieldCipher> cipher;
  metrics::Registry metrics;
  // The writer's hook deferring reservations (serve and demo only: the other verbs write
  // inv_stock directly). Declared before the store, which uses it until it stops.
  std::unique_ptr<inventory::ReservationDeferral> reservations;
  // serve and demo: an exclusive flock on DATABASE.serve-lock, held while the process lives.
  int serve_lock_fd = -1;
  std::unique_ptr<store::Store> store;
  // The certification authority, loaded at start (null until `jishi ca init`).
  std::unique_ptr<pki::Authority> ca;
  // The built-in simulator's gateway, for pay::make_http_gateway. Set by serve() when config
  // `simulator` is on (keys under DATA_DIR/gateway/); base_url holds the bound port once the
  // server has bound, before it serves the first request.
  std::optional<pay::GatewayConfig> gateway;
  // Run on its own thread once the server listens (the demo's orders and payments); `stop`
  // turns true when the server shuts down.
  std::function<void(api::Services&, const std::atomic<bool>& stop)> after_start;
};

// The trading flows' settings from the order_* (and pay_commission_ppm) config keys.
flows::TradeConfig trade_config(const Config& c);

// The order lifecycle's durable jobs: the unpaid timeout and auto-confirmation of receipt.
void register_trade_jobs(events::JobRunner& jobs, const flows::TradeConfig& trade);

// The exclusive lock a server holds on its database for as long as it runs (one server per
// database); a descriptor the caller keeps open (the lock goes with the process). Fails
// (Code::invalid_state) while a server runs.
Result<int> hold_serve_lock(const Config& config);
// `serving`: for `jishi serve` and `demo`, whose writer defers reservations (inventory.h).
// Only one process may do that on a database, so the other verbs never do.
Result<std::unique_ptr<Runtime>> open_runtime(const Config& config, bool migrate,
                                              bool serving = false);
// Serves until SIGTERM/SIGINT, then drains the writer. Returns the process exit code.
int serve(Runtime& rt);

// Prints every HTTP route as "METHOD /pattern", one per line (for docs and tests).
int print_routes();

// `jishi verify ledger`: prints "ledger ok ..." and returns 0, or names the first violation
// and returns 1. Reads the database only.
int verify_ledger(const Config& config);
// `jishi verify stock`: prints "stock ok ..." and returns 0, or lists the problems and returns 1.
int verify_stock(const Config& config);

// `jishi settle --date D`: settles a business date (safe to run twice), writes the settlement
// file and its .sha256 under <data_dir>/settlements, sends the payouts to the bank.
int run_settle(Runtime& rt, const std::string& date, const std::string& currency);
// `jishi reconcile --channel C --date D --statement FILE`: matches the day against the
// channel's statement (neighbouring days' statements optional), stores the run and writes a
// report under <data_dir>/reconciliation.
int run_reconcile(Runtime& rt, const std::string& channel, const std::string& date,
                  const std::string& statement, const std::string& previous,
                  const std::string& next);
// `jishi gateway-call`: one call of pay::Gateway against the built-in simulator at `url`, with
// the keys serve created under DATA_DIR (for scripts and the integration tests, whose Python
// has no SM2). Prints {"ok":true,...} or {"ok":false,"code":...,"detail":...}; returns 0 or 1.
int gateway_call(const Config& config, const std::string& url, const std::string& method,
                 const std::string& args_json);

// Demo data: operator, regulator, merchants (approved and pending) and a buyer.
Status seed_demo(Runtime& rt);
void print_demo_accounts();

// Creates (or extends) a platform account holding a platform role.
Status create_platform_user(Runtime& rt, const std::string& email, const std::string& password,
                            const std::string& display_name, const std::string& role);

}  // namespace jishi::app
