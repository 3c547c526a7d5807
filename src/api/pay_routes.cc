// Payments: intents, channel notifications, escrow release and refunds, balances and
// statements, payout accounts and withdrawals, settlement, reconciliation.
#include <boost/json.hpp>
#include <set>

#include "api/common.h"
#include "api/pay_json.h"
#include "api/routes.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/local_time.h"
#include "order/orders.h"
#include "pay/payments.h"
#include "pay/qr.h"
#include "pay/recon.h"
#include "pay/risk.h"
#include "pay/settlement.h"
#include "store/writer.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;
using identity::Role;

namespace {

bool reads_all(const Principal& p) {
  return is_operator(p) || is_regulator(p);
}
// Members of the merchant (and its API keys with the read scope) see its money.
bool reads_org(const Principal& p, OrgId org) {
  if (reads_all(p)) return true;
  if (p.kind == Principal::Kind::api_key) return p.api_key_org == org && p.has_scope("read");
  return p.is_member_of(org);
}

json::object money(std::int64_t amount, const Currency& c) {
  return to_json(Money{amount, c}).as_object();
}

}  // namespace

json::object intent_json(const pay::Intent& i) {
  json::object o;
  o.reserve(20);  // the keys below: the table is sized once, not grown and rehashed
  o["id"] = std::to_string(i.id.value);
  o["payer_id"] = std::to_string(i.payer.value);
  o["purpose"] = pay::name_of(i.purpose);
  o["reference"] = i.reference;
  o["description"] = i.description;
  o["amount"] = to_json(i.amount);
  o["status"] = pay::name_of(i.status);
  o["channel"] = i.channel ? json::value(pay::name_of(*i.channel)) : json::value(nullptr);
  o["trade_no"] = json_or_null(i.trade_no);
  o["qr_code"] = json_or_null(i.qr_code);
  o["cashier_url"] = json_or_null(i.cashier_url);
  o["fee"] = money(i.fee, i.amount.currency);
  o["failure_code"] = json_or_null(i.failure_code);
  o["failure_reason"] = json_or_null(i.failure_reason);
  o["risk_decision_id"] = id_or_null(i.risk_decision_id);
  o["expires_at"] = time_json(i.expires_at_us);
  o["created_at"] = time_json(i.created_at_us);
  o["updated_at"] = time_json(i.updated_at_us);
  o["succeeded_at"] = time_or_null(i.succeeded_at_us);
  json::array splits;
  for (const auto& s : i.splits) {
    json::object x;
    x.reserve(4);
    x["reference"] = s.reference;
    x["payee_org_id"] = std::to_string(s.payee.value);
    x["amount"] = money(s.amount, i.amount.currency);
    x["category"] = json_or_null(s.category);
    splits.push_back(std::move(x));
  }
  o["splits"] = std::move(splits);
  return o;
}

// Keep in step with intent_json above (TradeJson.IntentTextAndTreeAgree in api_test).
void write_intent(JsonWriter& w, const pay::Intent& i) {
  const Currency& c = i.amount.currency;
  w.begin_object();
  w.key("id").integer_string(i.id.value);
  w.key("payer_id").integer_string(i.payer.value);
  w.key("purpose").string(pay::name_of(i.purpose));
  w.key("reference").string(i.reference);
  w.key("description").string(i.description);
  w.key("amount");
  write_money(w, i.amount.minor, c);
  w.key("status").string(pay::name_of(i.status));
  w.key("channel");
  if (i.channel)
    w.string(pay::name_of(*i.channel));
  else
    w.null();
  w.key("trade_no").string_or_null(i.trade_no);
  w.key("qr_code").string_or_null(i.qr_code);
  w.key("cashier_url").string_or_null(i.cashier_url);
  w.key("fee");
  write_money(w, i.fee, c);
  w.key("failure_code").string_or_null(i.failure_code);
  w.key("failure_reason").string_or_null(i.failure_reason);
  w.key("risk_decision_id");
  if (i.risk_decision_id)
    w.integer_string(*i.risk_decision_id);
  else
    w.null();
  w.key("expires_at").string(time_json(i.expires_at_us));
  w.key("created_at").string(time_json(i.created_at_us));
  w.key("updated_at").string(time_json(i.updated_at_us));
  w.key("succeeded_at");
  write_time_or_null(w, i.succeeded_at_us);
  w.key("splits").begin_array();
  for (const auto& s : i.splits) {
    w.begin_object();
    w.key("reference").string(s.reference);
    w.key("payee_org_id").integer_string(s.payee.value);
    w.key("amount");
    write_money(w, s.amount, c);
    w.key("category").string_or_null(s.category);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

namespace {

json::object escrow_json(const pay::Escrow& e) {
  json::object o;
  o["reference"] = e.reference;
  o["intent_id"] = std::to_string(e.intent.value);
  o["payer_id"] = std::to_string(e.payer.value);
  o["payee_org_id"] = std::to_string(e.payee.value);
  o["channel"] = pay::name_of(e.channel);
  o["status"] = e.status;
  o["captured"] = money(e.captured, e.currency);
  o["held"] = money(e.held(), e.currency);
  o["refunded"] = money(e.refunded_before_release + e.refunded_after_release, e.currency);
  o["released"] = money(e.released, e.currency);
  o["commission"] = money(e.commission - e.commission_refunded, e.currency);
  o["commission_rate_ppm"] = e.commission_rate_ppm;
  o["created_at"] = time_json(e.created_at_us);
  o["released_at"] = time_or_null(e.released_at_us);
  return o;
}

json::object refund_json(const pay::Refund& f) {
  json::object o;
  o["id"] = std::to_string(f.id.value);
  o["reference"] = f.reference;
  o["intent_id"] = std::to_string(f.intent.value);
  o["channel"] = pay::name_of(f.channel);
  o["amount"] = to_json(f.amount);
  o["merchant_share"] = money(f.merchant_share, f.amount.currency);
  o["commission_share"] = money(f.commission_share, f.amount.currency);
  o["shortfall"] = money(f.shortfall, f.amount.currency);
  o["reason"] = f.reason;
  o["status"] = f.status;
  o["gateway_refund_no"] = json_or_null(f.gateway_refund_no);
  o["created_at"] = time_json(f.created_at_us);
  o["finished_at"] = time_or_null(f.finished_at_us);
  return o;
}

json::object payout_json(const pay::Payout& p) {
  json::object o;
  o["id"] = std::to_string(p.id.value);
  o["kind"] = p.kind;
  o["org_id"] = std::to_string(p.org.value);
  o["amount"] = to_json(p.amount);
  o["status"] = p.status;
  o["bank_reference"] = json_or_null(p.bank_reference);
  o["failure_reason"] = json_or_null(p.failure_reason);
  o["risk_decision_id"] = id_or_null(p.risk_decision_id);
  o["created_at"] = time_json(p.created_at_us);
  o["finished_at"] = time_or_null(p.finished_at_us);
  return o;
}

json::object batch_json(const pay::SettlementBatch& b) {
  json::object o;
  o["id"] = std::to_string(b.id);
  o["org_id"] = std::to_string(b.org.value);
  o["business_date"] = b.business_date;
  o["cutoff"] = time_json(b.cutoff_us);
  o["eligible"] = money(b.eligible, b.currency);
  o["receivable_offset"] = money(b.receivable_offset, b.currency);
  o["reserve"] = money(b.reserve, b.currency);
  o["fee"] = money(b.fee, b.currency);
  o["net"] = money(b.net, b.currency);
  o["payout_id"] = id_or_null(b.payout_id);
  o["file_name"] = b.file_name;
  o["created_at"] = time_json(b.created_at_us);
  return o;
}

json::object recon_run_json(const pay::ReconRun& r) {
  json::object o;
  o["id"] = std::to_string(r.id);
  o["channel"] = pay::name_of(r.channel);
  o["business_date"] = r.business_date;
  o["statement_sha256"] = r.statement_sha256;
  o["matched"] = r.matched;
  o["differences"] = r.differences;
  json::object counts;
  for (const auto& [k, v] : r.counts) counts[k] = v;
  o["counts"] = std::move(counts);
  o["created_at"] = time_json(r.created_at_us);
  return o;
}

json::object recon_item_json(const pay::ReconItem& i) {
  auto n = [](const std::optional<std::int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::object o;
  o["id"] = std::to_string(i.id);
  o["run_id"] = std::to_string(i.run_id);
  o["kind"] = i.kind;
  o["entry_type"] = i.entry_type;
  o["trade_no"] = i.trade_no;
  o["out_trade_no"] = i.out_trade_no;
  o["platform_amount"] = n(i.platform_amount);
  o["channel_amount"] = n(i.channel_amount);
  o["platform_fee"] = n(i.platform_fee);
  o["channel_fee"] = n(i.channel_fee);
  o["detail"] = i.detail;
  o["resolution_transfer_id"] = id_or_null(i.resolution_transfer_id);
  o["resolved_by"] = id_or_null(i.resolved_by);
  o["resolution_reason"] = json_or_null(i.resolution_reason);
  o["resolved_at"] = time_or_null(i.resolved_at_us);
  return o;
}

// A decimal id string from a JSON body ("payee_org_id": "123").
std::optional<std::int64_t> read_id(FieldReader& f, std::string_view key) {
  std::string text = f.string(key, 20);
  if (!f.ok()) return std::nullopt;
  auto id = parse_id(text);
  if (!id)
    f.set_error(Error(Code::validation_failed, "must be a decimal id", "/" + std::string(key)));
  return id;
}

Result<Currency> currency_param(const Request& req) {
  auto c = currency_from_code(req.query_param("currency").value_or("CNY"));
  if (!c) return fail(Code::validation_failed, "unknown currency", "currency");
  return *c;
}

// --- risk ----------------------------------------------------------------------------------

// What a payer sends with a confirmation, for the risk rules.
struct PayerSignals {
  std::optional<std::string> card_no, device_id;
  std::string ip;
};

// Runs the risk rules inside the payment's transaction. nullopt: allowed (decision id in
// *decision_id). Otherwise the response to send, with the decision kept (a block fails the
// intent, a review holds it until an operator decides; the payer then confirms again).
std::optional<Response> check_payment_risk(Services& s, store::Tx& tx, const pay::Intent& i,
                                           const PayerSignals& sig,
                                           std::optional<std::int64_t>& decision_id) {
  pay::risk::Context ctx;
  ctx.action = pay::risk::Action::payment;
  ctx.account_class = pay::risk::AccountClass::personal;
  ctx.party_id = i.payer.value;
  ctx.subject_kind = "payment_intent";
  ctx.subject_id = i.id.value;
  ctx.amount = i.amount;
  ctx.card_no = sig.card_no;
  ctx.device_id = sig.device_id;
  ctx.ip = sig.ip;
  auto d = pay::risk::evaluate(tx, s.env, ctx, s.pay_timezone);
  if (!d) return http::problem(d.error());
  decision_id = d->decision_id;
  if (d->outcome == pay::risk::Outcome::allow) return std::nullopt;
  if (d->outcome == pay::risk::Outcome::block) {
    auto failed = pay::fail_intent(tx, s.env, i.id, "risk_blocked", d->reason);
    if (!failed) return http::problem(failed.error());
    Response r =
        http::problem(Error(Code::payment_declined, "declined by risk control: " + d->reason));
    r.keep_writes = true;
    return r;
  }
  json::object o = intent_json(i);
  json::object risk;
  risk["outcome"] = "review";
  risk["decision_id"] = std::to_string(d->decision_id);
  risk["review_id"] = id_or_null(d->review_id);
  risk["reason"] = d->reason;
  o["risk"] = std::move(risk);
  // 202: accepted for review; confirm again once an operator has approved it.
  return ok_json(o, 202);
}

// --- intents -------------------------------------------------------------------------------

Reply create_intent(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("payment intents are made by the paying person");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  pay::NewIntent n;
  n.payer = p.user;
  std::string purpose = f.optional_string("purpose", 20).value_or("escrow");
  n.reference = f.string("reference", limits::pay_reference_bytes_max);
  n.description = f.optional_string("description", limits::pay_description_bytes_max).value_or("");
  const json::value* amount = f.value("amount", true);
  const json::value* splits = f.value("splits", false);
  std::optional<std::int64_t> payee;
  if (!splits && purpose == "escrow") payee = read_id(f, "payee_org_id");
  API_CHECK(f.finish());
  if (purpose != "escrow" && purpose != "wallet_topup")
    return http::problem(
        Error(Code::validation_failed, "purpose must be escrow or wallet_topup", "/purpose"));
  n.purpose = purpose == "escrow" ? pay::Purpose::escrow : pay::Purpose::wallet_topup;
  API_ASSIGN(n.amount, money_from_json(*amount, "/amount"));
  if (splits) {
    if (!splits->is_array())
      return http::problem(Error(Code::validation_failed, "splits must be an array", "/splits"));
    std::size_t k = 0;
    for (const auto& item : splits->as_array()) {
      std::string at = "/splits/" + std::to_string(k++);
      FieldReader sf(item, at);
      pay::Split sp;
      sp.reference = sf.string("reference", limits::pay_reference_bytes_max);
      auto id = read_id(sf, "payee_org_id");
      const json::value* sa = sf.value("amount", true);
      sp.category = sf.optional_string("category", 64);
      API_CHECK(sf.finish());
      API_ASSIGN(auto m, money_from_json(*sa, at + "/amount"));
      if (m.currency != n.amount.currency)
        return http::problem(Error(Code::validation_failed,
                                   "splits must be in the intent's currency",
                                   at + "/amount/currency"));
      sp.payee = OrgId{*id};
      sp.amount = m.minor;
      n.splits.push_back(std::move(sp));
    }
  } else if (payee) {
    n.splits.push_back(pay::Split{n.reference, OrgId{*payee}, n.amount.minor, std::nullopt});
  }
  n.ttl_us = s.config.pay_intent_ttl_s * 1'000'000;
  return Reply::write([&s, n](store::Tx& tx) -> Response {
    API_ASSIGN(auto i, pay::create_intent(tx, s.env, n));
    return ok_json(intent_json(i), 201);
  });
}

// The intent named in the path, if p may see it: its payer, a payee's member, operators and
// regulators.
Result<pay::Intent> readable_intent(Services& s, const Principal& p, const Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  JISHI_ASSIGN_OR_RETURN(auto i, pay::get_intent(*lease, pay::IntentId{id}));
  if (!i) return fail(Code::not_found, "no such payment intent");
  bool allowed = reads_all(p) || (p.is_user() && i->payer == p.user);
  for (const auto& sp : i->splits) allowed = allowed || reads_org(p, sp.payee);
  if (!allowed) return fail(Code::not_found, "no such payment intent");
  return *i;
}

Reply get_intent(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto i, readable_intent(s, p, req));
  return ok_json(intent_json(i));
}

// The intent's QR code (qr channel, once confirmed) as an image the payer scans.
Reply intent_qr(Services& s, Request& req, bool png) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto i, readable_intent(s, p, req));
  if (!i.qr_code)
    return http::problem(
        Error(Code::invalid_state, "the intent has no QR code (confirm it with channel qr)"));
  API_ASSIGN(auto image, png ? pay::qr_png(*i.qr_code, 6) : pay::qr_svg(*i.qr_code, 6));
  Response r;
  r.content_type = png ? "image/png" : "image/svg+xml";
  r.body = std::move(image);
  r.headers.emplace_back("Cache-Control", "private, max-age=300");
  return r;
}
Reply intent_qr_svg(Services& s, Request& req) {
  return intent_qr(s, req, false);
}
Reply intent_qr_png(Services& s, Request& req) {
  return intent_qr(s, req, true);
}

Reply list_intents(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("lists a person's own payment intents");
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_intents(c, p.user, cursor, limit);
      },
      intent_json);
}

Reply confirm_intent(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("only the payer confirms a payment");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string channel_name = f.string("channel", 20);
  PayerSignals sig;
  sig.card_no = f.optional_string("card_no", 19);
  sig.device_id = f.optional_string("device_id", 128);
  sig.ip = req.remote_address;
  API_CHECK(f.finish());
  auto channel = pay::parse_channel(channel_name);
  if (!channel)
    return http::problem(
        Error(Code::validation_failed, "channel must be card, netbank, qr or wallet", "/channel"));
  if (sig.card_no && (sig.card_no->size() < 12 ||
                      sig.card_no->find_first_not_of("0123456789") != std::string::npos))
    return http::problem(
        Error(Code::validation_failed, "card_no must be 12..19 digits", "/card_no"));
  pay::IntentId intent_id{id};
  UserId payer = p.user;
  if (*channel == pay::Channel::wallet) {
    return Reply::write([&s, intent_id, payer, sig](store::Tx& tx) -> Response {
      API_ASSIGN(auto open, pay::payable_intent(tx, s.env.clock, intent_id, payer));
      std::optional<std::int64_t> decision;
      if (auto held = check_payment_risk(s, tx, open, sig, decision)) return std::move(*held);
      API_ASSIGN(auto i, pay::pay_with_wallet(tx, s.env, intent_id, payer, decision));
      auto paid = std::make_shared<const pay::Intent>(std::move(i));
      return ok_json_text_later([paid] {
        JsonWriter w(1024);  // an intent with its splits: ~700 bytes
        write_intent(w, *paid);
        return w.take();
      });
    });
  }
  if (!s.gateway)
    return http::problem(Error(Code::unavailable, "no payment channel is configured"));
  pay::Intent intent;
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(intent, pay::payable_intent(*lease, s.env.clock, intent_id, payer));
  }
  if (intent.status == pay::IntentStatus::processing && intent.channel == channel)
    return ok_json(intent_json(intent));  // already under way: the same instructions
  // The gateway call happens on the CPU pool, outside any transaction; it is idempotent by
  // out_trade_no, so a retry gets the same trade. The risk rules run first, in a write of
  // their own made durable before the call: a payment held for review or blocked never gets
  // a trade at the gateway (so no cashier to pay at), and the decision is kept either way.
  return Reply::on_cpu([&s, intent, channel = *channel, payer, sig]() -> Reply {
    std::optional<std::int64_t> decision;
    std::optional<Response> held;
    auto outcome = store::run_and_wait(s.store.writer(), [&](store::Tx& tx) {
      decision.reset();
      held.reset();
      auto open = pay::payable_intent(tx, s.env.clock, intent.id, payer);
      if (!open) {
        held = http::problem(open.error());
        return false;
      }
      held = check_payment_risk(s, tx, *open, sig, decision);
      return !held || held->status < 400 || held->keep_writes;
    });
    if (held) return std::move(*held);
    if (outcome != store::Outcome::committed)
      return http::problem(
          Error(outcome == store::Outcome::overloaded ? Code::overloaded : Code::unavailable,
                "the payment could not be checked; try again"));
    std::string notify_url =
        s.base_url + "/api/v1/payments/notify/" + std::string(pay::name_of(channel));
    auto trade = s.gateway->create_trade(
        channel, std::to_string(intent.id.value), intent.amount.minor,
        intent.amount.currency.code_view(),
        intent.description.empty() ? intent.reference : intent.description, notify_url);
    if (!trade) return http::problem(trade.error());
    return Reply::write([&s, id = intent.id, payer, channel, t = *trade,
                         decision](store::Tx& tx) -> Response {
      API_ASSIGN(auto i, pay::start_channel_payment(tx, s.env, id, payer, channel, t, decision));
      return ok_json(intent_json(i));
    });
  });
}

Reply cancel_intent(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("only the payer cancels a payment");
  API_ASSIGN(auto id, path_id(req, "id"));
  return Reply::write([&s, id, payer = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto i, pay::cancel_intent(tx, s.env, pay::IntentId{id}, payer));
    return ok_json(intent_json(i));
  });
}

// The gateway's asynchronous notification: form-encoded, signed. Answers "success" once the
// notification is handled (whatever its verdict), so the gateway stops retrying; a bad
// signature is logged and answered "fail".
Reply notify(Services& s, Request& req) {
  auto channel = pay::parse_channel(req.param("channel"));
  if (!channel || *channel == pay::Channel::wallet)
    return http::problem(Error(Code::not_found, "no such channel"));
  if (!s.gateway)
    return http::problem(Error(Code::unavailable, "no payment channel is configured"));
  std::string path;
  http::Fields fields;
  if (!http::parse_target("/?" + req.body, path, fields) ||
      fields.size() > limits::pay_notify_form_fields_max)
    return http::problem(Error(Code::bad_request, "the body must be a form of at most 50 fields"));
  std::map<std::string, std::string> form(fields.begin(), fields.end());
  auto verified = s.gateway->verify_notification(form);
  if (!verified) {
    return Reply::write([&s, ch = *channel, form, why = verified.error().detail](store::Tx& tx) {
      Response r;
      r.status = 400;
      r.content_type = "text/plain";
      r.body = "fail";
      r.keep_writes = true;  // the forged notification is logged
      if (!pay::log_rejected_notification(tx, s.env, ch, form, "bad_signature", why))
        r.status = 500;
      return r;
    });
  }
  return Reply::write([&s, ch = *channel, n = *verified](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, pay::apply_notification(tx, s.env, ch, n));
    Response res;
    res.content_type = "text/plain";
    res.body = "success";
    res.headers.emplace_back("X-Jishi-Verdict", std::string(pay::name_of(r.verdict)));
    return res;
  });
}

Reply list_notifications(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_all(p)) return forbidden("the notification log needs the operator or regulator role");
  auto trade = req.query_param("out_trade_no");
  if (!trade)
    return http::problem(
        Error(Code::validation_failed, "out_trade_no is required", "out_trade_no"));
  API_ASSIGN(auto page, read_page(req));
  auto lease = s.store.reads().lease();
  json::array items;
  std::optional<std::int64_t> next, last;
  API_CHECK(lease->query(
      "SELECT id, channel, notify_id, trade_status, verdict, detail, received_at_us FROM "
      "pay_notifications WHERE out_trade_no = $1 AND id > $2 ORDER BY id LIMIT $3",
      {*trade, page.cursor.value_or(0), static_cast<std::int64_t>(page.limit + 1)},
      [&](const store::Row& r) {
        if (items.size() == page.limit) {
          next = last;
          return false;
        }
        last = r.i64(0);
        json::object o;
        o["id"] = std::to_string(r.i64(0));
        o["channel"] = r.str(1);
        o["notify_id"] = r.is_null(2) ? json::value(nullptr) : json::value(r.str(2));
        o["trade_status"] = r.is_null(3) ? json::value(nullptr) : json::value(r.str(3));
        o["verdict"] = r.str(4);
        o["detail"] = r.str(5);
        o["received_at"] = time_json(r.i64(6));
        items.push_back(std::move(o));
        return true;
      }));
  return ok_json(page_json(std::move(items), next));
}

// --- escrow --------------------------------------------------------------------------------

Result<pay::Escrow> readable_escrow(Services& s, const Principal& p, const Request& req) {
  std::string_view ref = req.param("reference");
  auto lease = s.store.reads().lease();
  JISHI_ASSIGN_OR_RETURN(auto e, pay::get_escrow(*lease, ref));
  if (!e) return fail(Code::not_found, "nothing was paid for this reference");
  bool allowed = reads_all(p) || (p.is_user() && e->payer == p.user) || reads_org(p, e->payee);
  if (!allowed) return fail(Code::not_found, "nothing was paid for this reference");
  return *e;
}

Reply get_escrow(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto e, readable_escrow(s, p, req));
  return ok_json(escrow_json(e));
}

// An escrow that pays for an order moves only with the order (confirm receipt, refunds and
// returns under /api/v1/orders): moving it here would leave the order's state behind.
Status not_an_order(Services& s, const pay::Escrow& e) {
  auto id = parse_id(e.reference);
  if (!id) return {};
  auto lease = s.store.reads().lease();
  if (order::get_order(*lease, s.env, order::OrderId{*id}))
    return fail(Code::invalid_state, "this escrow pays for order " + e.reference +
                                         "; use the order's endpoints (confirm, refund, returns)");
  return {};
}

Reply release_escrow(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto e, readable_escrow(s, p, req));
  API_CHECK(not_an_order(s, e));
  // The payer confirming receipt, or an operator (the trade flow releases on its own timer).
  if (!is_operator(p) && !(p.is_user() && e.payer == p.user))
    return forbidden("escrow is released by the payer or an operator");
  return Reply::write([&s, ref = e.reference](store::Tx& tx) -> Response {
    API_ASSIGN(auto after, pay::release(tx, s.env, ref, s.config.pay_commission_ppm));
    return ok_json(escrow_json(after));
  });
}

Reply create_refund(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto e, readable_escrow(s, p, req));
  bool merchant = p.kind == Principal::Kind::api_key
                      ? p.api_key_org == e.payee && p.has_scope("write")
                      : p.has_role_in(e.payee, {Role::seller_admin, Role::seller_staff});
  if (!is_operator(p) && !merchant)
    return forbidden("refunds are made by the merchant or an operator");
  API_CHECK(not_an_order(s, e));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  const json::value* amount = f.value("amount", true);
  std::string reason = f.string("reason", limits::reason_bytes_max);
  API_CHECK(f.finish());
  API_ASSIGN(auto m, money_from_json(*amount, "/amount"));
  if (m.currency != e.currency)
    return http::problem(Error(Code::validation_failed,
                               "the refund must be in the payment's currency", "/amount/currency"));
  std::optional<UserId> by;
  if (p.is_user()) by = p.user;
  return Reply::write([&s, ref = e.reference, m, reason, by](store::Tx& tx) -> Response {
    API_ASSIGN(auto f2, pay::refund(tx, s.env, ref, m.minor, reason, by));
    return ok_json(refund_json(f2), 201);
  });
}

Reply list_refunds(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto e, readable_escrow(s, p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_refunds(c, e.reference, cursor, limit);
      },
      refund_json);
}

Reply set_commission(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("commission rates are set by operators");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string scope = f.string("scope", 20);
  std::string key = f.string("key", 64);
  std::int64_t rate = f.integer("rate_ppm", 0, limits::pay_commission_ppm_max);
  API_CHECK(f.finish());
  return Reply::write([&s, scope, key, rate](store::Tx& tx) -> Response {
    API_CHECK(pay::set_commission_rate(tx, s.env, scope, key, rate));
    json::object o;
    o["scope"] = scope;
    o["key"] = key;
    o["rate_ppm"] = rate;
    return ok_json(o);
  });
}

// --- balances and statements ---------------------------------------------------------------

Result<OrgId> org_in_path(const Principal& p, const Request& req) {
  JISHI_ASSIGN_OR_RETURN(auto id, path_id(req, "id"));
  if (!reads_org(p, OrgId{id})) return fail(Code::not_found, "no such organisation");
  return OrgId{id};
}

Reply org_balances(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  API_ASSIGN(auto c, currency_param(req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto b, pay::merchant_balances(*lease, org, c));
  json::object o;
  o["org_id"] = std::to_string(org.value);
  o["pending"] = money(b.pending, c);
  o["available"] = money(b.available, c);
  o["reserve"] = money(b.reserve, c);
  o["in_transit"] = money(b.in_transit, c);
  o["receivable"] = money(b.receivable, c);
  return ok_json(o);
}

json::object entry_json(const pay::StatementEntry& e) {
  json::object o;
  o["transfer_id"] = std::to_string(e.transfer_id);
  o["account"] = e.account;
  o["code"] = e.code;
  o["kind"] = e.kind;
  o["amount"] = e.amount;
  o["currency"] = e.currency;
  o["reference"] = e.reference;
  o["created_at"] = time_json(e.created_at_us);
  return o;
}

Result<std::pair<std::int64_t, std::int64_t>> period(const Request& req) {
  std::int64_t from = 0, to = INT64_MAX;
  if (auto f = req.query_param("from")) {
    auto t = parse_rfc3339(*f);
    if (!t) return fail(Code::validation_failed, "from must be an RFC 3339 time", "from");
    from = *t;
  }
  if (auto f = req.query_param("to")) {
    auto t = parse_rfc3339(*f);
    if (!t) return fail(Code::validation_failed, "to must be an RFC 3339 time", "to");
    to = *t;
  }
  return std::pair(from, to);
}

Reply org_statement(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  API_ASSIGN(auto range, period(req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::statement(c, org.value, true, range.first, range.second, cursor, limit);
      },
      entry_json);
}

Reply my_wallet(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("wallets belong to people");
  API_ASSIGN(auto c, currency_param(req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto b, pay::wallet_balance(*lease, p.user, c));
  json::object o;
  o["balance"] = money(b, c);
  return ok_json(o);
}

Reply my_wallet_entries(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("wallets belong to people");
  API_ASSIGN(auto range, period(req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::statement(c, p.user.value, false, range.first, range.second, cursor, limit);
      },
      entry_json);
}

// --- payout accounts, withdrawals, payouts -------------------------------------------------

// The account number never leaves the server: only its last four digits.
json::object payout_account_json(const pay::PayoutAccount& a) {
  json::object o;
  o["bank_name"] = a.bank_name;
  o["holder_name"] = a.holder_name;
  o["account_no_masked"] = "****" + a.account_last4;
  o["updated_at"] = time_json(a.updated_at_us);
  return o;
}

Reply put_payout_account(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  if (!p.has_role_in(org, {Role::seller_admin}))
    return forbidden("the payout account is set by the merchant's admin");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string bank = f.string("bank_name", limits::pay_bank_name_bytes_max);
  std::string holder = f.string("holder_name", limits::org_name_bytes_max);
  std::string number = f.string("account_no", limits::pay_account_no_bytes_max);
  API_CHECK(f.finish());
  return Reply::write([&s, org, bank, holder, number](store::Tx& tx) -> Response {
    API_CHECK(pay::set_payout_account(tx, s.env, org, bank, holder, number));
    API_ASSIGN(auto a, pay::get_payout_account(tx, org));
    return ok_json(payout_account_json(*a));
  });
}

Reply get_payout_account(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto a, pay::get_payout_account(*lease, org));
  if (!a) return http::problem(Error(Code::not_found, "no payout account is set"));
  return ok_json(payout_account_json(*a));
}

Reply create_withdrawal(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  // People only: a withdrawal is recorded with who asked for it (API keys cannot withdraw).
  if (!p.is_user() || !p.has_role_in(org, {Role::seller_admin}))
    return forbidden("withdrawals are requested by the merchant's admin");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  const json::value* amount = f.value("amount", true);
  API_CHECK(f.finish());
  API_ASSIGN(auto m, money_from_json(*amount, "/amount"));
  return Reply::write([&s, org, m, by = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto w, pay::request_withdrawal(tx, s.env, org, m, by, false, std::nullopt));
    pay::risk::Context ctx;
    ctx.action = pay::risk::Action::withdrawal;
    ctx.account_class = pay::risk::AccountClass::merchant;
    ctx.party_id = org.value;
    ctx.subject_kind = "withdrawal";
    ctx.subject_id = w.id.value;
    ctx.amount = m;
    API_ASSIGN(auto d, pay::risk::evaluate(tx, s.env, ctx, s.pay_timezone));
    if (d.outcome != pay::risk::Outcome::allow) {
      // Held for review (the worker follows the review) or refused (the money returns).
      API_CHECK(
          tx.exec("UPDATE pay_payouts SET status = 'in_review', risk_decision_id = $2 WHERE "
                  "id = $1",
                  {w.id.value, d.decision_id}));
      if (d.outcome == pay::risk::Outcome::block) {
        API_CHECK(pay::decide_withdrawal(tx, s.env, w.id, false,
                                         "declined by risk control: " + d.reason));
        Response r = http::problem(
            Error(Code::payment_declined, "withdrawal declined by risk control: " + d.reason));
        r.keep_writes = true;
        return r;
      }
      API_ASSIGN(auto held, pay::get_payout(tx, w.id));
      return ok_json(payout_json(*held), 202);
    }
    API_CHECK(tx.exec("UPDATE pay_payouts SET risk_decision_id = $2 WHERE id = $1",
                      {w.id.value, d.decision_id}));
    w.risk_decision_id = d.decision_id;
    return ok_json(payout_json(w), 201);
  });
}

Reply list_payouts(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_payouts(c, org, cursor, limit);
      },
      payout_json);
}

Reply org_settlements(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_in_path(p, req));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_settlements(c, org, std::nullopt, cursor, limit);
      },
      batch_json);
}

// --- settlement runs (operators) -----------------------------------------------------------

Reply run_settlement(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("settlement is run by operators");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string date = f.string("date", 10);
  std::string ccy = f.optional_string("currency", 3).value_or("CNY");
  API_CHECK(f.finish());
  auto c = currency_from_code(ccy);
  if (!c) return http::problem(Error(Code::validation_failed, "unknown currency", "/currency"));
  if (!business_day_start_us(date))
    return http::problem(Error(Code::validation_failed, "date must be YYYY-MM-DD", "/date"));
  pay::SettlementPolicy policy{s.config.pay_reserve_ppm, s.config.pay_payout_fee};
  return Reply::write([&s, date, c = *c, policy](store::Tx& tx) -> Response {
    API_ASSIGN(auto run, pay::settle_day(tx, s.env, date, c, policy));
    API_ASSIGN(auto file, pay::record_settlement_file(tx, s.env, date));
    std::string sha = file.sha256;
    json::object o;
    o["business_date"] = date;
    o["created"] = to_array(run.created, batch_json);
    o["existing"] = run.existing;
    o["file_sha256"] = sha;
    o["file_url"] = "/api/v1/settlements/files/" + date;
    return ok_json(o);
  });
}

Reply list_all_settlements(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_all(p)) return forbidden("needs the operator or regulator role");
  std::optional<std::string> date;
  if (auto d = req.query_param("date")) date = std::string(*d);
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_settlements(c, std::nullopt, date, cursor, limit);
      },
      batch_json);
}

Reply settlement_file(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  std::string date(req.param("date"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto rec, pay::get_settlement_file(*lease, date));
  if (!rec) return http::problem(Error(Code::not_found, "no settlement file for this date"));
  std::string text = rec->content;
  std::string digest = rec->sha256;
  if (!reads_all(p)) {
    // A merchant's staff get the header and their merchants' lines (column 3: merchant_id).
    std::set<std::string> mine;
    for (const auto& m : p.memberships)
      if (m.role == Role::seller_admin || m.role == Role::seller_staff)
        mine.insert(std::to_string(m.org.value));
    if (mine.empty())
      return forbidden("needs the operator or regulator role, or a merchant's staff");
    std::string out;
    std::size_t pos = 0;
    bool header = true;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size() - 1;
      std::string line = text.substr(pos, end - pos + 1);
      pos = end + 1;
      std::size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
      bool own = c3 != std::string::npos && mine.contains(line.substr(c2 + 1, c3 - c2 - 1));
      if (header || own) out += line;
      header = false;
    }
    text = std::move(out);
    digest = crypto::hex(crypto::sha256(text));
  }
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = std::move(text);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + rec->file_name + "\"");
  // The digest of this body; the full file's digest is X-Settlement-File-SHA256.
  r.headers.emplace_back("X-Content-SHA256", digest);
  r.headers.emplace_back("X-Settlement-File-SHA256", rec->sha256);
  return r;
}

// --- reconciliation (operators) ------------------------------------------------------------

Reply run_reconciliation(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("reconciliation is run by operators");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string channel_name = f.string("channel", 20);
  std::string date = f.string("date", 10);
  API_CHECK(f.finish());
  auto channel = pay::parse_channel(channel_name);
  if (!channel || *channel == pay::Channel::wallet)
    return http::problem(
        Error(Code::validation_failed, "channel must be card, netbank or qr", "/channel"));
  auto start = business_day_start_us(date);
  if (!start)
    return http::problem(Error(Code::validation_failed, "date must be YYYY-MM-DD", "/date"));
  if (!s.gateway)
    return http::problem(Error(Code::unavailable, "no payment channel is configured"));
  return Reply::on_cpu([&s, channel = *channel, date, start = *start]() -> Reply {
    std::map<std::string, std::string> statements;
    auto main = s.gateway->download_statement(date);
    if (!main) return http::problem(main.error());
    statements[date] = std::move(*main);
    // Neighbouring days, when the channel has them, let timing differences be recognised.
    for (const auto& d : {business_date(start - 1), next_date(date)})
      if (auto more = s.gateway->download_statement(d)) statements[d] = std::move(*more);
    return Reply::write([&s, channel, date, statements](store::Tx& tx) -> Response {
      API_ASSIGN(auto run, pay::reconcile(tx, s.env, channel, date, statements));
      return ok_json(recon_run_json(run), 201);
    });
  });
}

Reply list_reconciliations(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_all(p)) return forbidden("needs the operator or regulator role");
  return list_response(s, req, pay::list_recon_runs, recon_run_json);
}

Reply get_reconciliation(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_all(p)) return forbidden("needs the operator or regulator role");
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto run, pay::get_recon_run(*lease, id));
  if (!run) return http::problem(Error(Code::not_found, "no such reconciliation run"));
  return ok_json(recon_run_json(*run));
}

Reply list_recon_items(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_all(p)) return forbidden("needs the operator or regulator role");
  API_ASSIGN(auto id, path_id(req, "id"));
  std::string kind(req.query_param("kind").value_or(""));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pay::list_recon_items(c, id, kind, cursor, limit);
      },
      recon_item_json);
}

Reply resolve_recon_item(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p) || !p.is_user()) return forbidden("corrections are made by an operator");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string reason = f.string("reason", limits::reason_bytes_max);
  API_CHECK(f.finish());
  return Reply::write([&s, id, by = p.user, reason](store::Tx& tx) -> Response {
    API_ASSIGN(auto item, pay::resolve_item(tx, s.env, id, by, reason));
    return ok_json(recon_item_json(item));
  });
}

}  // namespace

void add_pay_routes(http::Router& router, Services& s) {
  auto add = [&](Method m, const char* pattern, Reply (*h)(Services&, Request&),
                 http::RouteOptions o = {}) {
    router.add(
        m, pattern, [&s, h](Request& r) { return h(s, r); }, o);
  };
  add(Method::post, "/api/v1/payments/intents", create_intent);
  add(Method::get, "/api/v1/payments/intents", list_intents);
  add(Method::get, "/api/v1/payments/intents/{id}", get_intent);
  add(Method::post, "/api/v1/payments/intents/{id}/confirm", confirm_intent);
  add(Method::post, "/api/v1/payments/intents/{id}/cancel", cancel_intent);
  add(Method::get, "/api/v1/payments/intents/{id}/qr.svg", intent_qr_svg);
  add(Method::get, "/api/v1/payments/intents/{id}/qr.png", intent_qr_png);
  http::RouteOptions callback;
  callback.unlimited = true;  // signed by the gateway; bursts of retries must not be refused
  callback.body_bytes_max = 16 * 1024;
  add(Method::post, "/api/v1/payments/notify/{channel}", notify, callback);
  add(Method::get, "/api/v1/payments/notifications", list_notifications);
  add(Method::get, "/api/v1/payments/escrows/{reference}", get_escrow);
  add(Method::post, "/api/v1/payments/escrows/{reference}/release", release_escrow);
  add(Method::post, "/api/v1/payments/escrows/{reference}/refunds", create_refund);
  add(Method::get, "/api/v1/payments/escrows/{reference}/refunds", list_refunds);
  add(Method::put, "/api/v1/payments/commission-rates", set_commission);
  add(Method::get, "/api/v1/me/wallet", my_wallet);
  add(Method::get, "/api/v1/me/wallet/entries", my_wallet_entries);
  add(Method::get, "/api/v1/orgs/{id}/balances", org_balances);
  add(Method::get, "/api/v1/orgs/{id}/statement", org_statement);
  add(Method::get, "/api/v1/orgs/{id}/payout-account", get_payout_account);
  add(Method::put, "/api/v1/orgs/{id}/payout-account", put_payout_account);
  add(Method::post, "/api/v1/orgs/{id}/withdrawals", create_withdrawal);
  add(Method::get, "/api/v1/orgs/{id}/payouts", list_payouts);
  add(Method::get, "/api/v1/orgs/{id}/settlements", org_settlements);
  add(Method::post, "/api/v1/settlements/runs", run_settlement);
  add(Method::get, "/api/v1/settlements", list_all_settlements);
  add(Method::get, "/api/v1/settlements/files/{date}", settlement_file);
  add(Method::post, "/api/v1/reconciliations", run_reconciliation);
  add(Method::get, "/api/v1/reconciliations", list_reconciliations);
  add(Method::get, "/api/v1/reconciliations/{id}", get_reconciliation);
  add(Method::get, "/api/v1/reconciliations/{id}/items", list_recon_items);
  add(Method::post, "/api/v1/reconciliations/items/{id}/resolve", resolve_recon_item);
}

}  // namespace jishi::api
