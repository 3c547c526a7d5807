// Liveness, readiness, metrics and the API description.
#include <boost/json.hpp>

#include "api/common.h"
#include "api/routes.h"
#include "store/migrate.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;

void add_system_routes(http::Router& router, Services& s, std::string openapi_json) {
  http::RouteOptions unlimited;
  unlimited.unlimited = true;
  router.add(
      Method::get, "/healthz",
      [](Request&) -> Reply {
        return ok_json(json::object{{"status", "ok"}});
      },
      unlimited);
  router.add(
      Method::get, "/readyz",
      [&s](Request&) -> Reply {
        if (s.ready && !s.ready->load())
          return http::problem(Error(Code::unavailable, "shutting down"));
        auto lease = s.store.reads().lease();
        auto version = store::schema_version(*lease);
        if (!version)
          return http::problem(Error(Code::unavailable, "database: " + version.error().detail));
        json::object o{{"status", "ready"},
                       {"schema_version", *version},
                       {"writer_queue_depth", s.store.writer().queue_depth()}};
        return ok_json(o);
      },
      unlimited);
  router.add(
      Method::get, "/metrics",
      [&s](Request&) -> Reply {
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = s.metrics.render();
        return r;
      },
      unlimited);
  router.add(Method::get, "/api/v1/openapi.json",
             [doc = std::move(openapi_json)](Request&) -> Reply {
               Response r;
               r.body = doc;
               r.headers.emplace_back("Cache-Control", "no-cache");
               return r;
             });
  router.add(Method::get, "/api/v1/version", [](Request&) -> Reply {
    return ok_json(json::object{{"name", "jishi"},
                                {"version", JISHI_VERSION},
                                {"schema_version", store::latest_schema_version()}});
  });
}

}  // namespace jishi::api
