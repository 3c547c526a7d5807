// `jishi settle` and `jishi reconcile`: the payment service's daily runs, by hand.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/app.h"
#include "core/crypto.h"
#include "core/local_time.h"
#include "pay/recon.h"
#include "pay/settlement.h"
#include "pay/worker.h"

namespace jishi::app {

namespace {

Status write_file(const std::string& dir, const std::string& name, const std::string& text) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Code::storage_failure, "cannot create " + dir + ": " + std::strerror(errno));
  std::string tmp = dir + "/." + name + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return fail(Code::storage_failure, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0)
    return fail(Code::storage_failure, "cannot rename " + tmp + ": " + std::strerror(errno));
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Code::not_found, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Env env_of(Runtime& rt) {
  return Env{rt.clock, *rt.ids, *rt.cipher};
}

}  // namespace

int run_settle(Runtime& rt, const std::string& date, const std::string& currency_code) {
  auto currency = currency_from_code(currency_code);
  if (!currency) {
    std::cerr << "jishi: unknown currency " << currency_code << std::endl;
    return 2;
  }
  Env env = env_of(rt);
  pay::SettlementPolicy policy{rt.config.pay_reserve_ppm, rt.config.pay_payout_fee};
  std::optional<Error> error;
  pay::SettlementRun run;
  std::string file, sha;
  auto outcome = store::run_and_wait(rt.store->writer(), [&](store::Tx& tx) {
    auto r = pay::settle_day(tx, env, date, *currency, policy);
    if (!r) {
      error = r.error();
      return false;
    }
    run = std::move(*r);
    auto recorded = pay::record_settlement_file(tx, env, date);
    if (!recorded) {
      error = recorded.error();
      return false;
    }
    file = recorded->content;
    sha = recorded->sha256;
    return true;
  });
  if (error) {
    std::cerr << "jishi: " << error->detail << std::endl;
    return 1;
  }
  if (outcome != store::Outcome::committed) {
    std::cerr << "jishi: the settlement could not be stored" << std::endl;
    return 1;
  }
  // The file is written after COMMIT (no I/O inside a transaction); rerunning rewrites the
  // same bytes.
  std::string dir = rt.config.data_dir + "/settlements", name = "settlement-" + date + ".csv";
  if (auto w = write_file(dir, name, file); !w) {
    std::cerr << "jishi: " << w.error().detail << std::endl;
    return 1;
  }
  (void)write_file(dir, name + ".sha256", sha + "  " + name + "\n");
  // Payouts go to the bank now (the server's worker would send them too).
  pay::Worker worker(*rt.store, env, nullptr, {});
  worker.run_once();
  std::cout << "settled " << date << ": " << run.created.size() << " new batches, " << run.existing
            << " already settled\n";
  for (const auto& b : run.created)
    std::cout << "  merchant " << b.org.value << ": eligible " << b.eligible << ", receivable "
              << b.receivable_offset << ", reserve " << b.reserve << ", fee " << b.fee << ", net "
              << b.net << "\n";
  std::cout << "file " << dir << "/" << name << " sha256 " << sha << std::endl;
  return 0;
}

int run_reconcile(Runtime& rt, const std::string& channel_name, const std::string& date,
                  const std::string& statement, const std::string& previous,
                  const std::string& next) {
  auto channel = pay::parse_channel(channel_name);
  if (!channel || *channel == pay::Channel::wallet) {
    std::cerr << "jishi: channel must be card, netbank or qr" << std::endl;
    return 2;
  }
  auto start = business_day_start_us(date);
  if (!start) {
    std::cerr << "jishi: date must be YYYY-MM-DD" << std::endl;
    return 2;
  }
  std::map<std::string, std::string> statements;
  auto main = read_file(statement);
  if (!main) {
    std::cerr << "jishi: " << main.error().detail << std::endl;
    return 2;
  }
  statements[date] = std::move(*main);
  if (!previous.empty()) {
    auto t = read_file(previous);
    if (!t) return std::cerr << "jishi: " << t.error().detail << std::endl, 2;
    statements[business_date(*start - 1)] = std::move(*t);
  }
  if (!next.empty()) {
    auto t = read_file(next);
    if (!t) return std::cerr << "jishi: " << t.error().detail << std::endl, 2;
    statements[next_date(date)] = std::move(*t);
  }
  Env env = env_of(rt);
  std::optional<Error> error;
  pay::ReconRun run;
  auto outcome = store::run_and_wait(rt.store->writer(), [&](store::Tx& tx) {
    auto r = pay::reconcile(tx, env, *channel, date, statements);
    if (!r) {
      error = r.error();
      return false;
    }
    run = std::move(*r);
    return true;
  });
  if (error || outcome != store::Outcome::committed) {
    std::cerr << "jishi: " << (error ? error->detail : "the run could not be stored") << std::endl;
    return 1;
  }
  // The report: every item of the run, differences first.
  std::string report =
      "item_id,kind,entry_type,trade_no,out_trade_no,platform_amount,"
      "channel_amount,platform_fee,channel_fee,detail\n";
  auto lease = rt.store->reads().lease();
  for (std::string kind : {"differences", "cutoff", "matched"}) {
    std::int64_t cursor = 0;
    for (;;) {
      auto page = pay::list_recon_items(*lease, run.id, kind, cursor, 100);
      if (!page) break;
      for (const auto& i : page->items) {
        auto n = [](const std::optional<std::int64_t>& v) {
          return v ? std::to_string(*v) : std::string();
        };
        report += std::to_string(i.id) + "," + i.kind + "," + i.entry_type + "," + i.trade_no +
                  "," + i.out_trade_no + "," + n(i.platform_amount) + "," + n(i.channel_amount) +
                  "," + n(i.platform_fee) + "," + n(i.channel_fee) + ",\"" + i.detail + "\"\n";
      }
      if (!page->next_cursor) break;
      cursor = *page->next_cursor;
    }
  }
  std::string name =
      "reconciliation-" + channel_name + "-" + date + "-" + std::to_string(run.id) + ".csv";
  std::string dir = rt.config.data_dir + "/reconciliation";
  if (auto w = write_file(dir, name, report); !w) {
    std::cerr << "jishi: " << w.error().detail << std::endl;
    return 1;
  }
  std::cout << "reconciled " << channel_name << " " << date << " (run " << run.id
            << "): " << run.matched << " matched, " << run.differences << " differences\n";
  for (const auto& [kind, count] : run.counts) std::cout << "  " << kind << ": " << count << "\n";
  std::cout << "report " << dir << "/" << name << std::endl;
  return 0;
}

}  // namespace jishi::app
