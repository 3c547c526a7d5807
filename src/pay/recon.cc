#include "pay/recon.h"

#include <charconv>

#include "core/crypto.h"
#include "core/limits.h"
#include "core/local_time.h"
#include "pay/chart.h"
#include "pay/ledger.h"

namespace jishi::pay {

namespace {

std::vector<std::string> split_csv_line(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return out;
}

std::optional<std::int64_t> to_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A platform record of one channel movement.
struct Record {
  Channel channel;
  std::string type;  // payment | refund
  std::string currency;
  std::string id;  // our id: intent id (payments) or refund id (refunds)
  std::string intent_id;
  std::string gateway_no;  // trade_no (payments) or gateway refund number (refunds)
  std::int64_t amount = 0, fee = 0, at_us = 0;
  bool used = false;
};

Result<std::vector<Record>> platform_records(store::Conn& conn, std::int64_t from_us,
                                             std::int64_t to_us) {
  std::vector<Record> out;
  JISHI_TRY(conn.query(
      "SELECT id, trade_no, amount, fee, COALESCE(succeeded_at_us, updated_at_us), currency, "
      "channel FROM pay_intents WHERE channel IN ('card', 'netbank', 'qr') AND trade_no IS NOT "
      "NULL AND (status = 'succeeded' OR "
      "EXISTS (SELECT 1 FROM pay_refunds f WHERE f.reference = 'intent:' || pay_intents.id)) AND "
      "COALESCE(succeeded_at_us, updated_at_us) >= $1 AND COALESCE(succeeded_at_us, "
      "updated_at_us) < $2 ORDER BY id",
      {from_us, to_us}, [&](const store::Row& r) {
        std::string id = std::to_string(r.i64(0));
        out.push_back(Record{parse_channel(r.text(6)).value_or(Channel::card), "payment", r.str(5),
                             id, id, r.str(1), r.i64(2), r.i64(3), r.i64(4)});
        return true;
      }));
  JISHI_TRY(conn.query(
      "SELECT id, intent_id, COALESCE(gateway_refund_no, ''), amount, finished_at_us, currency, "
      "channel FROM pay_refunds WHERE channel IN ('card', 'netbank', 'qr') AND status = "
      "'succeeded' AND finished_at_us >= $1 AND "
      "finished_at_us < $2 ORDER BY id",
      {from_us, to_us}, [&](const store::Row& r) {
        out.push_back(Record{parse_channel(r.text(6)).value_or(Channel::card), "refund", r.str(5),
                             std::to_string(r.i64(0)), std::to_string(r.i64(1)), r.str(2), r.i64(3),
                             0, r.i64(4)});
        return true;
      }));
  return out;
}

bool same_movement(const Record& rec, const StatementLine& l, bool loose) {
  if (rec.type != l.type) return false;
  if (rec.type == "payment")
    return l.out_trade_no == rec.id || (!rec.gateway_no.empty() && l.trade_no == rec.gateway_no);
  if (!rec.gateway_no.empty() && l.trade_no == rec.gateway_no) return true;
  if (l.out_trade_no == rec.id) return true;
  return loose && l.out_trade_no == rec.intent_id && l.amount == rec.amount;
}

Record* find_record(std::vector<Record>& recs, const StatementLine& l) {
  for (bool loose : {false, true})
    for (auto& r : recs)
      if (!r.used && same_movement(r, l, loose)) return &r;
  return nullptr;
}

ReconItem read_item(const store::Row& r) {
  ReconItem i;
  i.id = r.i64(0);
  i.run_id = r.i64(1);
  i.kind = r.str(2);
  i.entry_type = r.str(3);
  i.trade_no = r.str(4);
  i.out_trade_no = r.str(5);
  i.platform_amount = r.opt_i64(6);
  i.channel_amount = r.opt_i64(7);
  i.platform_fee = r.opt_i64(8);
  i.channel_fee = r.opt_i64(9);
  i.detail = r.str(10);
  i.resolution_transfer_id = r.opt_i64(11);
  i.resolved_by = r.opt_i64(12);
  i.resolution_reason = r.opt_str(13);
  i.resolved_at_us = r.opt_i64(14);
  i.currency = r.str(15);
  i.channel = r.str(16);
  return i;
}

constexpr std::string_view kItemColumns =
    "id, run_id, kind, entry_type, trade_no, out_trade_no, platform_amount, channel_amount, "
    "platform_fee, channel_fee, detail, resolution_transfer_id, resolved_by, resolution_reason, "
    "resolved_at_us, currency, channel";

ReconRun read_run(const store::Row& r) {
  ReconRun run;
  run.id = r.i64(0);
  run.channel = parse_channel(r.text(1)).value_or(Channel::card);
  run.business_date = r.str(2);
  run.statement_sha256 = r.str(3);
  run.matched = r.i64(4);
  run.differences = r.i64(5);
  run.created_at_us = r.i64(6);
  return run;
}

// What the statement proves the channel has settled: clearing -> custody (net of its fee,
// the fee to channel_fees) for payments, custody -> clearing for refunds; once per movement.
Status book_channel_settlements(store::Tx& tx, Env& env, std::int64_t run_id,
                                const std::vector<ReconItem>& items) {
  for (const auto& i : items) {
    if (i.kind != "matched" && i.kind != "cutoff") continue;
    Channel channel = parse_channel(i.channel).value_or(Channel::card);
    std::int64_t amount = i.channel_amount.value_or(0), fee = i.channel_fee.value_or(0);
    JISHI_ASSIGN_OR_RETURN(
        auto inserted,
        tx.exec(
            "INSERT INTO pay_channel_settlements (channel, entry_type, trade_no, run_id, "
            "amount, fee, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO "
            "NOTHING",
            {name_of(channel), i.entry_type, i.trade_no, run_id, amount, fee, env.clock.now_us()}));
    if (inserted == 0) continue;  // a previous run booked it
    auto currency = currency_from_code(i.currency);
    if (!currency) return fail(Code::validation_failed, "unknown currency " + i.currency);
    JISHI_ASSIGN_OR_RETURN(auto clearing,
                           account_for(tx, env, AccountCode::clearing,
                                       static_cast<std::int64_t>(channel) + 1, *currency));
    JISHI_ASSIGN_OR_RETURN(auto custody,
                           account_for(tx, env, AccountCode::custody, platform_owner, *currency));
    JISHI_ASSIGN_OR_RETURN(
        auto fees, account_for(tx, env, AccountCode::channel_fees, platform_owner, *currency));
    std::string ref = "channel:" + i.entry_type + ":" + i.trade_no;
    std::vector<TransferSpec> chain;
    auto add = [&](AccountId debit, AccountId credit, std::int64_t a, TransferCode code) {
      if (a <= 0) return;
      TransferSpec t;
      t.id = TransferId{env.ids.next()};
      t.debit = debit;
      t.credit = credit;
      t.amount = a;
      t.code = static_cast<std::int32_t>(code);
      t.reference = ref;
      chain.push_back(t);
    };
    if (i.entry_type == "payment") {
      add(custody, clearing, amount - fee, TransferCode::channel_settled);
      add(fees, clearing, fee, TransferCode::channel_fee);
    } else {
      add(clearing, custody, amount, TransferCode::channel_settled);
    }
    JISHI_TRY(apply_all(tx, env.clock, chain));
  }
  return {};
}

}  // namespace

Result<std::vector<StatementLine>> parse_statement(std::string_view csv) {
  std::vector<StatementLine> out;
  std::size_t pos = 0, line_no = 0;
  bool header = true;
  while (pos < csv.size()) {
    std::size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto f = split_csv_line(line);
    if (header) {
      if (f.size() < 8 || f[0] != "trade_no" || f[2] != "type" || f[3] != "amount")
        return fail(Code::validation_failed,
                    "the statement must start with the header trade_no,out_trade_no,type,amount,"
                    "fee,currency,status,finished_at");
      header = false;
      continue;
    }
    if (out.size() >= limits::recon_statement_lines_max)
      return fail(Code::validation_failed, "the statement has too many lines");
    auto bad = [&](std::string what) {
      return fail(Code::validation_failed,
                  "statement line " + std::to_string(line_no) + ": " + std::move(what));
    };
    if (f.size() < 8) return bad("expected 8 columns");
    StatementLine l;
    l.trade_no = f[0];
    l.out_trade_no = f[1];
    l.type = f[2];
    if (l.type != "payment" && l.type != "refund") return bad("type must be payment or refund");
    auto amount = to_i64(f[3]);
    auto fee = to_i64(f[4]);
    if (!amount || !fee || *amount < 0 || *fee < 0) return bad("amount and fee must be integers");
    l.amount = *amount;
    l.fee = *fee;
    l.currency = f[5];
    l.status = f[6];
    auto at = parse_rfc3339(f[7]);
    if (!at) return bad("finished_at must be RFC 3339");
    l.finished_at_us = *at;
    out.push_back(std::move(l));
  }
  if (header) return fail(Code::validation_failed, "the statement is empty (no header)");
  return out;
}

Result<ReconRun> reconcile(store::Tx& tx, Env& env, Channel channel, std::string_view date,
                           const std::map<std::string, std::string>& statements) {
  auto day_start = business_day_start_us(date);
  if (!day_start) return fail(Code::validation_failed, "date must be YYYY-MM-DD", "date");
  if (channel == Channel::wallet)
    return fail(Code::validation_failed, "the wallet is internal and has no statement", "channel");
  auto it = statements.find(std::string(date));
  if (it == statements.end())
    return fail(Code::validation_failed, "the statement of " + std::string(date) + " is missing");
  JISHI_ASSIGN_OR_RETURN(auto lines, parse_statement(it->second));
  std::string prev;
  {
    // The previous date: the day that starts 24 h (give or take DST) earlier.
    prev = business_date(*day_start - 1);
  }
  std::string next = next_date(date);
  std::int64_t from = *business_day_start_us(prev);
  std::int64_t day_end = *business_day_start_us(next);
  std::int64_t to = *business_day_start_us(next_date(next));
  JISHI_ASSIGN_OR_RETURN(auto recs, platform_records(tx, from, to));

  ReconRun run;
  run.id = env.ids.next();
  run.channel = channel;
  run.business_date = std::string(date);
  run.statement_sha256 = crypto::hex(crypto::sha256(it->second));
  run.created_at_us = env.clock.now_us();
  std::vector<ReconItem> items;
  auto add = [&](std::string kind, Channel item_channel, std::string type, std::string currency,
                 std::string trade_no, std::string out_no, std::optional<std::int64_t> pa,
                 std::optional<std::int64_t> ca, std::optional<std::int64_t> pf,
                 std::optional<std::int64_t> cf, std::string detail) {
    ReconItem i;
    i.id = env.ids.next();
    i.run_id = run.id;
    i.kind = std::move(kind);
    i.entry_type = std::move(type);
    i.channel = std::string(name_of(item_channel));
    i.currency = std::move(currency);
    i.trade_no = std::move(trade_no);
    i.out_trade_no = std::move(out_no);
    i.platform_amount = pa;
    i.channel_amount = ca;
    i.platform_fee = pf;
    i.channel_fee = cf;
    i.detail = std::move(detail);
    ++run.counts[i.kind];
    if (i.kind == "matched" || i.kind == "cutoff")
      ++run.matched;
    else
      ++run.differences;
    items.push_back(std::move(i));
  };
  auto in_day = [&](std::int64_t at) { return at >= *day_start && at < day_end; };
  for (const auto& l : lines) {
    Record* r = find_record(recs, l);
    if (!r) {
      add("channel_only", channel, l.type, l.currency, l.trade_no, l.out_trade_no, std::nullopt,
          l.amount, std::nullopt, l.fee,
          "on the channel's statement, not in the platform's records");
      continue;
    }
    r->used = true;
    std::optional<std::int64_t> pf;
    if (r->type == "payment") pf = r->fee;
    if (r->amount != l.amount) {
      add("amount_mismatch", r->channel, l.type, l.currency, l.trade_no, l.out_trade_no, r->amount,
          l.amount, pf, l.fee,
          "the channel has " + std::to_string(l.amount) + ", the platform " +
              std::to_string(r->amount));
    } else if (r->type == "payment" && r->fee != l.fee) {
      add("fee_mismatch", r->channel, l.type, l.currency, l.trade_no, l.out_trade_no, r->amount,
          l.amount, pf, l.fee,
          "the channel charged " + std::to_string(l.fee) + ", it reported " +
              std::to_string(r->fee));
    } else if (!in_day(r->at_us)) {
      add("cutoff", r->channel, l.type, l.currency, l.trade_no, l.out_trade_no, r->amount, l.amount,
          pf, l.fee, "the platform booked it on " + business_date(r->at_us));
    } else {
      add("matched", r->channel, l.type, l.currency, l.trade_no, l.out_trade_no, r->amount,
          l.amount, pf, l.fee, "");
    }
  }
  // Our records of the day the statement does not have: on a neighbouring day's statement
  // they are a timing difference, otherwise a shortfall.
  std::vector<StatementLine> neighbours;
  for (const auto& d : {prev, next}) {
    auto n = statements.find(d);
    if (n == statements.end()) continue;
    JISHI_ASSIGN_OR_RETURN(auto more, parse_statement(n->second));
    for (auto& l : more) neighbours.push_back(std::move(l));
  }
  for (auto& r : recs) {
    if (r.used || !in_day(r.at_us)) continue;
    std::optional<std::int64_t> pf;
    if (r.type == "payment") pf = r.fee;
    const StatementLine* elsewhere = nullptr;
    for (const auto& l : neighbours)
      if (same_movement(r, l, true)) elsewhere = &l;
    std::string trade_no = r.gateway_no;
    if (elsewhere) {
      add("cutoff", r.channel, r.type, r.currency, trade_no, r.id, r.amount, elsewhere->amount, pf,
          elsewhere->fee, "the channel booked it on " + business_date(elsewhere->finished_at_us));
    } else {
      add("platform_only", r.channel, r.type, r.currency, trade_no, r.id, r.amount, std::nullopt,
          pf, std::nullopt, "in the platform's records, not on the channel's statement");
    }
  }
  JISHI_TRY(
      tx.exec("INSERT INTO pay_recon_runs (id, channel, business_date, statement_sha256, matched, "
              "differences, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {run.id, name_of(channel), date, run.statement_sha256, run.matched, run.differences,
               run.created_at_us}));
  for (const auto& i : items)
    JISHI_TRY(tx.exec(
        "INSERT INTO pay_recon_items (id, run_id, kind, entry_type, channel, currency, trade_no, "
        "out_trade_no, platform_amount, channel_amount, platform_fee, channel_fee, detail) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        {i.id, i.run_id, i.kind, i.entry_type, i.channel, i.currency, i.trade_no, i.out_trade_no,
         i.platform_amount, i.channel_amount, i.platform_fee, i.channel_fee, i.detail}));
  JISHI_TRY(book_channel_settlements(tx, env, run.id, items));
  return run;
}

Result<std::optional<ReconRun>> get_recon_run(store::Conn& conn, std::int64_t id) {
  JISHI_ASSIGN_OR_RETURN(
      auto run, conn.query_one("SELECT id, channel, business_date, statement_sha256, matched, "
                               "differences, created_at_us FROM pay_recon_runs WHERE id = $1",
                               {id}, read_run));
  if (run)
    JISHI_TRY(
        conn.query("SELECT kind, COUNT(*) FROM pay_recon_items WHERE run_id = $1 GROUP BY kind",
                   {id}, [&](const store::Row& r) {
                     run->counts[r.str(0)] = r.i64(1);
                     return true;
                   }));
  return run;
}

Result<Page<ReconRun>> list_recon_runs(store::Conn& conn, std::int64_t before, std::size_t limit) {
  Page<ReconRun> page;
  JISHI_TRY(conn.query(
      "SELECT id, channel, business_date, statement_sha256, matched, differences, created_at_us "
      "FROM pay_recon_runs WHERE id < $1 ORDER BY id DESC LIMIT $2",
      {before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(read_run(r));
        return true;
      }));
  trim_page(page, limit, [](const auto& x) { return x.id; });
  for (auto& run : page.items)
    JISHI_TRY(
        conn.query("SELECT kind, COUNT(*) FROM pay_recon_items WHERE run_id = $1 GROUP BY "
                   "kind",
                   {run.id}, [&](const store::Row& r) {
                     run.counts[r.str(0)] = r.i64(1);
                     return true;
                   }));
  return page;
}

Result<Page<ReconItem>> list_recon_items(store::Conn& conn, std::int64_t run_id,
                                         std::string_view kind, std::int64_t before,
                                         std::size_t limit) {
  Page<ReconItem> page;
  std::string sql = "SELECT " + std::string(kItemColumns) +
                    " FROM pay_recon_items WHERE run_id = $1 AND ($2 = '' OR kind = $2 OR ($2 = "
                    "'differences' AND kind NOT IN ('matched', 'cutoff'))) AND id > $3 ORDER BY "
                    "id LIMIT $4";
  JISHI_TRY(conn.query(sql, {run_id, kind, before, static_cast<std::int64_t>(limit + 1)},
                       [&](const store::Row& r) {
                         page.items.push_back(read_item(r));
                         return true;
                       }));
  trim_page(page, limit, [](const auto& x) { return x.id; });
  return page;
}

Result<ReconItem> resolve_item(store::Tx& tx, Env& env, std::int64_t item_id, UserId by,
                               std::string_view reason) {
  if (reason.empty() || reason.size() > limits::reason_bytes_max)
    return fail(Code::validation_failed, "a reason of 1..1000 bytes is required", "/reason");
  std::string sql = "SELECT " + std::string(kItemColumns) + " FROM pay_recon_items WHERE id = $1";
  JISHI_ASSIGN_OR_RETURN(auto found, tx.query_one(sql, {item_id}, read_item));
  if (!found) return fail(Code::not_found, "no such reconciliation item");
  ReconItem item = std::move(*found);
  if (item.kind == "matched" || item.kind == "cutoff")
    return fail(Code::invalid_state, "a " + item.kind + " item needs no correction");
  if (item.resolution_transfer_id) return fail(Code::invalid_state, "the item is already resolved");
  JISHI_ASSIGN_OR_RETURN(auto run, get_recon_run(tx, item.run_id));
  if (!run) return fail(Code::internal, "item without its run");
  // The same difference found again by a later run of the day is corrected only once.
  JISHI_ASSIGN_OR_RETURN(
      auto earlier,
      tx.query_one("SELECT i.id FROM pay_recon_items i JOIN pay_recon_runs r ON r.id = i.run_id "
                   "WHERE i.channel = $1 AND r.business_date = $2 AND i.kind = $3 AND "
                   "i.entry_type = $4 AND i.trade_no = $5 AND i.out_trade_no = $6 AND "
                   "i.resolution_transfer_id IS NOT NULL",
                   {item.channel, run->business_date, item.kind, item.entry_type, item.trade_no,
                    item.out_trade_no},
                   [](const store::Row& r) { return r.i64(0); }));
  if (earlier)
    return fail(Code::invalid_state,
                "this difference was corrected already (item " + std::to_string(*earlier) + ")");
  auto currency = currency_from_code(item.currency);
  if (!currency) return fail(Code::internal, "unknown currency " + item.currency);
  // How far our books are from the channel's: positive when the channel has more.
  std::int64_t delta = 0;
  AccountCode against = AccountCode::clearing;
  std::int64_t against_owner =
      static_cast<std::int64_t>(parse_channel(item.channel).value_or(run->channel)) + 1;
  if (item.kind == "fee_mismatch") {
    delta = item.channel_fee.value_or(0) - item.platform_fee.value_or(0);
    against = AccountCode::channel_fees;
    against_owner = platform_owner;
  } else {
    delta = item.channel_amount.value_or(0) - item.platform_amount.value_or(0);
    if (item.entry_type == "refund") delta = -delta;  // a refund takes from clearing
  }
  if (delta == 0) return fail(Code::invalid_state, "the item has no difference to correct");
  JISHI_ASSIGN_OR_RETURN(auto suspense,
                         account_for(tx, env, AccountCode::suspense, platform_owner, *currency));
  JISHI_ASSIGN_OR_RETURN(auto other, account_for(tx, env, against, against_owner, *currency));
  TransferSpec t;
  t.id = TransferId{env.ids.next()};
  t.debit = delta > 0 ? other : suspense;
  t.credit = delta > 0 ? suspense : other;
  t.amount = delta > 0 ? delta : -delta;
  t.code = static_cast<std::int32_t>(TransferCode::correction);
  t.reference = "recon:" + std::to_string(item.id);
  std::vector<TransferSpec> chain{t};
  JISHI_TRY(apply_all(tx, env.clock, chain));
  JISHI_TRY(
      tx.exec("UPDATE pay_recon_items SET resolution_transfer_id = $2, resolved_by = $3, "
              "resolution_reason = $4, resolved_at_us = $5 WHERE id = $1",
              {item.id, t.id.value, by.value, reason, env.clock.now_us()}));
  item.resolution_transfer_id = t.id.value;
  item.resolved_by = by.value;
  item.resolution_reason = std::string(reason);
  item.resolved_at_us = env.clock.now_us();
  return item;
}

}  // namespace jishi::pay
