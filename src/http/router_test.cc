#include "http/router.h"

#include <gtest/gtest.h>

#include <random>

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

TEST(Router, RegistrationOrderDecidesBetweenALiteralAndAParameter) {
  metrics::Registry reg;
  Router r(reg);
  r.add(Method::get, "/o/{id}", nop());
  r.add(Method::get, "/o/export", nop());
  r.add(Method::post, "/o/export", nop());
  r.add(Method::get, "/p/export", nop());
  r.add(Method::get, "/p/{id}", nop());
  EXPECT_EQ(r.match(Method::get, "/o/export").route->pattern, "/o/{id}");
  EXPECT_EQ(r.match(Method::post, "/o/export").route->pattern, "/o/export");
  EXPECT_EQ(r.match(Method::get, "/p/export").route->pattern, "/p/export");
  auto m = r.match(Method::get, "/p/7");
  EXPECT_EQ(m.route->pattern, "/p/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "7"}));
  auto d = r.match(Method::delete_, "/o/export");
  EXPECT_EQ(d.outcome, Router::Outcome::method_not_allowed);
  EXPECT_EQ(d.allowed, "GET, GET, POST");
}

// The route table as a list scanned in order: what the tree must answer, path for path.
Router::Match reference_match(const std::vector<Route>& routes, Method method,
                              std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 1; i <= path.size();) {
    auto j = std::min(path.find('/', i), path.size());
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  Router::Match m;
  Method want = method == Method::head ? Method::get : method;
  for (const Route& r : routes) {
    if (r.segments.size() != parts.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& seg = r.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}')
        ok = !parts[i].empty() &&
             (params.emplace_back(seg.substr(1, seg.size() - 2), parts[i]), true);
      else
        ok = seg == parts[i];
    }
    if (!ok) continue;
    if (r.method == want) {
      m.outcome = Router::Outcome::found;
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    m.outcome = Router::Outcome::method_not_allowed;
    if (!m.allowed.empty()) m.allowed += ", ";
    m.allowed += method_name(r.method);
  }
  return m;
}

TEST(Router, AnswersAsAnOrderedScanOfEveryRouteWould) {
  std::mt19937 rng(6);
  const char* words[] = {"a", "b", "orders", "{id}", "{x}", ""};
  const Method methods[] = {Method::get, Method::post, Method::delete_, Method::put};
  for (int round = 0; round < 50; ++round) {
    metrics::Registry reg;
    Router r(reg);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    for (int i = 0; i < 40; ++i) {
      std::string pattern;
      for (std::size_t n = 1 + pick(4); n > 0; --n) pattern += "/" + std::string(words[pick(6)]);
      r.add(methods[pick(4)], pattern, nop());
    }
    const char* path_words[] = {"a", "b", "orders", "42", "", "{id}"};
    for (int i = 0; i < 400; ++i) {
      std::string path;
      for (std::size_t n = 1 + pick(5); n > 0; --n) path += "/" + std::string(path_words[pick(6)]);
      Method method = pick(5) == 0 ? Method::head : methods[pick(4)];
      auto got = r.match(method, path);
      auto want = reference_match(r.routes(), method, path);
      ASSERT_EQ(got.outcome, want.outcome) << path;
      ASSERT_EQ(got.route, want.route) << path;
      ASSERT_EQ(got.params, want.params) << path;
      ASSERT_EQ(got.allowed, want.allowed) << path;
    }
  }
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
