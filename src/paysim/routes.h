// The simulator's HTTP routes under /sim (documented in docs/openapi/simulator.yaml).
#pragma once

#include "http/router.h"
#include "paysim/simulator.h"

namespace jishi::paysim {

// POST /sim/gateway/api, GET and POST /sim/cashier/{trade_no},
// POST /sim/admin/statement-faults. `sim` must outlive the router's use.
void add_routes(http::Router& router, Simulator& sim);

}  // namespace jishi::paysim
