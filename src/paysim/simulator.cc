// The simulator's trades, refunds and protocol endpoint. Notifications: notifier.cc; statements
// and faults: statement.cc. One SQLite connection guarded by one mutex: the simulator is a test
// party, not a hot path.
#include "paysim/simulator.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "core/json.h"
#include "http/client.h"
#include "pay/gateway_wire.h"
#include "paysim/internal.h"
#include "store/sqlite.h"

namespace jishi::paysim {

namespace json = boost::json;
namespace wire = pay::wire;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sim_trades (
  trade_no TEXT PRIMARY KEY, out_trade_no TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
  status TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, subject TEXT NOT NULL,
  notify_url TEXT NOT NULL, fee INTEGER NOT NULL DEFAULT 0, refunded INTEGER NOT NULL DEFAULT 0,
  created_us INTEGER NOT NULL, paid_us INTEGER NOT NULL DEFAULT 0,
  closed_us INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sim_refunds (
  refund_no TEXT PRIMARY KEY, out_refund_no TEXT NOT NULL UNIQUE, trade_no TEXT NOT NULL,
  amount INTEGER NOT NULL, created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sim_notifications (
  id INTEGER PRIMARY KEY, notify_id TEXT NOT NULL, trade_no TEXT NOT NULL,
  out_trade_no TEXT NOT NULL, trade_status TEXT NOT NULL, url TEXT NOT NULL,
  payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_us INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '', stale INTEGER NOT NULL DEFAULT 0,
  created_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sim_notifications_due ON sim_notifications (state, next_us, id);
CREATE TABLE IF NOT EXISTS sim_faults (
  id INTEGER PRIMARY KEY, bill_date TEXT NOT NULL, kind TEXT NOT NULL,
  out_trade_no TEXT NOT NULL, delta INTEGER NOT NULL, direction TEXT NOT NULL);
)sql";

constexpr std::string_view kTradeColumns =
    "trade_no, out_trade_no, channel, status, amount, currency, subject, notify_url, fee, "
    "refunded, created_us, paid_us, closed_us";

SimTrade trade_from_row(const store::Row& r) {
  SimTrade t;
  t.trade_no = r.str(0);
  t.out_trade_no = r.str(1);
  t.channel = r.str(2);
  t.status = r.str(3);
  t.amount = r.i64(4);
  t.currency = r.str(5);
  t.subject = r.str(6);
  t.notify_url = r.str(7);
  t.fee = r.i64(8);
  t.refunded = r.i64(9);
  t.created_us = r.i64(10);
  t.paid_us = r.i64(11);
  t.closed_us = r.i64(12);
  return t;
}

// An answer object: code and msg first, as gateways send them.
json::object result(std::string_view code, std::string_view msg, std::string_view sub_code = {},
                    std::string_view sub_msg = {}) {
  json::object o{{"code", code}, {"msg", msg}};
  if (!sub_code.empty()) {
    o["sub_code"] = sub_code;
    o["sub_msg"] = sub_msg;
  }
  return o;
}
json::object business(std::string_view sub_code, std::string_view sub_msg) {
  return result(wire::kCodeBusinessFailed, "Business Failed", sub_code, sub_msg);
}

}  // namespace

std::int64_t fee_for(std::string_view channel, std::int64_t amount) {
  // Basis points per channel: card 0.60 %, netbank 0.50 %, qr 0.38 %.
  std::int64_t bp = channel == "card" ? 60 : channel == "netbank" ? 50 : 38;
  // amount * bp / 10000 without overflow: split amount at 10000.
  std::int64_t low = (amount % 10000) * bp;
  std::int64_t q = (amount / 10000) * bp + low / 10000;
  std::int64_t rem = low % 10000;
  // Round half to even: exactly half a fen goes to the even neighbour.
  if (rem * 2 > 10000 || (rem * 2 == 10000 && (q & 1))) ++q;
  return q;
}

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

Simulator::~Simulator() {
  stop();
}

Result<std::unique_ptr<Simulator>> Simulator::open(SimulatorOptions options) {
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Code::storage_failure,
                "cannot create " + options.dir + ": " + std::strerror(errno));
  std::unique_ptr<Simulator> sim(new Simulator(std::move(options)));
  auto& o = sim->options_;
  auto& impl = *sim->impl_;
  if (!o.clock) o.clock = &impl.system_clock;
  impl.rng.seed(o.seed);
  JISHI_ASSIGN_OR_RETURN(auto keys,
                         pay::load_or_create_key_pair(o.sign_type, o.dir + "/keys", "gateway"));
  JISHI_ASSIGN_OR_RETURN(impl.signer, pay::Signer::from_pem(o.sign_type, keys.private_pem));
  auto verifier = pay::Verifier::from_pem(o.sign_type, o.platform_public_pem);
  if (!verifier)
    return fail(Code::validation_failed,
                "simulator: the platform public key does not load: " + verifier.error().detail);
  impl.platform = std::move(*verifier);
  sim->public_pem_ = keys.public_pem;
  JISHI_ASSIGN_OR_RETURN(impl.db,
                         store::open_sqlite(o.dir + "/simulator.db", store::OpenMode::read_write));
  JISHI_TRY(impl.db->exec_script(kSchema));
  impl.public_url = o.public_url;
  return sim;
}

void Simulator::set_public_url(std::string url) {
  std::lock_guard lock(impl_->mu);
  impl_->public_url = std::move(url);
}

Result<SimTrade> Simulator::trade(std::string_view trade_no) {
  std::lock_guard lock(impl_->mu);
  return impl_->load("trade_no", trade_no);
}

Result<SimTrade> Simulator::Impl::load(std::string_view column, std::string_view value) {
  std::string sql = "SELECT " + std::string(kTradeColumns) + " FROM sim_trades WHERE " +
                    std::string(column) + " = $1";
  JISHI_ASSIGN_OR_RETURN(auto t, db->query_one(sql, {value}, trade_from_row));
  if (!t) return fail(Code::not_found, "no such trade");
  return std::move(*t);
}

std::string Simulator::handle_api(std::string_view form_body) {
  auto answer = [&](std::string_view method, const json::object& o) {
    auto body = wire::signed_response(impl_->signer, method, o);
    if (!body) {
      spdlog::error("simulator: cannot sign an answer: {}", body.error().detail);
      return std::string("{}");
    }
    return *body;
  };
  auto form = http::parse_form(form_body);
  if (!form)
    return answer("error", result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                  "isv.invalid-form", "malformed form body"));
  pay::SignParams p(form->begin(), form->end());
  auto get = [&](const char* k) {
    auto it = p.find(k);
    return it == p.end() ? std::string() : it->second;
  };
  std::string method = get("method");
  if (method != "trade.create" && method != "trade.query" && method != "trade.refund" &&
      method != "statement.download")
    return answer("error", result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                  "isv.invalid-method", "unknown method '" + method + "'"));
  for (auto k : {"app_id", "sign_type", "timestamp", "version", "sign", "biz_content"})
    if (get(k).empty())
      return answer(method, result(wire::kCodeMissingArgument, "Missing Required Arguments",
                                   std::string("isv.missing-") + k, std::string(k) + " missing"));
  if (get("app_id") != options_.app_id)
    return answer(method, result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                 "isv.invalid-app-id", "unknown app_id"));
  if (get("sign_type") != pay::name_of(options_.sign_type))
    return answer(
        method,
        result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-signature-type",
               "sign_type must be " + std::string(pay::name_of(options_.sign_type))));
  if (auto ok = impl_->platform.verify_params(p); !ok)
    return answer(method, result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                 "isv.invalid-signature", "the signature does not verify"));
  if (get("biz_content").size() > limits::gateway_biz_content_bytes_max)
    return answer(method, result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                 "isv.invalid-biz-content", "biz_content too long"));
  auto biz = parse_json(get("biz_content"));
  if (!biz || !biz->is_object())
    return answer(method, result(wire::kCodeInvalidArgument, "Invalid Arguments",
                                 "isv.invalid-biz-content", "biz_content is not a JSON object"));
  FieldReader f(*biz);
  json::object out;
  if (method == "trade.create")
    out = create(f, get("notify_url"));
  else if (method == "trade.query")
    out = query(f);
  else if (method == "trade.refund")
    out = refund(f);
  else
    out = download(f);
  return answer(method, out);
}

json::object Simulator::trade_json(const SimTrade& t) {
  json::object o = result(wire::kCodeSuccess, "Success");
  o["trade_no"] = t.trade_no;
  o["out_trade_no"] = t.out_trade_no;
  o["trade_status"] = t.status;
  o["channel"] = t.channel;
  o["total_amount"] = *wire::format_amount(t.amount, t.currency);
  o["currency"] = t.currency;
  o["subject"] = t.subject;
  if (t.status == "TRADE_SUCCESS") {
    o["fee_amount"] = *wire::format_amount(t.fee, t.currency);
    o["gmt_payment"] = wire::format_time(t.paid_us);
    o["refund_amount"] = *wire::format_amount(t.refunded, t.currency);
  }
  std::string cashier = impl_->public_url + "/sim/cashier/" + t.trade_no;
  o["cashier_url"] = cashier;
  if (t.channel == "qr") o["qr_code"] = cashier;
  return o;
}

json::object Simulator::create(FieldReader& f, const std::string& notify_url) {
  auto out_trade_no = f.string("out_trade_no", limits::gateway_id_bytes_max);
  auto total = f.string("total_amount", 32);
  auto currency = f.string("currency", 3);
  auto subject = f.string("subject", limits::gateway_subject_bytes_max);
  auto channel = f.string("channel", 16);
  if (auto st = f.finish(); !st)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-biz-content",
                  st.error().field + " " + st.error().detail);
  if (channel != "card" && channel != "netbank" && channel != "qr")
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-channel",
                  "channel must be card, netbank or qr");
  auto amount = wire::parse_amount(total, currency);
  if (!amount || *amount <= 0)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-amount",
                  "total_amount must be a positive decimal in the currency");
  if (!notify_url.starts_with("http://"))
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-notify-url",
                  "notify_url must be an http:// URL");
  std::lock_guard lock(impl_->mu);
  if (auto existing = impl_->load("out_trade_no", out_trade_no)) {
    if (existing->amount != *amount || existing->currency != currency)
      return business("ACQ.AMOUNT_MISMATCH",
                      "out_trade_no was used with a different amount or currency");
    return trade_json(*existing);
  }
  auto now = options_.clock->now_us();
  std::int64_t seq = 0;
  (void)impl_->db->query("SELECT COUNT(*) FROM sim_trades", {}, [&](const store::Row& r) {
    seq = r.i64(0) + 1;
    return false;
  });
  char tail[16];
  std::snprintf(tail, sizeof tail, "%012lld", static_cast<long long>(seq));
  SimTrade t;
  t.trade_no = wire::format_time(now).substr(0, 10) + "22" + tail;
  std::erase(t.trade_no, '-');
  t.out_trade_no = out_trade_no;
  t.channel = channel;
  t.status = "WAIT_BUYER_PAY";
  t.amount = *amount;
  t.currency = currency;
  t.subject = subject;
  t.notify_url = notify_url;
  t.created_us = now;
  auto written = [&]() -> Status {
    JISHI_TRY(impl_->db->begin());
    auto st = [&]() -> Status {
      JISHI_TRY(impl_->db->exec(
          "INSERT INTO sim_trades (trade_no, out_trade_no, channel, status, amount, currency, "
          "subject, notify_url, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {t.trade_no, t.out_trade_no, t.channel, t.status, t.amount, t.currency, t.subject,
           t.notify_url, now}));
      return enqueue_locked(t);
    }();
    if (!st) {
      (void)impl_->db->rollback();
      return st;
    }
    return impl_->db->commit();
  }();
  if (!written) {
    spdlog::error("simulator: trade.create failed: {}", written.error().detail);
    return result("20000", "Service Currently Unavailable", "isp.unknown-error",
                  written.error().detail);
  }
  return trade_json(t);
}

json::object Simulator::query(FieldReader& f) {
  auto out_trade_no = f.string("out_trade_no", limits::gateway_id_bytes_max);
  if (auto st = f.finish(); !st)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-biz-content",
                  st.error().field + " " + st.error().detail);
  std::lock_guard lock(impl_->mu);
  auto t = impl_->load("out_trade_no", out_trade_no);
  if (!t) return business("ACQ.TRADE_NOT_EXIST", "no trade with this out_trade_no");
  return trade_json(*t);
}

json::object Simulator::refund(FieldReader& f) {
  auto out_trade_no = f.string("out_trade_no", limits::gateway_id_bytes_max);
  auto out_refund_no = f.string("out_refund_no", limits::gateway_id_bytes_max);
  auto text = f.string("refund_amount", 32);
  if (auto st = f.finish(); !st)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-biz-content",
                  st.error().field + " " + st.error().detail);
  std::lock_guard lock(impl_->mu);
  auto t = impl_->load("out_trade_no", out_trade_no);
  if (!t) return business("ACQ.TRADE_NOT_EXIST", "no trade with this out_trade_no");
  auto amount = wire::parse_amount(text, t->currency);
  if (!amount || *amount <= 0)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-amount",
                  "refund_amount must be a positive decimal in the trade's currency");
  auto answer = [&](const std::string& refund_no, std::int64_t a) {
    json::object o = result(wire::kCodeSuccess, "Success");
    o["refund_no"] = refund_no;
    o["out_refund_no"] = out_refund_no;
    o["out_trade_no"] = t->out_trade_no;
    o["trade_no"] = t->trade_no;
    o["refund_status"] = "REFUND_SUCCESS";
    o["refund_amount"] = *wire::format_amount(a, t->currency);
    return o;
  };
  auto prior = impl_->db->query_one(
      "SELECT refund_no, trade_no, amount FROM sim_refunds WHERE out_refund_no = $1",
      {out_refund_no},
      [](const store::Row& r) { return std::make_tuple(r.str(0), r.str(1), r.i64(2)); });
  if (prior && *prior) {
    auto [refund_no, trade_no, a] = **prior;
    if (trade_no != t->trade_no || a != *amount)
      return business("ACQ.REFUND_NO_REUSED", "out_refund_no was used for another trade or amount");
    return answer(refund_no, a);
  }
  if (t->status != "TRADE_SUCCESS")
    return business("ACQ.TRADE_STATUS_ERROR", "only paid trades can be refunded");
  if (*amount > t->amount - t->refunded)
    return business("ACQ.REFUND_AMOUNT_EXCEEDED", "refunds would exceed the paid amount");
  std::int64_t count = 0;
  (void)impl_->db->query("SELECT COUNT(*) FROM sim_refunds", {}, [&](const store::Row& r) {
    count = r.i64(0) + 1;
    return false;
  });
  char tail[16];
  std::snprintf(tail, sizeof tail, "%012lld", static_cast<long long>(count));
  std::string refund_no = "R" + t->trade_no.substr(0, 8) + "23" + tail;
  auto now = options_.clock->now_us();
  auto st = [&]() -> Status {
    JISHI_TRY(impl_->db->begin());
    auto ins = impl_->db->exec(
        "INSERT INTO sim_refunds (refund_no, out_refund_no, trade_no, amount, created_us) "
        "VALUES ($1, $2, $3, $4, $5)",
        {refund_no, out_refund_no, t->trade_no, *amount, now});
    auto upd =
        ins ? impl_->db->exec("UPDATE sim_trades SET refunded = refunded + $1 WHERE trade_no = $2",
                              {*amount, t->trade_no})
            : ins;
    if (!upd) {
      (void)impl_->db->rollback();
      return fail(upd.error());
    }
    return impl_->db->commit();
  }();
  if (!st)
    return result("20000", "Service Currently Unavailable", "isp.unknown-error", st.error().detail);
  return answer(refund_no, *amount);
}

json::object Simulator::download(FieldReader& f) {
  auto date = f.string("bill_date", 10);
  if (auto st = f.finish(); !st)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-biz-content",
                  st.error().field + " " + st.error().detail);
  auto csv = statement(date);
  if (!csv)
    return result(wire::kCodeInvalidArgument, "Invalid Arguments", "isv.invalid-bill-date",
                  csv.error().detail);
  json::object o = result(wire::kCodeSuccess, "Success");
  o["bill_date"] = date;
  o["statement"] = *csv;
  return o;
}

Result<SimTrade> Simulator::complete(std::string_view trade_no, bool pay,
                                     std::string_view card_number) {
  std::lock_guard lock(impl_->mu);
  JISHI_ASSIGN_OR_RETURN(auto t, impl_->load("trade_no", trade_no));
  if (t.status != "WAIT_BUYER_PAY")
    return fail(Code::invalid_state, "the trade is already " + t.status);
  if (pay && t.channel == "card") {
    bool digits = card_number.size() >= 12 && card_number.size() <= 19 &&
                  card_number.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits)
      return fail(Code::validation_failed, "a card number has 12 to 19 digits", "card_number");
    if (card_number.ends_with("0002")) pay = false;  // the test card that is declined
  }
  auto now = options_.clock->now_us();
  if (pay) {
    t.status = "TRADE_SUCCESS";
    t.fee = fee_for(t.channel, t.amount);
    t.paid_us = now;
  } else {
    t.status = "TRADE_CLOSED";
    t.closed_us = now;
  }
  JISHI_TRY(finish_locked(t));
  return t;
}

Status Simulator::finish_locked(const SimTrade& t) {
  JISHI_TRY(impl_->db->begin());
  auto st = [&]() -> Status {
    JISHI_TRY(
        impl_->db->exec("UPDATE sim_trades SET status = $1, fee = $2, paid_us = $3, closed_us = $4 "
                        "WHERE trade_no = $5 AND status = 'WAIT_BUYER_PAY'",
                        {t.status, t.fee, t.paid_us, t.closed_us, t.trade_no}));
    return enqueue_locked(t);
  }();
  if (!st) {
    (void)impl_->db->rollback();
    return st;
  }
  return impl_->db->commit();
}

Result<int> Simulator::close_expired() {
  std::lock_guard lock(impl_->mu);
  auto now = options_.clock->now_us();
  std::vector<SimTrade> expired;
  JISHI_TRY(impl_->db->query("SELECT " + std::string(kTradeColumns) +
                                 " FROM sim_trades WHERE status = 'WAIT_BUYER_PAY' AND "
                                 "created_us <= $1 ORDER BY created_us LIMIT 100",
                             {now - options_.trade_timeout_us}, [&](const store::Row& r) {
                               expired.push_back(trade_from_row(r));
                               return true;
                             }));
  for (auto& t : expired) {
    t.status = "TRADE_CLOSED";
    t.closed_us = now;
    JISHI_TRY(finish_locked(t));
  }
  return static_cast<int>(expired.size());
}

}  // namespace jishi::paysim
