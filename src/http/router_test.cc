#include "http/router.h"

#include <gtest/gtest.h>

namespace jishi::http {
namespace {

Handler nop() {
  return [](Request&) { return Reply(Response{}); };
}

TEST(Router, BindsPathParametersAndPrefersTheMethod) {
  metrics::Registry reg;
  Router r(reg);
  r.add(Method::get, "/api/v1/orgs/{id}", nop());
  r.add(Method::post, "/api/v1/orgs/{id}/approve", nop());
  r.add(Method::get, "/api/v1/orgs", nop());
  auto m = r.match(Method::get, "/api/v1/orgs/42");
  ASSERT_EQ(m.outcome, Router::Outcome::found);
  EXPECT_EQ(m.route->pattern, "/api/v1/orgs/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "42");
  EXPECT_EQ(r.match(Method::head, "/api/v1/orgs").outcome, Router::Outcome::found);
}

TEST(Router, DistinguishesNotFoundFromMethodNotAllowed) {
  metrics::Registry reg;
  Router r(reg);
  r.add(Method::get, "/a/{id}", nop());
  r.add(Method::delete_, "/a/{id}", nop());
  auto m = r.match(Method::post, "/a/1");
  EXPECT_EQ(m.outcome, Router::Outcome::method_not_allowed);
  EXPECT_EQ(m.allowed, "GET, DELETE");
  EXPECT_EQ(r.match(Method::get, "/a").outcome, Router::Outcome::not_found);
  EXPECT_EQ(r.match(Method::get, "/a/").outcome, Router::Outcome::not_found);
  EXPECT_EQ(r.match(Method::get, "/a/1/b").outcome, Router::Outcome::not_found);
}

TEST(Router, CountsResponsesPerRouteInMetrics) {
  metrics::Registry reg;
  Router r(reg);
  r.add(Method::get, "/x", nop());
  auto m = r.match(Method::get, "/x");
  r.observe(m.route, 200, 0.001);
  r.observe(m.route, 404, 0.001);
  r.observe(nullptr, 404, 0.001);
  std::string text = reg.render();
  EXPECT_NE(text.find("jishi_http_responses_total{method=\"GET\",route=\"/x\",status=\"2xx\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("jishi_http_request_seconds_count{method=\"GET\",route=\"/x\"} 2"),
            std::string::npos);
}

}  // namespace
}  // namespace jishi::http
