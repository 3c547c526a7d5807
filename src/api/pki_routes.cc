// The certification authority over HTTP: the public URLs (CA certificates, CRL, OCSP, TSA),
// certificates for people and merchants, CA officer operations, signatures and their
// verification.
#include <boost/json.hpp>
#include <charconv>

#include "api/audit_log.h"
#include "api/common.h"
#include "api/routes.h"
#include "core/json.h"
#include "core/limits.h"
#include "identity/orgs.h"
#include "identity/users.h"
#include "pki/pki.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;
using identity::Role;

namespace {

constexpr std::size_t kPemBytesMax = 16 << 10;
constexpr std::size_t kOcspRequestBytesMax = 8 << 10;
constexpr std::size_t kTsaQueryBytesMax = 4 << 10;
constexpr std::size_t kNameMax = 128;

// The CA, or a 503 telling the operator what to do.
Result<const pki::Authority*> ca_of(Services& s) {
  if (!s.ca)
    return fail(Code::unavailable,
                "this installation has no certification authority yet: run `jishi ca init`");
  return s.ca;
}

Response raw(std::string body, std::string content_type, int status = 200) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

bool is_ca_officer(const Principal& p) {
  return p.has_platform_role(Role::ca_officer);
}

json::object cert_json(const pki::CertInfo& c) {
  json::object o;
  o["serial"] = c.serial;
  o["profile"] = c.profile;
  o["issuer"] = c.issuer;
  o["subject"] = c.subject;
  o["algorithm"] = c.algorithm;
  o["user_id"] = id_or_null(c.user_id);
  o["org_id"] = id_or_null(c.org_id);
  o["custodial"] = c.custodial;
  o["not_before"] = time_json(c.not_before_us);
  o["not_after"] = time_json(c.not_after_us);
  o["status"] = c.status;
  o["revoked_at"] = time_or_null(c.revoked_at_us);
  o["revocation_reason"] = json_or_null(c.revocation_reason);
  o["created_at"] = time_json(c.created_at_us);
  o["certificate_pem"] = c.cert_pem;
  return o;
}

json::object external_json(const pki::ExternalCa& e) {
  json::object o;
  o["id"] = std::to_string(e.id);
  o["name"] = e.name;
  o["subject"] = e.subject;
  o["fingerprint_sha256"] = e.fingerprint;
  o["cross_certificate_serial"] = json_or_null(e.cross_serial);
  o["created_at"] = time_json(e.created_at_us);
  o["certificate_pem"] = e.cert_pem;
  return o;
}

json::object signature_json(const pki::Signature& sig, bool with_package) {
  json::object o;
  o["id"] = std::to_string(sig.id);
  o["signer_serial"] = sig.signer_serial;
  o["user_id"] = id_or_null(sig.user_id);
  o["org_id"] = id_or_null(sig.org_id);
  o["document_name"] = sig.document_name;
  o["document_sha256"] = sig.document_sha256;
  o["document_size"] = sig.document_size;
  o["subject_ref"] = json_or_null(sig.subject_ref);
  o["algorithm"] = sig.algorithm;
  o["created_at"] = time_json(sig.created_at_us);
  if (with_package) {
    auto pkg = parse_json(sig.package);
    o["package"] = pkg ? *pkg : json::value(nullptr);
  }
  return o;
}

json::object verification_json(const pki::Verification& v) {
  json::object o;
  o["valid"] = v.ok;
  json::array checks;
  for (const auto& [name, result] : v.checks)
    checks.push_back(
        json::object{{"check", name}, {"ok", result.starts_with("ok")}, {"detail", result}});
  o["checks"] = std::move(checks);
  o["signer_subject"] = v.signer_subject;
  o["signer_serial"] = v.signer_serial;
  o["algorithm"] = v.algorithm;
  o["signing_time"] = time_or_null(v.signing_time_us);
  o["timestamp"] = time_or_null(v.timestamp_us);
  return o;
}

// Up to 20 strings of at most 256 bytes (what they must look like is checked by pki).
Result<std::vector<std::string>> string_list(FieldReader& f, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = f.value(key, false);
  if (!v) return out;
  if (!v->is_array() || v->as_array().size() > 20)
    return fail(Code::validation_failed, std::string(key) + " is an array of up to 20 strings",
                "/" + std::string(key));
  for (const auto& x : v->as_array()) {
    if (!x.is_string() || x.as_string().size() > 256)
      return fail(Code::validation_failed, std::string(key) + " is an array of strings",
                  "/" + std::string(key));
    out.emplace_back(x.as_string());
  }
  return out;
}

// --- public URLs ----------------------------------------------------------------------------

Reply root_crt(Services& s, Request&) {
  API_ASSIGN(auto ca, ca_of(s));
  return raw(ca->root_pem(), "application/x-pem-file");
}

Reply issuing_crt(Services& s, Request&) {
  API_ASSIGN(auto ca, ca_of(s));
  return raw(ca->issuing_pem(), "application/x-pem-file");
}

Reply crl(Services& s, Request&) {
  API_CHECK(ca_of(s));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto der, pki::Authority::current_crl(*lease));
  return raw(std::move(der), "application/pkix-crl");
}

Response ocsp_answer(Services& s, const pki::Authority& ca, std::string_view der) {
  auto lease = s.store.reads().lease();
  std::string answer = ca.ocsp_respond(
      der, s.env.clock.now_us(), [&](const std::string& serial) -> std::optional<pki::CertStatus> {
        auto st = pki::cert_status(*lease, serial);
        return st ? *st : std::nullopt;
      });
  Response r = raw(std::move(answer), "application/ocsp-response");
  r.headers.emplace_back("Cache-Control", "max-age=60");
  return r;
}

Reply ocsp_post(Services& s, Request& req) {
  API_ASSIGN(auto ca, ca_of(s));
  auto ct = req.header("content-type");
  if (!ct || !ct->starts_with("application/ocsp-request"))
    return http::problem(
        Error(Code::unsupported_media_type, "send an OCSP request as application/ocsp-request"));
  if (req.body.size() > kOcspRequestBytesMax)
    return http::problem(Error(Code::body_too_large, "an OCSP request is at most 8 KiB"));
  return ocsp_answer(s, *ca, req.body);
}

Reply ocsp_get(Services& s, Request& req) {
  API_ASSIGN(auto ca, ca_of(s));
  // RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}. The
  // router has percent-decoded the segment already.
  auto text = http::percent_decode(req.param("request"));
  if (text && text->size() > kOcspRequestBytesMax * 2)
    return http::problem(Error(Code::body_too_large, "an OCSP request is at most 8 KiB"));
  auto der = text ? pki::base64_decode(*text) : std::nullopt;
  if (!der) return raw(std::string("\x30\x03\x0a\x01\x01", 5), "application/ocsp-response");
  return ocsp_answer(s, *ca, *der);
}

Reply tsa(Services& s, Request& req) {
  API_ASSIGN(auto ca, ca_of(s));
  auto ct = req.header("content-type");
  if (!ct || !ct->starts_with("application/timestamp-query"))
    return http::problem(Error(Code::unsupported_media_type,
                               "send an RFC 3161 request as application/timestamp-query"));
  if (req.body.size() > kTsaQueryBytesMax)
    return http::problem(Error(Code::body_too_large, "a timestamp request is at most 4 KiB"));
  std::string answer = ca->timestamp(req.body, s.env.clock.now_us());
  if (answer.empty()) return http::problem(Error(Code::internal, "the timestamp authority failed"));
  return raw(std::move(answer), "application/timestamp-reply");
}

Reply public_cert(Services& s, Request& req) {
  API_CHECK(ca_of(s));
  std::string name(req.param("name"));
  if (!name.ends_with(".pem")) return http::problem(Error(Code::not_found, "no such certificate"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto c, pki::get_cert(*lease, name.substr(0, name.size() - 4)));
  return raw(c.cert_pem, "application/x-pem-file");
}

Reply ca_info(Services& s, Request&) {
  API_ASSIGN(auto ca, ca_of(s));
  json::object o;
  o["algorithm"] = pki::name_of(ca->algorithm());
  o["base_url"] = ca->base_url();
  o["root_pem"] = ca->root_pem();
  o["issuing_pem"] = ca->issuing_pem();
  o["ocsp_pem"] = ca->ocsp_pem();
  o["tsa_pem"] = ca->tsa_pem();
  o["platform_pem"] = ca->platform_pem();
  o["urls"] = json::object{{"root", ca->base_url() + "/pki/root.crt"},
                           {"issuing", ca->base_url() + "/pki/issuing.crt"},
                           {"crl", ca->base_url() + "/pki/crl"},
                           {"ocsp", ca->base_url() + "/pki/ocsp"},
                           {"tsa", ca->base_url() + "/pki/tsa"}};
  return ok_json(o);
}

// --- certificates ---------------------------------------------------------------------------

struct KeyChoice {
  std::optional<std::string> csr;
  pki::Algorithm algorithm = pki::Algorithm::sm2;
};

Result<KeyChoice> read_key_choice(FieldReader& f, const pki::Authority& ca) {
  KeyChoice k;
  k.csr = f.optional_string("csr", kPemBytesMax, FieldReader::Trim::no);
  auto algo = f.optional_string("algorithm", 16);
  k.algorithm = ca.algorithm();
  if (algo) {
    auto a = pki::parse_algorithm(*algo);
    if (!a) return fail(Code::validation_failed, "algorithm is sm2, p256 or rsa3072", "/algorithm");
    k.algorithm = *a;
  }
  if (k.csr && algo)
    return fail(Code::validation_failed, "give a csr or an algorithm for a custodial key, not both",
                "/algorithm");
  return k;
}

Response issued(Services& s, store::Tx& tx, const pki::CertInfo& c,
                std::optional<std::int64_t> by) {
  json::object a{{"serial", c.serial},
                 {"profile", c.profile},
                 {"subject", c.subject},
                 {"custodial", c.custodial}};
  auto logged = audit_log(tx, s, "pki.certificate_issued", by, a);
  if (!logged) return http::problem(logged.error());
  return ok_json(cert_json(c), 201);
}

Reply my_cert_create(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!p.is_user()) return forbidden("certificates are for people and organisations, not API keys");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto key, read_key_choice(f, *ca));
  API_CHECK(f.finish());
  std::optional<std::string> name;
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(name, identity::get_real_name(*lease, s.env, p.user));
  }
  if (!name)
    return http::problem(
        Error(Code::invalid_state, "verify your real name first: a certificate names its holder"));
  pki::IssueRequest r;
  r.profile = pki::Profile::signing;
  r.subject = {*name, std::nullopt, std::nullopt, {}};
  r.csr_pem = key.csr;
  r.key_algorithm = key.algorithm;
  r.user = p.user;
  r.by = p.user;
  return Reply::write([&s, ca, r, user = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto c, ca->issue(tx, s.env, r));
    return issued(s, tx, c, user.value);
  });
}

Reply my_certs(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("API keys hold no certificates");
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pki::list_certs(c, p.user, std::nullopt, cursor, limit);
      },
      cert_json);
}

Result<identity::Org> org_for_certs(Services& s, const Principal& p, const Request& req,
                                    bool manage) {
  JISHI_ASSIGN_OR_RETURN(auto id, path_id(req, "id"));
  OrgId org{id};
  bool allowed = manage
                     ? p.has_role_in(org, {Role::seller_admin, Role::org_admin})
                     : p.is_member_of(org) || is_ca_officer(p) || is_operator(p) || is_regulator(p);
  if (!allowed) return fail(Code::not_found, "no such organisation");
  auto lease = s.store.reads().lease();
  JISHI_ASSIGN_OR_RETURN(auto o, identity::get_org(*lease, org));
  if (!o) return fail(Code::not_found, "no such organisation");
  return *o;
}

Reply org_cert_create(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  API_ASSIGN(auto org, org_for_certs(s, p, req, true));
  if (org.status != identity::OrgStatus::approved)
    return http::problem(
        Error(Code::invalid_state, "certificates are issued once the organisation is approved"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto key, read_key_choice(f, *ca));
  auto profile_name = f.optional_string("profile", 16).value_or("signing");
  API_ASSIGN(auto dns, string_list(f, "dns_names"));
  API_CHECK(f.finish());
  auto profile = pki::parse_profile(profile_name);
  if (!profile || (*profile != pki::Profile::signing && *profile != pki::Profile::tls_server))
    return http::problem(
        Error(Code::validation_failed, "profile is signing or tls_server", "/profile"));
  pki::IssueRequest r;
  r.profile = *profile;
  r.subject = {org.name, org.name, org.credit_code, dns};
  r.csr_pem = key.csr;
  r.key_algorithm = key.algorithm;
  r.org = org.id;
  r.by = p.user;
  return Reply::write([&s, ca, r, user = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto c, ca->issue(tx, s.env, r));
    return issued(s, tx, c, user.value);
  });
}

Reply org_certs(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org, org_for_certs(s, p, req, false));
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pki::list_certs(c, std::nullopt, org.id, cursor, limit);
      },
      cert_json);
}

// Who may see or revoke a certificate: its holder (the person, or the organisation's admins),
// CA officers; operators and regulators may see.
bool holds(const Principal& p, const pki::CertInfo& c, bool manage) {
  if (is_ca_officer(p)) return true;
  if (!manage && (is_operator(p) || is_regulator(p))) return true;
  if (c.user_id && p.is_user() && p.user.value == *c.user_id) return true;
  if (c.org_id)
    return manage ? p.has_role_in(OrgId{*c.org_id}, {Role::seller_admin, Role::org_admin})
                  : p.is_member_of(OrgId{*c.org_id});
  return false;
}

Reply cert_get(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto c, pki::get_cert(*lease, req.param("serial")));
  if (!holds(p, c, false)) return http::problem(Error(Code::not_found, "no such certificate"));
  return ok_json(cert_json(c));
}

Reply cert_revoke(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto reason_name = f.optional_string("reason", 32).value_or("unspecified");
  API_CHECK(f.finish());
  auto reason = pki::parse_reason(reason_name);
  if (!reason)
    return http::problem(Error(Code::validation_failed,
                               "reason is an RFC 5280 reason: unspecified, keyCompromise, "
                               "affiliationChanged, superseded, cessationOfOperation, "
                               "privilegeWithdrawn",
                               "/reason"));
  std::string serial(req.param("serial"));
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(auto c, pki::get_cert(*lease, serial));
    if (!holds(p, c, true)) return http::problem(Error(Code::not_found, "no such certificate"));
    if (c.issuer != "issuing" || c.profile == "ocsp" || c.profile == "tsa") {
      if (!is_ca_officer(p)) return forbidden("only a CA officer revokes this certificate");
    }
  }
  return Reply::write([&s, ca, serial, reason = *reason, by = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto c, ca->revoke(tx, s.env, serial, reason, by));
    API_CHECK(audit_log(tx, s, "pki.certificate_revoked", by.value,
                        json::object{{"serial", c.serial},
                                     {"reason", c.revocation_reason.value_or("unspecified")}}));
    return ok_json(cert_json(c));
  });
}

Reply all_certs(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_ca_officer(p) && !is_operator(p) && !is_regulator(p))
    return forbidden("CA officers, operators and regulators list certificates");
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pki::list_certs(c, std::nullopt, std::nullopt, cursor, limit);
      },
      cert_json);
}

Reply officer_issue(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!is_ca_officer(p)) return forbidden("CA officers issue certificates by hand");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto key, read_key_choice(f, *ca));
  auto profile = pki::parse_profile(f.string("profile", 16));
  pki::IssueRequest r;
  r.subject.common_name = f.string("common_name", kNameMax);
  r.subject.organization = f.optional_string("organization", kNameMax);
  r.subject.serial_number = f.optional_string("serial_number", 64);
  r.days = static_cast<int>(f.optional_integer("days", 1, 1095).value_or(365));
  API_ASSIGN(r.subject.dns_names, string_list(f, "dns_names"));
  API_CHECK(f.finish());
  if (!profile || *profile == pki::Profile::cross)
    return http::problem(
        Error(Code::validation_failed, "profile is signing, tls_server, tsa or ocsp", "/profile"));
  r.profile = *profile;
  r.csr_pem = key.csr;
  r.key_algorithm = key.algorithm;
  r.by = p.user;
  return Reply::write([&s, ca, r, by = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto c, ca->issue(tx, s.env, r));
    return issued(s, tx, c, by.value);
  });
}

Reply officer_crl(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!is_ca_officer(p)) return forbidden("CA officers issue CRLs");
  return Reply::write([&s, ca](store::Tx& tx) -> Response {
    API_ASSIGN(auto n, ca->issue_crl(tx, s.env));
    return ok_json(json::object{{"number", n}}, 201);
  });
}

Reply crl_status(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_CHECK(ca_of(s));
  if (!is_ca_officer(p) && !is_operator(p) && !is_regulator(p))
    return forbidden("CA officers, operators and regulators read the CRL status");
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto due, pki::Authority::crl_due(*lease, s.env.clock.now_us()));
  API_ASSIGN(auto der, pki::Authority::current_crl(*lease));
  json::object o;
  o["size_bytes"] = static_cast<std::int64_t>(der.size());
  o["renewal_due"] = due;
  o["url"] = s.ca->base_url() + "/pki/crl";
  return ok_json(o);
}

Reply externals(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_ca_officer(p) && !is_operator(p) && !is_regulator(p))
    return forbidden("CA officers, operators and regulators list external CAs");
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, pki::list_external(*lease));
  return ok_json(page_json(to_array(list, external_json), std::nullopt));
}

Reply external_import(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!is_ca_officer(p)) return forbidden("CA officers import external CAs");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string name = f.string("name", kNameMax);
  std::string pem = f.string("certificate_pem", kPemBytesMax, FieldReader::Trim::no);
  API_CHECK(f.finish());
  return Reply::write([&s, ca, name, pem, by = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto e, ca->import_external(tx, s.env, name, pem, by));
    API_CHECK(audit_log(tx, s, "pki.external_ca_imported", by.value,
                        json::object{{"id", std::to_string(e.id)},
                                     {"subject", e.subject},
                                     {"fingerprint_sha256", e.fingerprint}}));
    return ok_json(external_json(e), 201);
  });
}

Reply cross_certify(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!is_ca_officer(p)) return forbidden("CA officers cross-certify");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  pki::CrossCertify r;
  r.external_id = id;
  r.passphrase = f.string("passphrase", 256, FieldReader::Trim::no);
  r.path_length = static_cast<int>(f.optional_integer("path_length", 0, 5).value_or(0));
  r.days = static_cast<int>(f.optional_integer("days", 1, 3650).value_or(3 * 365));
  API_ASSIGN(r.permitted_dns, string_list(f, "permitted_dns"));
  API_ASSIGN(r.permitted_dirs, string_list(f, "permitted_dirs"));
  API_CHECK(f.finish());
  r.by = p.user;
  return Reply::on_cpu([&s, ca, r]() -> Reply {  // the root key's PBKDF2 is slow on purpose
    return Reply::write([&s, ca, r](store::Tx& tx) -> Response {
      API_ASSIGN(auto c, ca->cross_certify(tx, s.env, r));
      API_CHECK(audit_log(tx, s, "pki.cross_certified", r.by.value,
                          json::object{{"serial", c.serial},
                                       {"subject", c.subject},
                                       {"external_id", std::to_string(r.external_id)}}));
      return ok_json(cert_json(c), 201);
    });
  });
}

// --- signatures -----------------------------------------------------------------------------

Reply sign(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto ca, ca_of(s));
  if (!p.is_user()) return forbidden("API keys do not hold signing keys");
  auto ct = req.header("content-type");
  if (!ct || !ct->starts_with("application/octet-stream"))
    return http::problem(Error(Code::unsupported_media_type,
                               "send the document itself as application/octet-stream"));
  pki::SignRequest r;
  r.serial = std::string(req.query_param("certificate_serial").value_or(""));
  r.document_name = std::string(req.query_param("document_name").value_or(""));
  if (auto ref = req.query_param("subject_ref")) r.subject_ref = std::string(*ref);
  if (r.subject_ref && r.subject_ref->size() > 128)
    return http::problem(
        Error(Code::validation_failed, "subject_ref is at most 128 bytes", "/subject_ref"));
  r.document = req.body;
  r.by = p.user;
  if (r.serial.empty())
    return http::problem(
        Error(Code::validation_failed, "certificate_serial is required", "/certificate_serial"));
  if (r.serial == "platform") {
    if (!is_operator(p)) return forbidden("operators sign with the platform's certificate");
  } else {
    auto lease = s.store.reads().lease();
    API_ASSIGN(auto c, pki::get_cert(*lease, r.serial));
    bool own = c.user_id ? p.user.value == *c.user_id
                         : c.org_id && p.has_role_in(OrgId{*c.org_id},
                                                     {Role::seller_admin, Role::org_admin});
    if (!own) return http::problem(Error(Code::not_found, "no such certificate"));
    if (!c.custodial)
      return http::problem(Error(Code::invalid_state,
                                 "the platform does not hold this certificate's key: sign with "
                                 "your own key and verify here"));
    r.serial = c.serial;
  }
  return Reply::write([&s, ca, r](store::Tx& tx) -> Response {
    API_ASSIGN(auto sig, ca->sign(tx, s.env, r));
    API_CHECK(audit_log(tx, s, "pki.document_signed", r.by.value,
                        json::object{{"signature_id", std::to_string(sig.id)},
                                     {"signer_serial", sig.signer_serial},
                                     {"document_sha256", sig.document_sha256},
                                     {"subject_ref", json_or_null(sig.subject_ref)}}));
    return ok_json(signature_json(sig, true), 201);
  });
}

bool sees_signature(const Principal& p, const pki::Signature& sig) {
  if (is_operator(p) || is_regulator(p) || is_ca_officer(p)) return true;
  if (sig.user_id && p.is_user() && p.user.value == *sig.user_id) return true;
  return sig.org_id && p.is_member_of(OrgId{*sig.org_id});
}

Reply signature_get(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto sig, pki::get_signature(*lease, id));
  if (!sees_signature(p, sig)) return http::problem(Error(Code::not_found, "no such signature"));
  return ok_json(signature_json(sig, true));
}

Reply signature_package(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto sig, pki::get_signature(*lease, id));
  if (!sees_signature(p, sig)) return http::problem(Error(Code::not_found, "no such signature"));
  Response r = raw(sig.package, "application/json");
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"evidence-" + std::to_string(sig.id) + ".json\"");
  return r;
}

Reply signatures(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!p.is_user()) return forbidden("API keys hold no signatures");
  std::optional<OrgId> org;
  if (auto o = req.query_param("org_id")) {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(o->data(), o->data() + o->size(), v);
    if (ec != std::errc() || ptr != o->data() + o->size() || !p.is_member_of(OrgId{v}))
      return http::problem(Error(Code::not_found, "no such organisation"));
    org = OrgId{v};
  }
  return list_response(
      s, req,
      [&](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return pki::list_signatures(c, org ? std::nullopt : std::optional(p.user), org, cursor,
                                    limit);
      },
      [](const pki::Signature& sig) { return signature_json(sig, false); });
}

Reply verify(Services& s, Request& req) {
  API_ASSIGN(auto ca, ca_of(s));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  const auto* pkg = f.value("package", true);
  auto doc_b64 =
      f.optional_string("document_base64", limits::json_string_bytes_max, FieldReader::Trim::no);
  API_CHECK(f.finish());
  std::string package = pkg->is_string() ? std::string(pkg->as_string()) : json::serialize(*pkg);
  std::optional<std::string> document;
  if (doc_b64) {
    document = pki::base64_decode(*doc_b64);
    if (!document)
      return http::problem(
          Error(Code::validation_failed, "document_base64 is not base64", "/document_base64"));
  }
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto crosses, pki::cross_cert_pems(*lease));
  crosses.push_back(ca->issuing_pem());
  auto v = pki::verify_package(package, document, {ca->root_pem()}, crosses);
  if (!v.signer_serial.empty()) {
    API_ASSIGN(auto st, pki::cert_status(*lease, v.signer_serial));
    pki::check_revocation_now(v, st);
  }
  return ok_json(verification_json(v));
}

// Path validation for partners: a certificate (ours, or an external CA's leaf) against our root,
// through our issuing CA, our cross-certificates and the chain given.
Reply validate(Services& s, Request& req) {
  API_ASSIGN(auto ca, ca_of(s));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  std::string leaf = f.string("certificate_pem", kPemBytesMax, FieldReader::Trim::no);
  auto chain = f.optional_string("chain_pem", 4 * kPemBytesMax, FieldReader::Trim::no);
  API_CHECK(f.finish());
  if (pki::fingerprint_of_pem(leaf).empty())
    return http::problem(
        Error(Code::validation_failed, "not a PEM certificate", "/certificate_pem"));
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto untrusted, pki::cross_cert_pems(*lease));
  untrusted.push_back(ca->issuing_pem());
  if (chain) untrusted.push_back(*chain);
  auto path = pki::validate_path(leaf, {ca->root_pem()}, untrusted, 0);
  json::object o;
  o["valid"] = path.has_value();
  o["path"] =
      path ? to_array(*path, [](const std::string& n) { return json::value(n); }) : json::array();
  o["detail"] = path ? json::value(nullptr) : json::value(path.error().detail);
  return ok_json(o);
}

}  // namespace

void add_pki_routes(http::Router& router, Services& s) {
  auto bind = [&s](Reply (*f)(Services&, Request&)) {
    return [&s, f](Request& r) { return f(s, r); };
  };
  router.add(Method::get, "/pki/root.crt", bind(root_crt));
  router.add(Method::get, "/pki/issuing.crt", bind(issuing_crt));
  router.add(Method::get, "/pki/crl", bind(crl));
  router.add(Method::post, "/pki/ocsp", bind(ocsp_post));
  router.add(Method::get, "/pki/ocsp/{request}", bind(ocsp_get));
  router.add(Method::post, "/pki/tsa", bind(tsa));
  router.add(Method::get, "/pki/certs/{name}", bind(public_cert));
  router.add(Method::get, "/api/v1/pki/ca", bind(ca_info));
  router.add(Method::post, "/api/v1/pki/validate", bind(validate));
  router.add(Method::get, "/api/v1/pki/certificates", bind(all_certs));
  router.add(Method::post, "/api/v1/pki/certificates", bind(officer_issue));
  router.add(Method::post, "/api/v1/pki/crl", bind(officer_crl));
  router.add(Method::get, "/api/v1/pki/crl", bind(crl_status));
  router.add(Method::get, "/api/v1/pki/external-cas", bind(externals));
  router.add(Method::post, "/api/v1/pki/external-cas", bind(external_import));
  router.add(Method::post, "/api/v1/pki/external-cas/{id}/cross-certificate", bind(cross_certify));
  router.add(Method::get, "/api/v1/me/certificates", bind(my_certs));
  router.add(Method::post, "/api/v1/me/certificates", bind(my_cert_create));
  router.add(Method::get, "/api/v1/orgs/{id}/certificates", bind(org_certs));
  router.add(Method::post, "/api/v1/orgs/{id}/certificates", bind(org_cert_create));
  router.add(Method::get, "/api/v1/certificates/{serial}", bind(cert_get));
  router.add(Method::post, "/api/v1/certificates/{serial}/revoke", bind(cert_revoke));
  router.add(Method::post, "/api/v1/signatures", bind(sign));
  router.add(Method::get, "/api/v1/signatures", bind(signatures));
  router.add(Method::get, "/api/v1/signatures/{id}", bind(signature_get));
  router.add(Method::get, "/api/v1/signatures/{id}/package", bind(signature_package));
  router.add(Method::post, "/api/v1/signatures/verify", bind(verify));
}

}  // namespace jishi::api
