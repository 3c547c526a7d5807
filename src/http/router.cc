#include "http/router.h"

#include <algorithm>

namespace jishi::http {

namespace {
bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);  // the API's deepest pattern has 7 segments
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
  Node* node = &root_;
  for (auto seg : split(pattern)) {
    r.segments.emplace_back(seg);
    std::unique_ptr<Node>* next = nullptr;
    if (is_param(seg)) {
      next = &node->param;
    } else {
      auto it = node->literal.find(seg);
      if (it == node->literal.end()) it = node->literal.emplace(std::string(seg), nullptr).first;
      next = &it->second;
    }
    if (!*next) *next = std::make_unique<Node>();
    node = next->get();
  }
  node->routes.push_back(routes_.size());
  r.handler = std::move(handler);
  r.options = options;
  register_metrics(registry_, method_name(method), pattern, r.responses, r.latency);
  routes_.push_back(std::move(r));
}

void Router::collect(const Node& node, std::span<const std::string_view> parts,
                     std::vector<std::size_t>& out) const {
  if (parts.empty()) {
    out.insert(out.end(), node.routes.begin(), node.routes.end());
    return;
  }
  if (auto it = node.literal.find(parts.front()); it != node.literal.end())
    collect(*it->second, parts.subspan(1), out);
  if (node.param && !parts.front().empty()) collect(*node.param, parts.subspan(1), out);
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match m;
  auto parts = split(path);
  std::vector<std::size_t> candidates;
  collect(root_, parts, candidates);
  std::sort(candidates.begin(), candidates.end());  // registration order, as routes were added
  Method want = method == Method::head ? Method::get : method;
  for (std::size_t index : candidates) {
    const Route& r = routes_[index];
    if (r.method == want) {
      m.outcome = Outcome::found;
      m.route = &r;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string& seg = r.segments[i];
        if (is_param(seg))
          m.params.emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
      }
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
