#include "core/config.h"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <functional>

#include "core/limits.h"
#include "core/timezone.h"

namespace jishi {

namespace {

Result<std::int64_t> to_int(std::string_view key, std::string_view v, std::int64_t min,
                            std::int64_t max) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n < min || n > max)
    return fail(Code::validation_failed, std::string(key) + " must be an integer in [" +
                                             std::to_string(min) + ", " + std::to_string(max) +
                                             "], got '" + std::string(v) + "'");
  return n;
}

Result<double> to_double(std::string_view key, std::string_view v, double min, double max) {
  double d = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || p != v.data() + v.size() || !(d >= min && d <= max))
    return fail(Code::validation_failed, std::string(key) + " must be a number in [" +
                                             std::to_string(min) + ", " + std::to_string(max) +
                                             "]");
  return d;
}

Result<bool> to_bool(std::string_view key, std::string_view v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return fail(Code::validation_failed, std::string(key) + " must be true or false");
}

using Setter = std::function<Status(Config&, std::string_view)>;
struct Key {
  std::string_view name;
  Setter set;
};

const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      {"data_dir",
       [](Config& c, std::string_view v) -> Status {
         if (v.empty()) return fail(Code::validation_failed, "data_dir must not be empty");
         c.data_dir = v;
         return {};
       }},
      {"listen",
       [](Config& c, std::string_view v) -> Status {
         auto colon = v.rfind(':');
         if (colon == std::string_view::npos || colon == 0)
           return fail(Code::validation_failed, "listen must be HOST:PORT");
         JISHI_TRY(to_int("listen port", v.substr(colon + 1), 0, 65535));
         c.listen = v;
         return {};
       }},
      {"io_threads",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(auto n, to_int("io_threads", v, 0, 256));
         c.io_threads = static_cast<int>(n);
         return {};
       }},
      {"node_id",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(auto n, to_int("node_id", v, 0, 1023));
         c.node_id = static_cast<int>(n);
         return {};
       }},
      {"read_connections",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(auto n,
                                to_int("read_connections", v, 1, limits::read_connections_max));
         c.read_connections = static_cast<std::size_t>(n);
         return {};
       }},
      {"writer_batch_max",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(
             auto n, to_int("writer_batch_max", v, 1, limits::writer_batch_commands_max));
         c.writer_batch_max = static_cast<std::size_t>(n);
         return {};
       }},
      {"writer_queue_max",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(
             auto n, to_int("writer_queue_max", v, 1, limits::writer_queue_commands_max));
         c.writer_queue_max = static_cast<std::size_t>(n);
         return {};
       }},
      {"writer_pipelined_sync",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.writer_pipelined_sync, to_bool("writer_pipelined_sync", v));
         return {};
       }},
      {"log_level",
       [](Config& c, std::string_view v) -> Status {
         for (auto l : {"trace", "debug", "info", "warn", "error", "off"})
           if (v == l) {
             c.log_level = v;
             return {};
           }
         return fail(Code::validation_failed,
                     "log_level must be one of trace debug info warn error off");
       }},
      {"access_log",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.access_log, to_bool("access_log", v));
         return {};
       }},
      {"web_root",
       [](Config& c, std::string_view v) -> Status {
         c.web_root = v;
         return {};
       }},
      {"rate_limit_per_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.rate_limit_per_s, to_double("rate_limit_per_s", v, 0.01, 1e9));
         return {};
       }},
      {"rate_limit_burst",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.rate_limit_burst, to_double("rate_limit_burst", v, 1, 1e9));
         return {};
       }},
      {"session_ttl_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.session_ttl_s, to_int("session_ttl_s", v, 60, 90LL * 86400));
         return {};
       }},
      {"password_hash_cost",
       [](Config& c, std::string_view v) -> Status {
         if (v != "moderate" && v != "interactive" && v != "min")
           return fail(Code::validation_failed,
                       "password_hash_cost must be moderate, interactive or min");
         c.password_hash_cost = v;
         return {};
       }},
      {"auth_cache_ttl_ms",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.auth_cache_ttl_ms, to_int("auth_cache_ttl_ms", v, 0, 60'000));
         return {};
       }},
      {"pay_timezone",
       [](Config& c, std::string_view v) -> Status {
         auto zone = TimeZone::load(v);
         if (!zone) return fail(Code::validation_failed, "pay_timezone: " + zone.error().detail);
         c.pay_timezone = v;
         return {};
       }},
      {"simulator",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.simulator, to_bool("simulator", v));
         return {};
       }},
      {"simulator_faults",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.simulator_faults, to_bool("simulator_faults", v));
         return {};
       }},
      {"simulator_notify_retry_ms",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.simulator_notify_retry_ms,
                                to_int("simulator_notify_retry_ms", v, 1, 3'600'000));
         return {};
       }},
      {"simulator_duplicate_pct",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(auto n, to_int("simulator_duplicate_pct", v, 0, 100));
         c.simulator_duplicate_pct = static_cast<int>(n);
         return {};
       }},
      {"simulator_reorder_pct",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(auto n, to_int("simulator_reorder_pct", v, 0, 100));
         c.simulator_reorder_pct = static_cast<int>(n);
         return {};
       }},
      {"simulator_seed",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.simulator_seed, to_int("simulator_seed", v, 0, INT64_MAX));
         return {};
       }},
      {"pay_sign_type",
       [](Config& c, std::string_view v) -> Status {
         if (v != "SM2" && v != "RSA2")
           return fail(Code::validation_failed, "pay_sign_type must be SM2 or RSA2");
         c.pay_sign_type = v;
         return {};
       }},
      {"public_url",
       [](Config& c, std::string_view v) -> Status {
         if (!v.starts_with("http://") && !v.starts_with("https://"))
           return fail(Code::validation_failed, "public_url must start with http:// or https://");
         c.public_url = v;
         while (c.public_url.ends_with('/')) c.public_url.pop_back();
         return {};
       }},
      {"pay_commission_ppm",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_commission_ppm,
                                to_int("pay_commission_ppm", v, 0, limits::pay_commission_ppm_max));
         return {};
       }},
      {"pay_reserve_ppm",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_reserve_ppm,
                                to_int("pay_reserve_ppm", v, 0, limits::pay_commission_ppm_max));
         return {};
       }},
      {"pay_payout_fee",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_payout_fee, to_int("pay_payout_fee", v, 0, 1'000'000));
         return {};
       }},
      {"pay_intent_ttl_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_intent_ttl_s, to_int("pay_intent_ttl_s", v, 1, 7 * 86400));
         return {};
       }},
      {"events_worker_interval_ms",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.events_worker_interval_ms,
                                to_int("events_worker_interval_ms", v, 10, 60'000));
         return {};
       }},
      {"field_cipher",
       [](Config& c, std::string_view v) -> Status {
         if (v != "sm4" && v != "aes")
           return fail(Code::validation_failed, "field_cipher must be sm4 or aes");
         c.field_cipher = v;
         return {};
       }},
      {"audit_head_interval_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.audit_head_interval_s,
                                to_int("audit_head_interval_s", v, 1, 86'400));
         return {};
       }},
      {"audit_money_threshold",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.audit_money_threshold,
                                to_int("audit_money_threshold", v, 0, 1'000'000'000'000));
         return {};
       }},
      {"pki_crl_hours",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pki_crl_hours, to_int("pki_crl_hours", v, 1, 24 * 30));
         return {};
       }},
      {"webhook_timeout_ms",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.webhook_timeout_ms, to_int("webhook_timeout_ms", v, 100, 60'000));
         return {};
       }},
      {"webhook_retry_hours",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.webhook_retry_hours, to_int("webhook_retry_hours", v, 1, 72));
         return {};
       }},
      {"order_freight",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.order_freight, to_int("order_freight", v, 0, 1'000'000));
         return {};
       }},
      {"order_pay_timeout_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.order_pay_timeout_s,
                                to_int("order_pay_timeout_s", v, 60, 7 * 86400));
         return {};
       }},
      {"order_auto_confirm_days",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.order_auto_confirm_days,
                                to_int("order_auto_confirm_days", v, 1, 90));
         return {};
       }},
      {"order_extend_days",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.order_extend_days, to_int("order_extend_days", v, 1, 30));
         return {};
       }},
      {"pay_worker_interval_ms",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_worker_interval_ms,
                                to_int("pay_worker_interval_ms", v, 10, 60'000));
         return {};
       }},
      {"clock_offset_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.clock_offset_s,
                                to_int("clock_offset_s", v, -366LL * 86400, 366LL * 86400));
         return {};
       }},
      {"pay_query_after_s",
       [](Config& c, std::string_view v) -> Status {
         JISHI_ASSIGN_OR_RETURN(c.pay_query_after_s, to_int("pay_query_after_s", v, 1, 86400));
         return {};
       }},
  };
  return table;
}

}  // namespace

std::string Config::database_path() const {
  return data_dir + "/jishi.db";
}
std::string Config::key_file_path() const {
  return data_dir + "/jishi.key";
}

Status config_set(Config& config, std::string_view key, std::string_view value) {
  for (const auto& k : keys())
    if (k.name == key) return k.set(config, value);
  return fail(Code::validation_failed, "unknown configuration key '" + std::string(key) + "'");
}

std::vector<std::string_view> config_keys() {
  std::vector<std::string_view> out;
  for (const auto& k : keys()) out.push_back(k.name);
  return out;
}

Status config_apply_toml_file(Config& config, const std::string& path) {
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(Code::validation_failed,
                "cannot read config " + path + ": " + std::string(e.description()));
  }
  for (const auto& [k, node] : parsed) {
    std::string text;
    if (auto s = node.value<std::string>(); s && node.is_string())
      text = *s;
    else if (node.is_integer())
      text = std::to_string(*node.value<std::int64_t>());
    else if (node.is_floating_point())
      text = std::to_string(*node.value<double>());
    else if (node.is_boolean())
      text = *node.value<bool>() ? "true" : "false";
    else
      return fail(Code::validation_failed,
                  path + ": key " + std::string(k.str()) + " must be a string, number or bool");
    auto st = config_set(config, k.str(), text);
    if (!st) return fail(Code::validation_failed, path + ": " + st.error().detail);
  }
  return {};
}

Status config_apply_env(Config& config, char** envp) {
  if (!envp) return {};
  for (char** e = envp; *e; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("JISHI_")) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(kv.substr(6, eq - 6));
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool known = false;
    for (auto k : config_keys()) known = known || k == key;
    if (!known) continue;  // JISHI_TEST_* and friends belong to other tools
    auto st = config_set(config, key, kv.substr(eq + 1));
    if (!st)
      return fail(
          Code::validation_failed,
          "environment JISHI_" + std::string(kv.substr(6, eq - 6)) + ": " + st.error().detail);
  }
  return {};
}

Status config_validate(const Config& config) {
  if (config.rate_limit_burst < 1)
    return fail(Code::validation_failed, "rate_limit_burst must be at least 1");
  if (config.writer_batch_max > config.writer_queue_max)
    return fail(Code::validation_failed, "writer_batch_max must not exceed writer_queue_max");
  return {};
}

int io_threads_for(int configured, unsigned cores) {
  if (configured > 0) return configured;
  return cores > 2 ? static_cast<int>(std::min(cores - 1, 256u)) : 1;
}

}  // namespace jishi
