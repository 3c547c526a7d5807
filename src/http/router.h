// Routes by method and path pattern ("/api/v1/orgs/{id}/approve"); a {name} segment binds
// one path segment. Knows each route's options and metrics, and which methods a path allows.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/metrics.h"
#include "http/message.h"

namespace jishi::http {

using Handler = std::function<Reply(Request&)>;

struct RouteOptions {
  // The response carries a secret (a session token, an API key): an idempotent replay must
  // still return it, so its stored copy is encrypted with the server key.
  bool secret_response = false;
  std::size_t body_bytes_max = limits::request_body_bytes_max;
  // Exempt from per-client rate limits (health checks, metrics scrapes).
  bool unlimited = false;
  // Rate-limit by client address even when a bearer token is sent: sign-up and sign-in,
  // where an invented token must not buy a fresh allowance.
  bool limit_by_address = false;
};

struct Route {
  Method method;
  std::string pattern;
  std::vector<std::string> segments;
  Handler handler;
  RouteOptions options;
  metrics::Counter* responses[5] = {};  // by status class 1xx..5xx
  metrics::Histogram* latency = nullptr;
};

class Router {
 public:
  explicit Router(metrics::Registry& registry);
  void add(Method method, std::string pattern, Handler handler, RouteOptions options = {});

  enum class Outcome { found, not_found, method_not_allowed };
  struct Match {
    Outcome outcome = Outcome::not_found;
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    std::string allowed;  // for 405: "GET, POST"
  };
  Match match(Method method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

  // Records one response for metrics; route may be null (no route matched).
  void observe(const Route* route, int status, double seconds) const;

 private:
  // The patterns as a tree of segments: a path walks it in as many steps as it has segments,
  // whatever the number of routes. Routes are kept by index, so registration order decides
  // between patterns that match the same path (a literal and a {param}), as before.
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literal;
    std::unique_ptr<Node> param;
    std::vector<std::size_t> routes;  // patterns that end here
  };
  void collect(const Node& node, std::span<const std::string_view> parts,
               std::vector<std::size_t>& out) const;

  metrics::Registry& registry_;
  std::vector<Route> routes_;
  Node root_;
  metrics::Counter* unmatched_[5] = {};
  metrics::Histogram* unmatched_latency_ = nullptr;
};

}  // namespace jishi::http
