// Route registration, one function per area. Every route added here must appear in
// docs/openapi.yaml (tests/integration/test_api.py checks).
#pragma once

#include <string>

#include "api/services.h"
#include "http/router.h"

namespace jishi::api {

// /healthz /readyz /metrics /api/v1/openapi.json /api/v1/version
void add_system_routes(http::Router& router, Services& s, std::string openapi_json);
// /api/v1/auth/* and /api/v1/me*
void add_auth_routes(http::Router& router, Services& s);
// /api/v1/orgs*
void add_org_routes(http::Router& router, Services& s);
// /api/v1/risk/* (pay/risk: rules, lists, decisions, reviews)
void add_risk_routes(http::Router& router, Services& s);

// /api/v1/payments/*, /api/v1/settlements*, /api/v1/reconciliations*, merchant money under
// /api/v1/orgs/{id}/..., /api/v1/me/wallet*
void add_pay_routes(http::Router& router, Services& s);

// /api/v1/categories*, /api/v1/products*, /api/v1/orgs/{id}/products, /api/v1/skus/{id},
// /api/v1/takedowns, /media/{name}
void add_catalog_routes(http::Router& router, Services& s);
// /api/v1/regions, /api/v1/me/addresses*, /api/v1/cart*, /api/v1/checkouts*
void add_cart_routes(http::Router& router, Services& s);
// /api/v1/orders*, /api/v1/me/orders, /api/v1/orgs/{id}/orders|ratings, /api/v1/after-sales/*,
// /api/v1/skus/{id}/stock*
void add_order_routes(http::Router& router, Services& s);

// /api/v1/orgs/{id}/webhooks*, /api/v1/orgs/{id}/events
void add_event_routes(http::Router& router, Services& s);

// /pki/* (public CA URLs), /api/v1/pki/*, certificates, /api/v1/signatures*
void add_pki_routes(http::Router& router, Services& s);
// /api/v1/audit/* (entries, signed heads, proofs)
void add_audit_routes(http::Router& router, Services& s);

// /api/v1/stats/* (trade statistics for regulators and operators)
void add_stats_routes(http::Router& router, Services& s);

inline void add_all_routes(http::Router& router, Services& s, std::string openapi_json) {
  add_system_routes(router, s, std::move(openapi_json));
  add_auth_routes(router, s);
  add_org_routes(router, s);
  add_pay_routes(router, s);
  add_risk_routes(router, s);
  add_catalog_routes(router, s);
  add_cart_routes(router, s);
  add_order_routes(router, s);
  add_event_routes(router, s);
  add_pki_routes(router, s);
  add_audit_routes(router, s);
  add_stats_routes(router, s);
}

}  // namespace jishi::api
