// Statistics of trade for regulators and operators: GMV (the totals of paid orders) by business
// day and by province, over a date range.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/database.h"

namespace jishi::order {

struct GmvBucket {
  std::string key;   // "YYYY-MM-DD", or a province's 2-digit GB/T 2260 code
  std::string name;  // the province's name ("" for days)
  std::int64_t amount = 0, orders = 0;
};

struct GmvReport {
  std::string currency;
  std::int64_t amount = 0, orders = 0, refunded = 0;
  std::vector<GmvBucket> by_day;       // every day of the range, in order (zeros included)
  std::vector<GmvBucket> by_province;  // provinces with orders, largest first
};

// Orders paid in [from_us, to_us) in `currency`; days are business days (pay_timezone). At most
// `scan_max` orders are read (validation_failed beyond: narrow the range).
Result<GmvReport> gmv(store::Conn& conn, std::int64_t from_us, std::int64_t to_us,
                      std::string_view currency, std::size_t scan_max = 2'000'000);

}  // namespace jishi::order
