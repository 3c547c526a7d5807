// What API handlers share: configuration, the module environment (clock, ids, cipher), the
// store, metrics, and server state. Built once in app/ and passed to every add_*_routes.
#pragma once

#include <atomic>
#include <string>

#include "api/auth_cache.h"
#include "core/config.h"
#include "core/env.h"
#include "core/metrics.h"
#include "core/timezone.h"
#include "flows/trade.h"
#include "identity/password.h"
#include "pay/gateway.h"
#include "store/store.h"

namespace jishi::pki {
class Authority;
}

namespace jishi::api {

class ApiKeyUseLog;

struct Services {
  const Config& config;
  Env env;
  store::Store& store;
  metrics::Registry& metrics;
  identity::HashCost hash_cost = identity::HashCost::interactive;
  std::int64_t session_ttl_us = 0;
  const std::atomic<bool>* ready = nullptr;  // false while shutting down
  AuthCache* auth_cache = nullptr;           // optional
  // The payment channels' gateway (the built-in simulator by default); null: channels off.
  pay::Gateway* gateway = nullptr;
  // Where this server is reached (for channel notification URLs), known once it has bound.
  std::string base_url{};
  // Business days (per-day risk limits) start at midnight here; from config pay_timezone.
  TimeZone pay_timezone = TimeZone::asia_shanghai();
  // Freight, unpaid timeout, auto-confirmation: from the order_* config keys.
  flows::TradeConfig trade{};
  // The certification authority; null until `jishi ca init` (its URLs answer 503).
  const pki::Authority* ca = nullptr;
  // Records API keys' first use per day and address in the audit log; null: not recorded.
  ApiKeyUseLog* key_use = nullptr;
};

}  // namespace jishi::api
