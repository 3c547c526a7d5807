#include "http/router.h"

namespace jishi::http {

namespace {
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 1;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void register_metrics(metrics::Registry& reg, std::string_view method, std::string_view route,
                      metrics::Counter* (&counters)[5], metrics::Histogram*& latency) {
  std::string labels =
      "method=\"" + std::string(method) + "\",route=\"" + std::string(route) + "\"";
  for (int c = 0; c < 5; ++c)
    counters[c] =
        &reg.counter("jishi_http_responses_total", "HTTP responses by route and status class",
                     labels + ",status=\"" + std::to_string(c + 1) + "xx\"");
  latency = &reg.histogram("jishi_http_request_seconds", "HTTP request latency by route", labels,
                           metrics::latency_seconds_buckets());
}
}  // namespace

Router::Router(metrics::Registry& registry) : registry_(registry) {
  register_metrics(registry_, "any", "unmatched", unmatched_, unmatched_latency_);
}

void Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
  Route r;
  r.method = method;
  r.pattern = pattern;
  for (auto s : split(pattern)) r.segments.emplace_back(s);
  r.handler = std::move(handler);
  r.options = options;
  register_metrics(registry_, method_name(method), pattern, r.responses, r.latency);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match m;
  auto parts = split(path);
  Method want = method == Method::head ? Method::get : method;
  for (const Route& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& seg = r.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        if (parts[i].empty())
          ok = false;
        else
          params.emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
      } else {
        ok = seg == parts[i];
      }
    }
    if (!ok) continue;
    if (r.method == want) {
      m.outcome = Outcome::found;
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    m.outcome = Outcome::method_not_allowed;
    if (!m.allowed.empty()) m.allowed += ", ";
    m.allowed += method_name(r.method);
  }
  return m;
}

void Router::observe(const Route* route, int status, double seconds) const {
  int cls = status / 100 - 1;
  if (cls < 0 || cls > 4) cls = 4;
  if (route) {
    route->responses[cls]->add();
    route->latency->observe(seconds);
  } else {
    unmatched_[cls]->add();
    unmatched_latency_->observe(seconds);
  }
}

}  // namespace jishi::http
