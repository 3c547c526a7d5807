#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/key_use.h"
#include "api/routes.h"
#include "app/app.h"
#include "app/security.h"
#include "audit/audit.h"
#include "catalog/catalog.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/local_time.h"
#include "core/log.h"
#include "events/events.h"
#include "events/jobs.h"
#include "events/webhooks.h"
#include "flows/trade.h"
#include "http/server.h"
#include "identity/password.h"
#include "identity/sessions.h"
#include "inventory/inventory.h"
#include "order/orders.h"
#include "pay/gateway_sign.h"
#include "pay/ledger.h"
#include "pay/payments.h"
#include "pay/risk.h"
#include "pay/worker.h"
#include "paysim/routes.h"
#include "paysim/simulator.h"
#include "store/migrate.h"
#include "store/sqlite.h"

namespace jishi::api {
std::string openapi_json();
}

namespace jishi::app {

namespace {
// The file serve and demo hold an exclusive flock on (one server per database), and that
// `verify stock` holds shared to know no server runs.
std::string serve_lock_path(const Config& config) {
  return config.database_path() + ".serve-lock";
}
int open_serve_lock(const Config& config) {
  return ::open(serve_lock_path(config).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}
}  // namespace

Result<int> hold_serve_lock(const Config& config) {
  std::string lock_path = serve_lock_path(config);
  int fd = open_serve_lock(config);
  if (fd < 0)
    return fail(Code::storage_failure, "cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return fail(Code::invalid_state, "another jishi server is running on " +
                                         config.database_path() + " (it holds " + lock_path +
                                         "); one server per database");
  }
  return fd;
}

Result<std::unique_ptr<Runtime>> open_runtime(const Config& config, bool migrate, bool serving) {
  // What flows makes when read (order.created's data, a checkout intent's splits), for any
  // command.
  flows::register_on_read();
  auto rt = std::make_unique<Runtime>();
  rt->config = config;
  if (::mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Code::storage_failure,
                "cannot create data dir " + config.data_dir + ": " + std::strerror(errno));
  JISHI_TRY(set_business_timezone(config.pay_timezone));
  rt->clock.set_offset_us(config.clock_offset_s * 1'000'000);
  rt->ids = std::make_unique<IdGenerator>(rt->clock, config.node_id);
  JISHI_ASSIGN_OR_RETURN(auto cipher,
                         FieldCipher::open_or_create(config.key_file_path(), config.field_cipher));
  rt->cipher = std::make_unique<FieldCipher>(std::move(cipher));
  store::StoreOptions so;
  so.sqlite_path = config.database_path();
  so.read_connections = config.read_connections;
  so.writer.batch_commands_max = config.writer_batch_max;
  so.writer.queue_commands_max = config.writer_queue_max;
  so.writer.pipelined_sync = config.writer_pipelined_sync;
  so.migrate = migrate;
  if (serving) {
    // One server per database: its writer holds reservations in memory that another server's
    // writer could not see (it could oversell) and its start would count twice. The lock goes
    // with the process, however it ends.
    JISHI_ASSIGN_OR_RETURN(rt->serve_lock_fd, hold_serve_lock(config));
    rt->reservations = flows::reservation_deferral(rt->clock);
    so.writer.hook = rt->reservations.get();
    rt->reservations->publish_metrics(rt->metrics);
    metrics::Registry* registry = &rt->metrics;
    // Checkouts find offers in the writer's memory (catalog.h says why none is ever stale).
    so.prepare_writer.push_back([registry](store::Conn& conn) -> Status {
      JISHI_TRY(catalog::prepare_offer_cache(conn));
      catalog::publish_offer_cache_metrics(conn, *registry);
      return {};
    });
    // And the payees' organisations and the sellers' webhooks (store::TableWatch).
    so.prepare_writer.push_back(pay::prepare_payee_cache);
    so.prepare_writer.push_back(events::prepare_webhook_cache);
    // A new checkout's token is known not to be stored without a lookup (order.h).
    so.prepare_writer.push_back([registry](store::Conn& conn) -> Status {
      JISHI_TRY(order::prepare_checkout_filter(conn));
      order::publish_checkout_filter_metrics(conn, *registry);
      return {};
    });
  }
  JISHI_ASSIGN_OR_RETURN(rt->store, store::Store::open(so, &rt->metrics));
  if (migrate) {
    // New ids stay above stored ones even if the clock was set back while jishi was down
    // (orders: order.created's events are the order rows, from their cutover on; checkouts:
    // their first intents take their ids from ord_listed_intents' cutover on, and are implied
    // from its second cutover on; so a new checkout's id never names an intent stored before,
    // which its unstored intent would otherwise read as).
    auto lease = rt->store->reads().lease();
    JISHI_ASSIGN_OR_RETURN(
        auto newest,
        lease->query_one("SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM ord_orders UNION ALL "
                         "SELECT MAX(id) AS m FROM ord_checkouts UNION ALL SELECT MAX(id) AS m "
                         "FROM pay_intents UNION ALL SELECT MAX(from_id, implied_from) AS m FROM "
                         "ord_listed_intents) stored",
                         {}, [](const store::Row& r) { return r.opt_i64(0); }));
    if (newest && *newest) rt->ids->issue_after(**newest);
  }
  return rt;
}

flows::TradeConfig trade_config(const Config& c) {
  flows::TradeConfig t;
  t.freight_per_order = c.order_freight;
  t.pay_timeout_us = c.order_pay_timeout_s * 1'000'000;
  t.auto_confirm_us = c.order_auto_confirm_days * 86400 * 1'000'000;
  t.extend_us = c.order_extend_days * 86400 * 1'000'000;
  t.commission_ppm = c.pay_commission_ppm;
  return t;
}

void register_trade_jobs(events::JobRunner& jobs, const flows::TradeConfig& trade) {
  jobs.on(std::string(flows::kJobCloseUnpaid),
          [](store::Tx& tx, Env& env, const events::Job& job) -> Status {
            auto id = parse_id(job.key);
            if (!id) return fail(Code::internal, "bad job key " + job.key);
            return flows::close_unpaid(tx, env, order::CheckoutId{*id});
          });
  jobs.sweep(std::string(flows::kJobCloseUnpaid), flows::close_unpaid_sweep());
  jobs.on(std::string(flows::kJobAutoConfirm),
          [trade](store::Tx& tx, Env& env, const events::Job& job) -> Status {
            auto id = parse_id(job.key);
            if (!id) return fail(Code::internal, "bad job key " + job.key);
            return flows::auto_confirm(tx, env, trade, order::OrderId{*id});
          });
}

int serve(Runtime& rt) {
  const Config& c = rt.config;
  http::Router router(rt.metrics);
  api::Services services{c, Env{rt.clock, *rt.ids, *rt.cipher}, *rt.store, rt.metrics};
  services.hash_cost = identity::parse_hash_cost(c.password_hash_cost);
  services.session_ttl_us = c.session_ttl_s * 1'000'000;
  api::AuthCache auth_cache(c.auth_cache_ttl_ms * 1000, limits::auth_cache_entries_max);
  services.auth_cache = &auth_cache;
  auto pay_zone = TimeZone::load(c.pay_timezone);
  if (!pay_zone) {
    spdlog::error("pay_timezone: {}", pay_zone.error().detail);
    return 1;
  }
  services.pay_timezone = *pay_zone;
  services.trade = trade_config(c);
  audit::set_money_threshold(c.audit_money_threshold);
  if (!rt.ca) {
    if (auto loaded = load_ca(rt); !loaded) {
      spdlog::error("pki: {}", loaded.error().detail);
      return 1;
    }
  }
  services.ca = rt.ca.get();
  api::ApiKeyUseLog key_use;
  services.key_use = &key_use;
  if (!rt.ca)
    spdlog::warn("pki: no certification authority yet; /pki/* answers 503 until `jishi ca init`");
  // Orders become paid in the transaction that captures their payment.
  pay::set_intent_succeeded_hook(&flows::on_intent_succeeded);
  api::add_all_routes(router, services, api::openapi_json());

  // The built-in gateway simulator: a separate party with its own database and keys under
  // DATA_DIR/simulator/, reached over HTTP at this server's own URL.
  std::unique_ptr<paysim::Simulator> simulator;
  if (c.simulator) {
    auto sign_type = pay::parse_sign_type(c.pay_sign_type).value_or(pay::SignType::sm2);
    auto platform = pay::load_or_create_key_pair(sign_type, c.data_dir + "/gateway", "platform");
    if (!platform) {
      spdlog::error("gateway keys: {}", platform.error().detail);
      return 1;
    }
    paysim::SimulatorOptions so;
    so.dir = c.data_dir + "/simulator";
    so.sign_type = sign_type;
    so.platform_public_pem = platform->public_pem;
    so.public_url = c.public_url;
    so.faults_enabled = c.simulator_faults;
    so.notify_retry_ms = c.simulator_notify_retry_ms;
    so.duplicate_pct = c.simulator_duplicate_pct;
    so.reorder_pct = c.simulator_reorder_pct;
    so.seed = static_cast<std::uint64_t>(c.simulator_seed);
    auto opened = paysim::Simulator::open(so);
    if (!opened) {
      spdlog::error("simulator: {}", opened.error().detail);
      return 1;
    }
    simulator = std::move(*opened);
    paysim::add_routes(router, *simulator);
    pay::GatewayConfig g;
    g.base_url = c.public_url;
    g.sign_type = sign_type;
    g.platform_private_pem = platform->private_pem;
    g.gateway_public_pem = simulator->public_key_pem();
    rt.gateway = std::move(g);
  }

  http::ServerOptions so;
  so.listen = c.listen;
  so.io_threads = io_threads_for(c.io_threads, std::thread::hardware_concurrency());
  so.access_log = c.access_log;
  so.web_root = c.web_root;
  so.rate_limit_per_s = c.rate_limit_per_s;
  so.rate_limit_burst = c.rate_limit_burst;
  Env env{rt.clock, *rt.ids, *rt.cipher};
  so.housekeeping.push_back(
      [env](store::Tx& tx) { return identity::purge_sessions(tx, env).has_value(); });
  so.housekeeping.push_back([env](store::Tx& tx) {
    return pay::risk::prune_events(tx, env, limits::risk_prune_batch_max).has_value();
  });
  http::Server server(so, router, *rt.store, *rt.cipher, rt.clock, rt.metrics);
  services.ready = &server.ready();
  auto port = server.bind();
  if (!port) {
    spdlog::error("{}", port.error().detail);
    return 1;
  }
  std::string host = c.listen.substr(0, c.listen.rfind(':'));
  if (simulator) {
    std::string own_url =
        c.public_url.empty() ? "http://" + host + ":" + std::to_string(*port) : c.public_url;
    simulator->set_public_url(own_url);
    rt.gateway->base_url = own_url;
    simulator->start();
  }
  services.base_url =
      c.public_url.empty() ? "http://" + host + ":" + std::to_string(*port) : c.public_url;
  // The platform's gateway client: the built-in simulator, reached over HTTP like any gateway.
  std::unique_ptr<pay::Gateway> gateway;
  if (rt.gateway) {
    rt.gateway->clock = &rt.clock;
    gateway = pay::make_http_gateway(*rt.gateway);
    services.gateway = gateway.get();
  }
  pay::WorkerOptions wo;
  wo.interval_ms = c.pay_worker_interval_ms;
  wo.query_after_us = c.pay_query_after_s * 1'000'000;
  pay::Worker pay_worker(*rt.store, env, services.gateway, wo);
  pay_worker.start();
  // Durable timers of the order lifecycle, and merchants' webhooks.
  events::JobRunnerOptions jo;
  jo.interval_ms = c.events_worker_interval_ms;
  events::JobRunner jobs(*rt.store, env, jo, &rt.metrics);
  register_trade_jobs(jobs, services.trade);
  jobs.start();
  events::DelivererOptions dopt;
  dopt.interval_ms = c.events_worker_interval_ms;
  dopt.timeout_ms = c.webhook_timeout_ms;
  dopt.retry_hours = c.webhook_retry_hours;
  events::WebhookDeliverer deliverer(*rt.store, env, dopt, &rt.metrics);
  deliverer.start();
  // Signed audit tree heads, CRL renewal, re-encryption after a key rotation.
  SecurityWorker security(rt, c.audit_head_interval_s);
  security.start();
  // Tests and scripts read this line to find the port (with --listen HOST:0).
  std::cout << "jishi listening on http://" << host << ":" << *port << std::endl;
  spdlog::info("serving data_dir={} listen={}:{} io_threads={}", c.data_dir, host, *port,
               so.io_threads);
  std::atomic<bool> stopping{false};
  std::thread after_start;
  if (rt.after_start) after_start = std::thread([&] { rt.after_start(services, stopping); });
  server.run();
  stopping = true;
  if (after_start.joinable()) after_start.join();
  if (simulator) simulator->stop();
  security.stop();
  deliverer.stop();
  jobs.stop();
  pay_worker.stop();
  spdlog::info("shutdown: draining the writer");
  rt.store->stop_writer();
  spdlog::info("shutdown: done");
  return 0;
}

namespace {
// The database read-only, at the current schema; nullptr (after saying why) otherwise.
std::unique_ptr<store::Conn> open_for_verify(const Config& config) {
  auto conn = store::open_sqlite(config.database_path(), store::OpenMode::read_only);
  if (!conn) {
    std::cerr << "jishi: " << conn.error().detail << std::endl;
    return nullptr;
  }
  auto version = store::schema_version(**conn);
  if (!version || *version != store::latest_schema_version()) {
    std::cerr << "jishi: the database schema is not current; run `jishi migrate` first"
              << std::endl;
    return nullptr;
  }
  return std::move(*conn);
}
}  // namespace

int verify_stock(const Config& config) {
  auto conn = open_for_verify(config);
  if (!conn) return 2;
  // With no server running (its lock free: held shared meanwhile, so none starts), nothing can
  // be deferred, and reserved must equal the units unpaid orders hold exactly.
  int lock = open_serve_lock(config);
  bool no_writer = lock >= 0 && ::flock(lock, LOCK_SH | LOCK_NB) == 0;
  auto report = flows::verify_stock(*conn, no_writer);
  if (lock >= 0) ::close(lock);
  if (!report) {
    std::cerr << "jishi: " << report.error().detail << std::endl;
    return 2;
  }
  if (!report->problems.empty()) {
    for (const auto& p : report->problems) std::cout << "stock violation: " << p << std::endl;
    return 1;
  }
  std::cout << "stock ok: " << report->skus << " SKUs, " << report->movements << " movements";
  if (report->deferred_units > 0)
    std::cout << "; " << report->deferred_units << " units of " << report->deferred_skus
              << " SKUs held by unpaid orders are not yet folded into the stock's reserved "
                 "count (a running server folds them within a second; after a crash, the next "
                 "start restores them)";
  std::cout << std::endl;
  return 0;
}

int verify_ledger(const Config& config) {
  auto conn = open_for_verify(config);
  if (!conn) return 2;
  auto violation = pay::verify_ledger(*conn);
  if (!violation) {
    std::cerr << "jishi: " << violation.error().detail << std::endl;
    return 2;
  }
  if (*violation) {
    std::cout << "ledger violation: " << **violation << std::endl;
    return 1;
  }
  std::int64_t accounts = 0, transfers = 0;
  (void)conn->query(
      "SELECT (SELECT COUNT(*) FROM ledger_accounts), (SELECT COUNT(*) FROM "
      "ledger_transfers)",
      {}, [&](const store::Row& r) {
        accounts = r.i64(0);
        transfers = r.i64(1);
        return false;
      });
  std::cout << "ledger ok: " << accounts << " accounts, " << transfers << " transfers" << std::endl;
  return 0;
}

int gateway_call(const Config& config, const std::string& url, const std::string& method,
                 const std::string& args_json) {
  namespace json = boost::json;
  auto out = [](const json::object& o, int rc) {
    std::cout << json::serialize(o) << std::endl;
    return rc;
  };
  auto failed = [&](const Error& e) {
    return out({{"ok", false}, {"code", code_name(e.code)}, {"detail", e.detail}}, 1);
  };
  auto sign_type = pay::parse_sign_type(config.pay_sign_type).value_or(pay::SignType::sm2);
  auto platform = pay::load_or_create_key_pair(sign_type, config.data_dir + "/gateway", "platform");
  if (!platform) return failed(platform.error());
  std::string suffix = sign_type == pay::SignType::sm2 ? "sm2" : "rsa2";
  std::ifstream in(config.data_dir + "/simulator/keys/gateway_" + suffix + ".pub.pem");
  std::string gateway_pem((std::istreambuf_iterator<char>(in)), {});
  pay::GatewayConfig g;
  g.base_url = url;
  g.sign_type = sign_type;
  g.platform_private_pem = platform->private_pem;
  g.gateway_public_pem = gateway_pem;
  auto gateway = pay::make_http_gateway(g);
  auto args = parse_json(args_json);
  if (!args || !args->is_object())
    return failed(Error(Code::validation_failed, "args must be a JSON object"));
  const auto& a = args->as_object();
  auto str = [&](const char* k) {
    auto it = a.find(k);
    return it != a.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                    : std::string();
  };
  auto num = [&](const char* k) -> std::int64_t {
    auto it = a.find(k);
    return it != a.end() && it->value().is_int64() ? it->value().as_int64() : 0;
  };
  auto trade = [&](const pay::GatewayTrade& t) {
    return out({{"ok", true},
                {"trade_no", t.trade_no},
                {"out_trade_no", t.out_trade_no},
                {"status", t.status},
                {"amount", t.amount},
                {"currency", t.currency},
                {"fee", t.fee},
                {"qr_code", t.qr_code},
                {"cashier_url", t.cashier_url},
                {"paid_at_us", t.paid_at_us}},
               0);
  };
  if (method == "create") {
    auto channel = pay::parse_channel(str("channel"));
    if (!channel) return failed(Error(Code::validation_failed, "channel: card, netbank or qr"));
    auto t = gateway->create_trade(*channel, str("out_trade_no"), num("amount"), str("currency"),
                                   str("subject"), str("notify_url"));
    return t ? trade(*t) : failed(t.error());
  }
  if (method == "query") {
    auto t = gateway->query_trade(str("out_trade_no"));
    return t ? trade(*t) : failed(t.error());
  }
  if (method == "refund") {
    auto r = gateway->refund(str("out_trade_no"), str("out_refund_no"), num("amount"));
    if (!r) return failed(r.error());
    return out(
        {{"ok", true}, {"refund_no", r->refund_no}, {"status", r->status}, {"amount", r->amount}},
        0);
  }
  if (method == "statement") {
    auto csv = gateway->download_statement(str("date"));
    return csv ? out({{"ok", true}, {"statement", *csv}}, 0) : failed(csv.error());
  }
  if (method == "verify-notification") {
    std::map<std::string, std::string> form;
    for (const auto& [k, v] : a)
      if (v.is_string()) form[std::string(k)] = std::string(v.as_string());
    auto n = gateway->verify_notification(form);
    if (!n) return failed(n.error());
    return out({{"ok", true},
                {"notify_id", n->notify_id},
                {"out_trade_no", n->out_trade_no},
                {"trade_status", n->trade_status},
                {"amount", n->amount},
                {"fee", n->fee}},
               0);
  }
  return failed(Error(Code::validation_failed, "unknown method " + method));
}

int print_routes() {
  // Handlers are never called here; they only need services to bind to.
  metrics::Registry registry;
  SystemClock clock;
  IdGenerator ids(clock, 0);
  auto cipher = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  store::StoreOptions so;
  so.sqlite_path = ":memory:";
  so.read_connections = 1;
  auto st = store::Store::open(so, nullptr);
  if (!st) {
    std::cerr << st.error().detail << std::endl;
    return 1;
  }
  Config config;
  http::Router router(registry);
  api::Services services{config, Env{clock, ids, cipher}, **st, registry};
  api::add_all_routes(router, services, "{}");
  // The simulator's routes too (serve adds them when config `simulator` is on).
  char dir_template[] = "/tmp/jishi-routes-XXXXXX";
  std::unique_ptr<paysim::Simulator> simulator;
  if (const char* dir = ::mkdtemp(dir_template)) {
    paysim::SimulatorOptions sim_options;
    sim_options.dir = std::string(dir) + "/simulator";
    auto platform = pay::generate_key_pair(pay::SignType::sm2);
    if (platform) sim_options.platform_public_pem = platform->public_pem;
    if (auto opened = paysim::Simulator::open(sim_options)) simulator = std::move(*opened);
    if (simulator) paysim::add_routes(router, *simulator);
    std::string cleanup = "rm -rf '" + std::string(dir) + "'";
    if (std::system(cleanup.c_str()) != 0) std::cerr << "jishi: cannot remove " << dir << "\n";
  }
  for (const auto& r : router.routes())
    std::cout << http::method_name(r.method) << " " << r.pattern << "\n";
  return 0;
}

}  // namespace jishi::app
