// Daily statements (对账单) and the faults injected into them for reconciliation tests.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "core/clock.h"
#include "pay/gateway_wire.h"
#include "paysim/internal.h"

namespace jishi::paysim {

namespace wire = pay::wire;

namespace {

constexpr std::int64_t kDayUs = 86400LL * 1'000'000;
constexpr std::int64_t kBeijingUs = 8LL * 3600 * 1'000'000;
constexpr std::string_view kHeader =
    "trade_no,out_trade_no,type,amount,fee,currency,status,finished_at\n";

struct Line {
  std::string trade_no, out_trade_no, type, currency, status;
  std::int64_t amount = 0, fee = 0, finished_us = 0;
};

struct Fault {
  std::int64_t id = 0;
  std::string kind, out_trade_no, direction;
  std::int64_t delta = 0;
};

// Midnight UTC of a civil date "YYYY-MM-DD" (wire::parse_time reads Beijing time).
std::optional<std::int64_t> civil_midnight_utc(std::string_view date) {
  if (date.size() != 10) return std::nullopt;
  auto t = wire::parse_time(std::string(date) + " 00:00:00");
  if (!t) return std::nullopt;
  return *t + kBeijingUs;
}

std::string civil_date(std::int64_t midnight_utc) {
  return wire::format_time(midnight_utc - kBeijingUs).substr(0, 10);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status Simulator::add_fault(std::string_view date, std::string_view kind,
                            std::string_view out_trade_no, std::int64_t delta,
                            std::string_view direction) {
  if (!options_.faults_enabled)
    return fail(Code::forbidden, "statement faults are disabled (simulator_faults)");
  if (!civil_midnight_utc(date))
    return fail(Code::validation_failed, "date must be YYYY-MM-DD", "/date");
  if (kind != "drop" && kind != "extra" && kind != "amount" && kind != "fee" && kind != "shift")
    return fail(Code::validation_failed, "kind must be drop, extra, amount, fee or shift", "/kind");
  if (kind != "extra" && out_trade_no.empty())
    return fail(Code::validation_failed, "out_trade_no names the affected line", "/out_trade_no");
  if (kind == "shift" && direction != "next" && direction != "previous")
    return fail(Code::validation_failed, "direction must be next or previous", "/direction");
  if ((kind == "amount" || kind == "fee") && delta == 0) delta = 1;
  if (kind == "extra" && delta <= 0) delta = 100;
  // Bound as std::string: an empty string_view may carry no pointer and bind as NULL.
  std::string target(out_trade_no), dir(kind == "shift" ? direction : std::string_view{});
  std::lock_guard lock(impl_->mu);
  JISHI_TRY(
      impl_->db->exec("INSERT INTO sim_faults (bill_date, kind, out_trade_no, delta, direction) "
                      "VALUES ($1, $2, $3, $4, $5)",
                      {date, kind, target, delta, dir}));
  return {};
}

Result<std::string> Simulator::statement(std::string_view date) {
  auto midnight = civil_midnight_utc(date);
  if (!midnight) return fail(Code::validation_failed, "bill_date must be YYYY-MM-DD");
  const std::int64_t offset_us = std::int64_t{options_.statement_utc_offset_min} * 60'000'000;
  auto& db = *impl_->db;
  std::lock_guard lock(impl_->mu);

  // The true lines of the local day starting at midnight_utc.
  auto real_lines = [&](std::int64_t day_midnight) -> Result<std::vector<Line>> {
    std::int64_t start = day_midnight - offset_us, end = start + kDayUs;
    std::vector<Line> lines;
    JISHI_TRY(
        db.query("SELECT trade_no, out_trade_no, amount, fee, currency, paid_us FROM sim_trades "
                 "WHERE paid_us >= $1 AND paid_us < $2 AND paid_us > 0",
                 {start, end}, [&](const store::Row& r) {
                   lines.push_back({r.str(0), r.str(1), "payment", r.str(4), "TRADE_SUCCESS",
                                    r.i64(2), r.i64(3), r.i64(5)});
                   return true;
                 }));
    JISHI_TRY(
        db.query("SELECT f.refund_no, f.out_refund_no, f.amount, t.currency, f.created_us "
                 "FROM sim_refunds f JOIN sim_trades t ON t.trade_no = f.trade_no "
                 "WHERE f.created_us >= $1 AND f.created_us < $2",
                 {start, end}, [&](const store::Row& r) {
                   lines.push_back({r.str(0), r.str(1), "refund", r.str(3), "REFUND_SUCCESS",
                                    r.i64(2), 0, r.i64(4)});
                   return true;
                 }));
    return lines;
  };
  auto faults_of = [&](std::int64_t day_midnight) -> Result<std::vector<Fault>> {
    std::vector<Fault> faults;
    JISHI_TRY(db.query(
        "SELECT id, kind, out_trade_no, delta, direction FROM sim_faults WHERE bill_date = $1 "
        "ORDER BY id",
        {civil_date(day_midnight)}, [&](const store::Row& r) {
          faults.push_back({r.i64(0), r.str(1), r.str(2), r.str(4), r.i64(3)});
          return true;
        }));
    return faults;
  };

  JISHI_ASSIGN_OR_RETURN(auto lines, real_lines(*midnight));
  JISHI_ASSIGN_OR_RETURN(auto faults, faults_of(*midnight));
  const std::int64_t start = *midnight - offset_us;
  auto find = [&](std::vector<Line>& ls, const std::string& out_trade_no) {
    return std::find_if(ls.begin(), ls.end(),
                        [&](const Line& l) { return l.out_trade_no == out_trade_no; });
  };
  for (const auto& f : faults) {
    auto it = find(lines, f.out_trade_no);
    if (f.kind == "extra") {
      lines.push_back({"SIMX" + std::to_string(f.id), "EXTRA-" + std::to_string(f.id), "payment",
                       "CNY", "TRADE_SUCCESS", f.delta, 0, start + kDayUs / 2});
    } else if (it == lines.end()) {
      continue;  // the fault names a line this day does not have
    } else if (f.kind == "drop" || f.kind == "shift") {
      lines.erase(it);  // a shifted line leaves this day for the neighbouring one
    } else if (f.kind == "amount") {
      it->amount += f.delta;
    } else if (f.kind == "fee") {
      it->fee += f.delta;
    }
  }
  // Lines shifted into this day from the neighbours: just after midnight from the day before,
  // just before the next midnight from the day after.
  for (int side : {-1, +1}) {
    std::int64_t neighbour = *midnight + side * kDayUs;
    JISHI_ASSIGN_OR_RETURN(auto their_faults, faults_of(neighbour));
    std::string towards_us = side < 0 ? "next" : "previous";
    for (const auto& f : their_faults) {
      if (f.kind != "shift" || f.direction != towards_us) continue;
      JISHI_ASSIGN_OR_RETURN(auto theirs, real_lines(neighbour));
      auto it = find(theirs, f.out_trade_no);
      if (it == theirs.end()) continue;
      it->finished_us = side < 0 ? start + 500'000 : start + kDayUs - 500'000;
      lines.push_back(*it);
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return std::tie(a.finished_us, a.out_trade_no, a.type) <
           std::tie(b.finished_us, b.out_trade_no, b.type);
  });
  std::string csv(kHeader);
  for (const auto& l : lines)
    csv += csv_field(l.trade_no) + "," + csv_field(l.out_trade_no) + "," + l.type + "," +
           std::to_string(l.amount) + "," + std::to_string(l.fee) + "," + l.currency + "," +
           l.status + "," + format_rfc3339(l.finished_us) + "\n";
  std::string dir = options_.dir + "/statements";
  ::mkdir(dir.c_str(), 0700);
  std::ofstream(dir + "/" + std::string(date) + ".csv", std::ios::binary | std::ios::trunc) << csv;
  return csv;
}

}  // namespace jishi::paysim
