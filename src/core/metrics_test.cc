#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace jishi::metrics {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Registry, ReadCountersAndGaugesRenderOneSeriesEachAndWholeNumbersExactly) {
  Registry r;
  std::uint64_t first = 7, second = 9'007'199;
  r.counter_read("x_total", "help", "kind=\"a\"", [&] { return first; });
  r.counter_read("x_total", "", "kind=\"b\"", [] { return std::uint64_t{1}; });
  r.gauge("x_bytes", "help", "", [] { return 2'097'152.0; });
  r.gauge("x_ratio", "help", "", [] { return 0.25; });
  // Published again under the same name and labels (a writer opened again): the newer reads.
  r.counter_read("x_total", "", "kind=\"a\"", [&] { return second; });
  r.gauge("x_bytes", "", "", [] { return 64.0; });
  std::string text = r.render();
  EXPECT_EQ(count(text, "# TYPE x_total counter\n"), 1u) << text;
  EXPECT_EQ(count(text, "x_total{kind=\"a\"} "), 1u) << text;
  EXPECT_NE(text.find("x_total{kind=\"a\"} 9007199\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{kind=\"b\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(count(text, "\nx_bytes "), 1u) << text;
  EXPECT_NE(text.find("\nx_bytes 64\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nx_ratio 0.25\n"), std::string::npos) << text;
  r.gauge("x_big", "help", "", [] { return 2'097'152.0; });
  EXPECT_NE(r.render().find("\nx_big 2097152\n"), std::string::npos);  // not 2.09715e+06
}

// A batch's commands share one value: observed `times` at once, the histogram reads as if each
// had been observed alone (buckets, count and sum), and zero times changes nothing.
TEST(Histogram, ManyObservationsOfOneValueAtOnceAreThatManyObservations) {
  Histogram alone({0.001, 0.01}), at_once({0.001, 0.01});
  for (int i = 0; i < 3; ++i) alone.observe(0.004);
  alone.observe(0.02);
  at_once.observe(0.004, 3);
  at_once.observe(0.02, 1);
  at_once.observe(0.5, 0);
  std::string a, b;
  alone.render(a, "h", "");
  at_once.render(b, "h", "");
  EXPECT_EQ(a, b);
  EXPECT_EQ(at_once.count(), 4u);
  EXPECT_NE(b.find("h_bucket{le=\"0.01\"} 3\n"), std::string::npos) << b;
}

}  // namespace
}  // namespace jishi::metrics
