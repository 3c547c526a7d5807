#include "core/metrics.h"

#include <cmath>
#include <cstdio>

namespace jishi::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v, std::uint64_t times) {
  if (times == 0) return;
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(times, std::memory_order_relaxed);
  count_.fetch_add(times, std::memory_order_relaxed);
  if (v > 0)
    sum_micro_.fetch_add(static_cast<std::uint64_t>(std::llround(v * 1e6)) * times,
                         std::memory_order_relaxed);
}

namespace {
std::string fmt_double(double v) {
  char buf[32];
  // Whole numbers (sizes, counts, bytes) exactly; others with six significant digits.
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return "{" + labels + "," + extra + "}";
}
// One series per labels: a read function published again (a writer opened again) replaces the
// earlier one, and the newest is read.
template <typename Read>
void set_series(std::vector<std::pair<std::string, Read>>& series, const std::string& labels,
                Read read) {
  for (auto& [l, r] : series)
    if (l == labels) {
      r = std::move(read);
      return;
    }
  series.emplace_back(labels, std::move(read));
}

std::string series_name(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}
}  // namespace

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name + "_bucket" + with_label(labels, "le=\"" + fmt_double(bounds_[i]) + "\"") + " " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out += name + "_bucket" + with_label(labels, "le=\"+Inf\"") + " " + std::to_string(cumulative) +
         "\n";
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " +
         fmt_double(static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6) + "\n";
  out += name + "_count" + l + " " + std::to_string(cumulative) + "\n";
}

std::vector<double> latency_seconds_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> batch_size_buckets() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const std::string& type) {
  for (auto& f : families_)
    if (f.name == name) return f;
  families_.push_back(Family{name, help, type, {}, {}, {}, {}});
  return families_.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const std::string& labels) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, "counter");
  for (auto& [l, c] : f.counters)
    if (l == labels) return *c;
  Counter& c = counters_.emplace_back();
  f.counters.emplace_back(labels, &c);
  return c;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::string& labels, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, help, "histogram");
  for (auto& [l, h] : f.histograms)
    if (l == labels) return *h;
  Histogram& h = histograms_.emplace_back(std::move(bounds));
  f.histograms.emplace_back(labels, &h);
  return h;
}

void Registry::gauge(const std::string& name, const std::string& help, const std::string& labels,
                     std::function<double()> read) {
  std::lock_guard lock(mutex_);
  set_series(family(name, help, "gauge").gauges, labels, std::move(read));
}

void Registry::counter_read(const std::string& name, const std::string& help,
                            const std::string& labels, std::function<std::uint64_t()> read) {
  std::lock_guard lock(mutex_);
  set_series(family(name, help, "counter").read_counters, labels, std::move(read));
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& [l, c] : f.counters)
      out += series_name(f.name, l) + " " + std::to_string(c->value()) + "\n";
    for (const auto& [l, h] : f.histograms) h->render(out, f.name, l);
    for (const auto& [l, g] : f.gauges)
      out += series_name(f.name, l) + " " + fmt_double(g()) + "\n";
    for (const auto& [l, c] : f.read_counters)
      out += series_name(f.name, l) + " " + std::to_string(c()) + "\n";
  }
  return out;
}

}  // namespace jishi::metrics
