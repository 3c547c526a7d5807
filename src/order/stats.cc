#include "order/stats.h"

#include <algorithm>
#include <map>

#include "core/local_time.h"
#include "core/regions.h"

namespace jishi::order {

Result<GmvReport> gmv(store::Conn& conn, std::int64_t from_us, std::int64_t to_us,
                      std::string_view currency, std::size_t scan_max) {
  GmvReport r;
  r.currency = std::string(currency);
  std::map<std::string, GmvBucket> days, provinces;
  for (std::string d = business_date(from_us);
       business_day_start_us(d).value_or(to_us) < to_us && days.size() <= 400; d = next_date(d))
    days[d] = GmvBucket{d, "", 0, 0};
  std::size_t seen = 0;
  JISHI_TRY(
      conn.query("SELECT paid_at_us, total, refunded, region_code FROM ord_orders "
                 "WHERE paid_at_us >= $1 AND paid_at_us < $2 AND currency = $3 LIMIT $4",
                 {from_us, to_us, currency, static_cast<std::int64_t>(scan_max + 1)},
                 [&](const store::Row& row) {
                   if (++seen > scan_max) return false;
                   std::int64_t total = row.i64(1);
                   r.amount += total;
                   r.refunded += row.i64(2);
                   ++r.orders;
                   auto& day = days[business_date(row.i64(0))];
                   day.key = business_date(row.i64(0));
                   day.amount += total;
                   ++day.orders;
                   std::string province = row.str(3).substr(0, 2);
                   auto& p = provinces[province];
                   if (p.key.empty()) {
                     p.key = province;
                     const Region* reg = find_region(province);
                     p.name = reg ? reg->name : province;
                   }
                   p.amount += total;
                   ++p.orders;
                   return true;
                 }));
  if (seen > scan_max)
    return fail(Code::validation_failed,
                "more than " + std::to_string(scan_max) + " orders in the range; narrow it");
  for (auto& [_, b] : days) r.by_day.push_back(b);
  for (auto& [_, b] : provinces) r.by_province.push_back(b);
  std::sort(r.by_province.begin(), r.by_province.end(),
            [](const GmvBucket& a, const GmvBucket& b) { return a.amount > b.amount; });
  return r;
}

}  // namespace jishi::order
