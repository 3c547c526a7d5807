// Server configuration. Sources, lowest to highest precedence: built-in defaults, a TOML file,
// the environment (JISHI_<KEY> upper-cased), command-line flags. Every key goes through one
// setter table, so all three sources accept exactly the same keys and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jishi {

struct Config {
  std::string data_dir = ".";  // holds jishi.db, the key file, uploads
  std::string listen = "127.0.0.1:8080";
  // HTTP I/O threads; 0 (the default) is one per core the writer leaves (io_threads_for).
  int io_threads = 0;
  int node_id = 0;  // Snowflake node, unique per app server
  std::size_t read_connections = 4;
  std::size_t writer_batch_max = 1000;
  std::size_t writer_queue_max = 8192;
  // COMMIT and fsync pipelined (store/writer.h); replies still wait for the fsync.
  bool writer_pipelined_sync = true;
  std::string log_level = "info";  // trace debug info warn error off
  bool access_log = true;
  std::string web_root = "web/dist";
  double rate_limit_per_s = 50;
  double rate_limit_burst = 100;
  std::int64_t session_ttl_s = 7 * 24 * 3600;
  // Argon2id cost: "moderate" (production), "interactive", or "min" (tests and demos only).
  std::string password_hash_cost = "interactive";
  std::string public_url;  // base URL the server is reached at; default http://<listen>
  // How long an authenticated principal may be served from memory; revocations reach other
  // app servers within this time (0 disables the cache).
  std::int64_t auth_cache_ttl_ms = 2000;

  // Payments (pay/). Business dates (settlement cut-off, daily limits) are in this zone.
  std::string pay_timezone = "Asia/Shanghai";
  std::int64_t pay_commission_ppm = 50'000;   // default commission: 5%
  std::int64_t pay_reserve_ppm = 0;           // rolling reserve held back at settlement
  std::int64_t pay_payout_fee = 0;            // minor units per settlement payout
  std::int64_t pay_intent_ttl_s = 30 * 60;    // how long an intent may stay open
  std::int64_t pay_worker_interval_ms = 500;  // background channel work (refunds, expiry)
  std::int64_t pay_query_after_s = 60;        // ask the gateway about silent processing intents
  // Trading (flows/): flat freight per merchant order, the unpaid timeout, auto-confirmation of
  // receipt after shipment and the buyer's one extension of it.
  std::int64_t order_freight = 800;            // minor units (¥8.00) per merchant order
  std::int64_t order_pay_timeout_s = 30 * 60;  // unpaid orders close (stock released)
  std::int64_t order_auto_confirm_days = 10;   // receipt confirmed N days after shipment
  std::int64_t order_extend_days = 3;          // the buyer may extend that once by this

  // Events (events/): durable jobs and webhook deliveries.
  std::int64_t events_worker_interval_ms = 500;  // how often due jobs and deliveries are looked for
  std::int64_t webhook_timeout_ms = 5000;        // one delivery attempt
  std::int64_t webhook_retry_hours = 24;         // retries stop this long after the event

  // Security (pki/, audit/, field encryption).
  std::string field_cipher = "sm4";  // sm4 (SM4-CTR + HMAC-SM3) | aes (AES-256-GCM): new keys
  std::int64_t audit_head_interval_s = 60;  // a signed tree head at most this often
  std::int64_t audit_money_threshold =
      1'000'000;                    // money movements >= this (minor units) are audited
  std::int64_t pki_crl_hours = 24;  // CRLs are re-issued at least this often

  // Shifts the server's clock by this many seconds (rehearsals and tests of daily cut-offs).
  std::int64_t clock_offset_s = 0;

  // The built-in payment gateway simulator (paysim/), served under /sim on this server.
  bool simulator = true;
  bool simulator_faults = false;  // POST /sim/admin/statement-faults (tests and demos)
  std::int64_t simulator_notify_retry_ms = 1000;  // first retry delay; doubles per attempt
  int simulator_duplicate_pct = 0;                // notifications delivered twice
  int simulator_reorder_pct = 0;  // a stale WAIT_BUYER_PAY delivered after the final state
  std::int64_t simulator_seed = 1;
  std::string pay_sign_type = "SM2";  // SM2 | RSA2: the gateway protocol's signatures

  std::string database_path() const;
  std::string key_file_path() const;
};

// Sets one key from its text form, validating it. Keys use snake_case as in the TOML file.
Status config_set(Config& config, std::string_view key, std::string_view value);

// The I/O threads to run: `configured` if set, else one per core but the writer's (at least
// one). On 2 cores that is one: measured under checkout load, a second I/O thread only adds
// context switches beside the writer, its syncer and the clients (~18% more server CPU per
// checkout, docs/performance.md). `cores` is std::thread::hardware_concurrency() (0: unknown).
int io_threads_for(int configured, unsigned cores);
// The keys config_set accepts, for --help and docs.
std::vector<std::string_view> config_keys();
Status config_apply_toml_file(Config& config, const std::string& path);
// Applies JISHI_<KEY> variables from an environ-style array (nullptr-terminated).
Status config_apply_env(Config& config, char** envp);
// Checks cross-field rules after all sources are applied.
Status config_validate(const Config& config);

}  // namespace jishi
