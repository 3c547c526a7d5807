// The demo's market, shared by the seeding steps (app/ only).
#pragma once

#include <atomic>
#include <vector>

#include "api/services.h"
#include "app/app.h"

// JISHI_TRY around a write whose lambda uses JISHI_TRY itself would shadow its variable.
#define SEED_WRITE(expr)                                              \
  if (::jishi::Status JISHI_CONCAT_(seed_status_, __LINE__) = (expr); \
      !JISHI_CONCAT_(seed_status_, __LINE__))                         \
  return JISHI_CONCAT_(seed_status_, __LINE__)

namespace jishi::app {

struct DemoMarket {
  struct Seller {
    OrgId org;
    UserId owner;
  };
  struct Product {
    std::int64_t sku = 0;
    std::int64_t product = 0;
    OrgId seller;
  };
  std::vector<Seller> sellers;
  std::vector<UserId> buyers;
  std::vector<Product> products;
};

// Runs fn as one writer command and waits for its commit; returns its error, if any.
Status write_and_wait(Runtime& rt, const std::function<Status(store::Tx&, Env&)>& fn);

// Ten merchants and twenty buyers (demo password), then the catalog (seed_catalog).
Status seed_market(Runtime& rt, DemoMarket& market);
// Categories and ~1,000 listed products with SKUs and stock for market.sellers.
Status seed_catalog(Runtime& rt, DemoMarket& market);
// Orders in every status with their payments; needs the running server (the simulator's
// cashier is reached over HTTP). Stops early when `stop` becomes true.
Status seed_orders(Runtime& rt, api::Services& s, const DemoMarket& market,
                   const std::atomic<bool>& stop);

}  // namespace jishi::app
