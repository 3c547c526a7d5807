// The audit log for regulators, operators and CA officers: entries, signed tree heads and
// RFC 6962 inclusion and consistency proofs.
#include <boost/json.hpp>
#include <charconv>

#include "api/common.h"
#include "api/routes.h"
#include "audit/audit.h"
#include "core/json.h"
#include "pki/pki.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using identity::Principal;

namespace {

bool reads_audit(const Principal& p) {
  return is_operator(p) || is_regulator(p) || p.has_platform_role(identity::Role::ca_officer);
}

json::object entry_json(const audit::Entry& e) {
  json::object o;
  o["index"] = e.idx;
  o["at"] = time_json(e.at_us);
  o["kind"] = e.kind;
  o["actor"] = id_or_null(e.actor);
  o["entry"] = e.entry;  // the exact leaf data
  o["leaf_hash"] = e.leaf_hash;
  auto parsed = parse_json(e.entry);
  o["data"] = parsed && parsed->is_object() && parsed->as_object().contains("data")
                  ? parsed->as_object().at("data")
                  : json::value(nullptr);
  return o;
}

json::object head_json(Services& s, const audit::Head& h) {
  json::object o;
  o["tree_size"] = h.tree_size;
  o["root_hash"] = h.root_hash;
  o["at"] = time_json(h.at_us);
  o["at_us"] = h.at_us;
  o["algorithm"] = h.algorithm;
  o["signer_serial"] = h.signer_serial;
  o["signer_certificate_url"] =
      (s.ca ? s.ca->base_url() : std::string()) + "/pki/certs/" + h.signer_serial + ".pem";
  o["signature"] = h.signature;
  o["signed_text"] = audit::head_text(h.tree_size, h.at_us, h.root_hash);
  return o;
}

Result<std::int64_t> int_param(const Request& req, std::string_view name, bool required,
                               std::int64_t fallback = 0) {
  auto v = req.query_param(name);
  if (!v) {
    if (required)
      return fail(Code::validation_failed, std::string(name) + " is required",
                  "/" + std::string(name));
    return fallback;
  }
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size() || n < 0)
    return fail(Code::validation_failed, std::string(name) + " is a non-negative integer",
                "/" + std::string(name));
  return n;
}

Reply entries(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  API_ASSIGN(auto page, read_page(req));
  std::optional<std::string> kind;
  if (auto k = req.query_param("kind")) {
    if (k->size() > 64)
      return http::problem(Error(Code::validation_failed, "kind is at most 64 bytes", "/kind"));
    kind = std::string(*k);
  }
  auto lease = s.store.reads().lease();
  // The cursor is the number of entries seen (the last index + 1), so it is never 0.
  API_ASSIGN(auto list, audit::list_entries(*lease, page.cursor.value_or(0) - 1, kind, page.limit));
  std::optional<std::int64_t> next;
  if (list.next_cursor) next = *list.next_cursor + 1;
  return ok_json(page_json(to_array(list.items, entry_json), next));
}

Reply entry(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  std::int64_t idx = 0;
  auto text = req.param("index");
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), idx);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return http::problem(Error(Code::not_found, "no such audit entry"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto e, audit::get_entry(*lease, idx));
  return ok_json(entry_json(e));
}

Reply heads(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  API_ASSIGN(auto page, read_page(req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, audit::list_heads(*lease, page.cursor.value_or(0), page.limit + 1));
  std::optional<std::int64_t> next;
  if (list.size() > page.limit) {
    list.resize(page.limit);
    next = list.back().tree_size;
  }
  return ok_json(
      page_json(to_array(list, [&](const audit::Head& h) { return head_json(s, h); }), next));
}

Reply latest(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto h, audit::latest_head(*lease));
  if (!h) return http::problem(Error(Code::not_found, "no tree head has been signed yet"));
  return ok_json(head_json(s, *h));
}

Reply inclusion(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  API_ASSIGN(auto idx, int_param(req, "index", true));
  API_ASSIGN(auto size, int_param(req, "tree_size", true));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto head, audit::get_head(*lease, size));
  API_ASSIGN(auto e, audit::get_entry(*lease, idx));
  API_ASSIGN(auto proof, audit::inclusion_proof(*lease, idx, size));
  json::object o;
  o["index"] = idx;
  o["tree_size"] = size;
  o["leaf_hash"] = e.leaf_hash;
  o["entry"] = e.entry;
  o["audit_path"] = to_array(proof, [](const std::string& h) { return json::value(h); });
  o["head"] = head_json(s, head);
  return ok_json(o);
}

Reply consistency(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!reads_audit(p)) return forbidden("regulators, operators and CA officers read the audit log");
  API_ASSIGN(auto first, int_param(req, "first", true));
  API_ASSIGN(auto second, int_param(req, "second", true));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto proof, audit::consistency_proof(*lease, first, second));
  API_ASSIGN(auto h1, audit::get_head(*lease, first));
  API_ASSIGN(auto h2, audit::get_head(*lease, second));
  json::object o;
  o["first"] = head_json(s, h1);
  o["second"] = head_json(s, h2);
  o["consistency"] = to_array(proof, [](const std::string& h) { return json::value(h); });
  return ok_json(o);
}

}  // namespace

void add_audit_routes(http::Router& router, Services& s) {
  auto bind = [&s](Reply (*f)(Services&, Request&)) {
    return [&s, f](Request& r) { return f(s, r); };
  };
  router.add(Method::get, "/api/v1/audit/entries", bind(entries));
  router.add(Method::get, "/api/v1/audit/entries/{index}", bind(entry));
  router.add(Method::get, "/api/v1/audit/heads", bind(heads));
  router.add(Method::get, "/api/v1/audit/heads/latest", bind(latest));
  router.add(Method::get, "/api/v1/audit/proofs/inclusion", bind(inclusion));
  router.add(Method::get, "/api/v1/audit/proofs/consistency", bind(consistency));
}

}  // namespace jishi::api
