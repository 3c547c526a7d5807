// Prometheus metrics: counters, gauges and fixed-bucket histograms updated with atomics (no
// locks on the hot path), rendered in the text exposition format for /metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace jishi::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  // One observation of v, or `times` of the same value at once.
  void observe(double v, std::uint64_t times = 1);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};  // sum in millionths, so it stays integral
};

// Bucket layouts reused across the code base.
std::vector<double> latency_seconds_buckets();
std::vector<double> batch_size_buckets();

// Owns metric instances; registration takes a lock, updates do not. Instances have stable
// addresses for the registry's lifetime.
class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels);
  Histogram& histogram(const std::string& name, const std::string& help, const std::string& labels,
                       std::vector<double> bounds);
  // A gauge read at render time (queue depths and the like). Read functions registered again
  // under the same name and labels replace the earlier one (one series each).
  void gauge(const std::string& name, const std::string& help, const std::string& labels,
             std::function<double()> read);
  // A counter read at render time: one kept elsewhere (a cache's own atomic tallies).
  void counter_read(const std::string& name, const std::string& help, const std::string& labels,
                    std::function<std::uint64_t()> read);
  std::string render() const;

 private:
  struct Family {
    std::string name, help, type;
    std::vector<std::pair<std::string, Counter*>> counters;
    std::vector<std::pair<std::string, Histogram*>> histograms;
    std::vector<std::pair<std::string, std::function<double()>>> gauges;
    std::vector<std::pair<std::string, std::function<std::uint64_t()>>> read_counters;
  };
  Family& family(const std::string& name, const std::string& help, const std::string& type);

  mutable std::mutex mutex_;
  std::deque<Family> families_;
  std::deque<Counter> counters_;
  std::deque<Histogram> histograms_;
};

}  // namespace jishi::metrics
