// The CA hierarchy, issuing, revocation, CRLs and cross-certification.
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "core/crypto.h"
#include "pki/internal.h"

namespace jishi::pki {

using namespace ossl;

std::string_view name_of(Algorithm a) {
  switch (a) {
    case Algorithm::sm2:
      return "sm2";
    case Algorithm::p256:
      return "p256";
    case Algorithm::rsa3072:
      return "rsa3072";
  }
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view s) {
  if (s == "sm2") return Algorithm::sm2;
  if (s == "p256" || s == "ecdsa") return Algorithm::p256;
  if (s == "rsa3072" || s == "rsa") return Algorithm::rsa3072;
  return std::nullopt;
}

std::string_view name_of(Profile p) {
  switch (p) {
    case Profile::signing:
      return "signing";
    case Profile::tls_server:
      return "tls_server";
    case Profile::tsa:
      return "tsa";
    case Profile::ocsp:
      return "ocsp";
    case Profile::cross:
      return "cross";
  }
  return "?";
}

std::optional<Profile> parse_profile(std::string_view s) {
  for (auto p :
       {Profile::signing, Profile::tls_server, Profile::tsa, Profile::ocsp, Profile::cross})
    if (name_of(p) == s) return p;
  return std::nullopt;
}

namespace {
constexpr std::string_view kReasons[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", "",
    "removeFromCRL", "privilegeWithdrawn"};
constexpr std::string_view kCaKeyField = "pki.ca_key";
constexpr std::string_view kCustodialKeyField = "pki.custodial_key";
constexpr std::int64_t kDayUs = 86'400'000'000;
}  // namespace

std::optional<int> parse_reason(std::string_view s) {
  for (int i = 0; i < static_cast<int>(std::size(kReasons)); ++i)
    if (i != 7 && i != 8 && kReasons[i] == s) return i;
  return std::nullopt;
}

std::string_view reason_name(int code) {
  if (code < 0 || code >= static_cast<int>(std::size(kReasons))) return "unspecified";
  return kReasons[code];
}

namespace {

// A DNS name as certificates carry it: lower-case letters, digits, dots and hyphens (and a
// leading "*." wildcard where allowed), 1-253 bytes.
bool valid_dns_name(std::string_view d, bool wildcard) {
  if (wildcard && d.starts_with("*.")) d.remove_prefix(2);
  return !d.empty() && d.size() <= 253 &&
         d.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") == std::string_view::npos;
}

Integer random_serial() {
  std::string bytes = crypto::random_bytes(16);
  bytes[0] = static_cast<char>((bytes[0] & 0x7f) | 0x40);  // positive, a full 127 bits
  BigNum bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), 16, nullptr));
  return Integer(BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

Result<Name> make_name(const Subject& s) {
  Name n(X509_NAME_new());
  auto add = [&](const char* field, const std::string& v) {
    return X509_NAME_add_entry_by_txt(n.get(), field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(v.data()),
                                      static_cast<int>(v.size()), -1, 0) == 1;
  };
  bool ok = add("C", "CN");
  if (s.organization) ok = ok && add("O", *s.organization);
  if (s.serial_number) ok = ok && add("serialNumber", *s.serial_number);
  ok = ok && add("CN", s.common_name);
  if (!ok) return std::unexpected(ssl_fail(Code::validation_failed, "bad subject name"));
  return n;
}

void set_time(X509* x, std::int64_t from_us, std::int64_t to_us) {
  Time a(ASN1_TIME_set(nullptr, static_cast<time_t>(from_us / 1'000'000)));
  Time b(ASN1_TIME_set(nullptr, static_cast<time_t>(to_us / 1'000'000)));
  X509_set1_notBefore(x, a.get());
  X509_set1_notAfter(x, b.get());
}

struct CertSpec {
  X509_NAME* subject = nullptr;
  EVP_PKEY* public_key = nullptr;
  X509* issuer = nullptr;  // null: self-signed
  EVP_PKEY* issuer_key = nullptr;
  std::int64_t not_before_us = 0, not_after_us = 0;
  std::vector<std::pair<int, std::string>> exts;
  NAME_CONSTRAINTS* name_constraints = nullptr;  // borrowed
};

Result<Cert> build_cert(const CertSpec& s) {
  Cert x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  auto serial = random_serial();
  X509_set_serialNumber(x.get(), serial.get());
  X509_set_subject_name(x.get(), s.subject);
  X509_set_issuer_name(x.get(), s.issuer ? X509_get_subject_name(s.issuer) : s.subject);
  set_time(x.get(), s.not_before_us, s.not_after_us);
  X509_set_pubkey(x.get(), s.public_key);
  JISHI_TRY(add_ext(x.get(), s.issuer, NID_subject_key_identifier, "hash"));
  JISHI_TRY(add_ext(x.get(), s.issuer, NID_authority_key_identifier, "keyid:always"));
  for (const auto& [nid, value] : s.exts) JISHI_TRY(add_ext(x.get(), s.issuer, nid, value));
  if (s.name_constraints && X509_add1_ext_i2d(x.get(), NID_name_constraints, s.name_constraints, 1,
                                              X509V3_ADD_DEFAULT) != 1)
    return std::unexpected(ssl_fail(Code::internal, "cannot add name constraints"));
  JISHI_ASSIGN_OR_RETURN(auto ctx, sign_ctx(s.issuer_key));
  if (X509_sign_ctx(x.get(), ctx.md.get()) <= 0)
    return std::unexpected(ssl_fail(Code::internal, "cannot sign the certificate"));
  return x;
}

std::vector<std::pair<int, std::string>> leaf_exts(Profile p, EVP_PKEY* key,
                                                   const std::string& base_url,
                                                   const std::vector<std::string>& dns) {
  std::vector<std::pair<int, std::string>> e;
  e.emplace_back(NID_basic_constraints, "critical,CA:FALSE");
  switch (p) {
    case Profile::signing:
      e.emplace_back(NID_key_usage, "critical,digitalSignature,nonRepudiation");
      break;
    case Profile::tls_server: {
      e.emplace_back(NID_key_usage, EVP_PKEY_is_a(key, "RSA")
                                        ? "critical,digitalSignature,keyEncipherment"
                                        : "critical,digitalSignature");
      e.emplace_back(NID_ext_key_usage, "serverAuth");
      std::string san;
      for (const auto& d : dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
      e.emplace_back(NID_subject_alt_name, san);
      break;
    }
    case Profile::tsa:
      e.emplace_back(NID_key_usage, "critical,digitalSignature,nonRepudiation");
      e.emplace_back(NID_ext_key_usage, "critical,timeStamping");
      break;
    case Profile::ocsp:
      e.emplace_back(NID_key_usage, "critical,digitalSignature");
      e.emplace_back(NID_ext_key_usage, "OCSPSigning");
      e.emplace_back(NID_id_pkix_OCSP_noCheck, "ignored");
      return e;  // an OCSP responder's certificate is not itself checked by OCSP
    case Profile::cross:
      break;
  }
  e.emplace_back(NID_crl_distribution_points, "URI:" + base_url + "/pki/crl");
  e.emplace_back(NID_info_access, "OCSP;URI:" + base_url + "/pki/ocsp,caIssuers;URI:" + base_url +
                                      "/pki/issuing.crt");
  return e;
}

CertInfo read_cert(const store::Row& r) {
  CertInfo c;
  c.serial = r.str(0);
  c.profile = r.str(1);
  c.issuer = r.str(2);
  c.subject = r.str(3);
  c.algorithm = r.str(4);
  c.user_id = r.opt_i64(5);
  c.org_id = r.opt_i64(6);
  c.cert_pem = r.str(7);
  c.custodial = !r.is_null(8);
  c.not_before_us = r.i64(9);
  c.not_after_us = r.i64(10);
  c.status = r.str(11);
  c.revoked_at_us = r.opt_i64(12);
  c.revocation_reason = r.opt_str(13);
  c.created_at_us = r.i64(14);
  return c;
}

#define PKI_CERT_COLUMNS                                                                 \
  "serial, profile, issuer, subject, algorithm, user_id, org_id, cert_pem, key_sealed, " \
  "not_before_us, not_after_us, status, revoked_at_us, revocation_reason, created_at_us"

Status insert_cert(store::Tx& tx, X509* cert, std::string_view profile, std::string_view issuer,
                   std::string_view algorithm, std::optional<std::int64_t> user,
                   std::optional<std::int64_t> org, std::optional<std::string> key_sealed,
                   std::int64_t by, std::int64_t now) {
  JISHI_TRY(tx.exec(
      "INSERT INTO pki_certs (serial, profile, issuer, subject, algorithm, user_id, org_id, "
      "cert_pem, key_sealed, not_before_us, not_after_us, status, issued_by, created_at_us) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'good', $12, $13)",
      {serial_hex(cert), profile, issuer, name_text(X509_get_subject_name(cert)), algorithm, user,
       org, cert_to_pem(cert), key_sealed, asn1_time_to_unix_us(X509_get0_notBefore(cert)),
       asn1_time_to_unix_us(X509_get0_notAfter(cert)), by, now}));
  return {};
}

Result<Key> open_sealed_key(const FieldCipher& cipher, std::string_view field,
                            std::string_view sealed) {
  JISHI_ASSIGN_OR_RETURN(auto pem, cipher.decrypt(field, sealed));
  return key_from_pem(pem);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Authority::Authority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authority::~Authority() = default;

Result<std::unique_ptr<Authority>> Authority::load(store::Conn& conn, const FieldCipher& cipher) {
  auto impl = std::make_unique<Impl>();
  bool any = false;
  std::optional<Error> error;
  JISHI_TRY(conn.query("SELECT role, algorithm, cert_pem, key_sealed, base_url FROM pki_ca", {},
                       [&](const store::Row& r) {
                         any = true;
                         std::string role = r.str(0);
                         auto cert = cert_from_pem(r.text(2));
                         if (!cert) {
                           error = cert.error();
                           return false;
                         }
                         if (role == "root") {
                           impl->algorithm = parse_algorithm(r.text(1)).value_or(Algorithm::sm2);
                           impl->base_url = r.str(4);
                           impl->root = std::move(*cert);
                           impl->root_key_pem = r.str(3);
                           return true;
                         }
                         auto key = open_sealed_key(cipher, kCaKeyField, r.text(3));
                         if (!key) {
                           error = key.error();
                           return false;
                         }
                         Member* m = role == "issuing" ? &impl->issuing
                                     : role == "ocsp"  ? &impl->ocsp
                                     : role == "tsa"   ? &impl->tsa
                                                       : &impl->platform;
                         m->cert = std::move(*cert);
                         m->key = std::move(*key);
                         return true;
                       }));
  if (error) return std::unexpected(*error);
  if (!any) return std::unique_ptr<Authority>();
  if (!impl->root || !impl->issuing.cert || !impl->ocsp.cert || !impl->tsa.cert ||
      !impl->platform.cert)
    return fail(Code::storage_failure, "the CA in the database is incomplete");
  return std::unique_ptr<Authority>(new Authority(std::move(impl)));
}

Algorithm Authority::algorithm() const {
  return impl_->algorithm;
}
const std::string& Authority::base_url() const {
  return impl_->base_url;
}
void Authority::set_crl_hours(std::int64_t hours) {
  impl_->crl_hours = hours;
}
std::string Authority::root_pem() const {
  return cert_to_pem(impl_->root.get());
}
std::string Authority::issuing_pem() const {
  return cert_to_pem(impl_->issuing.cert.get());
}
std::string Authority::tsa_pem() const {
  return cert_to_pem(impl_->tsa.cert.get());
}
std::string Authority::ocsp_pem() const {
  return cert_to_pem(impl_->ocsp.cert.get());
}
std::string Authority::platform_pem() const {
  return cert_to_pem(impl_->platform.cert.get());
}

Status init_ca(store::Tx& tx, Env& env, const CaInit& init) {
  JISHI_ASSIGN_OR_RETURN(
      auto existing, tx.query_one("SELECT 1 FROM pki_ca", {}, [](const store::Row&) { return 1; }));
  if (existing) return fail(Code::already_exists, "this installation already has a CA");
  if (init.passphrase.size() < 12)
    return fail(Code::validation_failed, "the root key's passphrase needs at least 12 characters");
  if (init.organization.empty() || init.organization.size() > 64)
    return fail(Code::validation_failed, "the organisation name is 1-64 bytes");
  if (!init.base_url.starts_with("http://") && !init.base_url.starts_with("https://"))
    return fail(Code::validation_failed, "the base URL starts with http:// or https://");
  std::int64_t now = env.clock.now_us();
  std::int64_t from = now - 60'000'000;  // a minute of clock skew
  const std::string& org = init.organization;

  JISHI_ASSIGN_OR_RETURN(auto root_key, generate_key(init.algorithm));
  JISHI_ASSIGN_OR_RETURN(auto root_name, make_name({org + " Root CA", org, std::nullopt, {}}));
  CertSpec rs{
      root_name.get(), root_key.get(), nullptr, root_key.get(), from, now + 20 * 365 * kDayUs, {},
      nullptr};
  rs.exts = {{NID_basic_constraints, "critical,CA:TRUE"},
             {NID_key_usage, "critical,keyCertSign,cRLSign"}};
  JISHI_ASSIGN_OR_RETURN(auto root, build_cert(rs));

  JISHI_ASSIGN_OR_RETURN(auto issuing_key, generate_key(init.algorithm));
  JISHI_ASSIGN_OR_RETURN(auto issuing_name,
                         make_name({org + " Issuing CA", org, std::nullopt, {}}));
  CertSpec is{issuing_name.get(),
              issuing_key.get(),
              root.get(),
              root_key.get(),
              from,
              now + 10 * 365 * kDayUs,
              {},
              nullptr};
  is.exts = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
             {NID_key_usage, "critical,keyCertSign,cRLSign"}};
  JISHI_ASSIGN_OR_RETURN(auto issuing, build_cert(is));

  struct Leaf {
    std::string role, cn;
    Profile profile;
    Algorithm algorithm;
  };
  // TSA: ECDSA P-256 whatever the CA's algorithm (OpenSSL's RFC 3161 code signs through PKCS#7,
  // which cannot sign with SM2).
  std::vector<Leaf> leaves = {{"ocsp", org + " OCSP Responder", Profile::ocsp, init.algorithm},
                              {"tsa", org + " Timestamp Authority", Profile::tsa, Algorithm::p256},
                              {"platform", org + " Platform", Profile::signing, init.algorithm}};
  JISHI_ASSIGN_OR_RETURN(auto root_sealed, key_to_encrypted_pem(root_key.get(), init.passphrase));
  auto put = [&](std::string_view role, Algorithm a, X509* cert, const std::string& sealed) {
    return tx.exec(
        "INSERT INTO pki_ca (role, algorithm, serial, cert_pem, key_sealed, base_url, "
        "created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {role, name_of(a), serial_hex(cert), cert_to_pem(cert), sealed, init.base_url, now});
  };
  JISHI_TRY(put("root", init.algorithm, root.get(), root_sealed));
  JISHI_TRY(put("issuing", init.algorithm, issuing.get(),
                env.cipher.encrypt(kCaKeyField, key_to_pem(issuing_key.get()))));
  for (const auto& l : leaves) {
    JISHI_ASSIGN_OR_RETURN(auto key, generate_key(l.algorithm));
    JISHI_ASSIGN_OR_RETURN(auto name, make_name({l.cn, org, std::nullopt, {}}));
    CertSpec ls{name.get(),
                key.get(),
                issuing.get(),
                issuing_key.get(),
                from,
                now + 5 * 365 * kDayUs,
                leaf_exts(l.profile, key.get(), init.base_url, {}),
                nullptr};
    JISHI_ASSIGN_OR_RETURN(auto cert, build_cert(ls));
    JISHI_TRY(put(l.role, l.algorithm, cert.get(),
                  env.cipher.encrypt(kCaKeyField, key_to_pem(key.get()))));
    JISHI_TRY(insert_cert(tx, cert.get(), name_of(l.profile), "issuing", name_of(l.algorithm),
                          std::nullopt, std::nullopt, std::nullopt, 0, now));
  }
  // The first (empty) CRL, so /pki/crl answers from the start.
  JISHI_ASSIGN_OR_RETURN(auto loaded, Authority::load(tx, env.cipher));
  JISHI_TRY(loaded->issue_crl(tx, env));
  return {};
}

Result<CertInfo> Authority::issue(store::Tx& tx, Env& env, const IssueRequest& r) const {
  if (r.profile == Profile::cross)
    return fail(Code::validation_failed, "cross-certificates are issued by cross-certification",
                "/profile");
  if (r.subject.common_name.empty() || r.subject.common_name.size() > kNameBytesMax)
    return fail(Code::validation_failed, "the subject's name is missing or too long");
  if (r.days < 1 || r.days > 3 * 365)
    return fail(Code::validation_failed, "validity is 1 to 1095 days", "/days");
  if (r.profile == Profile::tls_server && r.subject.dns_names.empty())
    return fail(Code::validation_failed, "a TLS server certificate needs DNS names", "/dns_names");
  for (const auto& d : r.subject.dns_names)
    if (!valid_dns_name(d, true))
      return fail(Code::validation_failed,
                  "a DNS name is lower-case letters, digits, dots and hyphens (\"*.\" may lead)",
                  "/dns_names");
  Key key;
  Key generated;
  if (r.csr_pem) {
    ossl::Bio b(BIO_new_mem_buf(r.csr_pem->data(), static_cast<int>(r.csr_pem->size())));
    Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
    if (!req) {
      ERR_clear_error();
      return fail(Code::validation_failed, "not a PEM certificate request (PKCS#10)", "/csr");
    }
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    if (!pub || !algorithm_of(pub))
      return fail(Code::validation_failed,
                  "the request's key must be SM2, ECDSA P-256 or RSA of at least 2048 bits",
                  "/csr");
    if (is_sm2(pub)) {
      ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kSm2Id.data()),
                            static_cast<int>(kSm2Id.size()));
      X509_REQ_set0_distinguishing_id(req.get(), id);
    }
    if (X509_REQ_verify(req.get(), pub) != 1) {
      ERR_clear_error();
      return fail(Code::validation_failed,
                  is_sm2(pub) ? "the request's signature does not verify (sign SM2 requests with "
                                "the ID 1234567812345678: -sigopt distid:1234567812345678)"
                              : "the request's signature does not verify",
                  "/csr");
    }
    EVP_PKEY_up_ref(pub);
    key.reset(pub);
  } else {
    JISHI_ASSIGN_OR_RETURN(generated, generate_key(r.key_algorithm));
    EVP_PKEY_up_ref(generated.get());
    key.reset(generated.get());
  }
  std::int64_t now = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(auto name, make_name(r.subject));
  CertSpec s{name.get(),
             key.get(),
             impl_->issuing.cert.get(),
             impl_->issuing.key.get(),
             now - 60'000'000,
             now + r.days * kDayUs,
             leaf_exts(r.profile, key.get(), impl_->base_url, r.subject.dns_names),
             nullptr};
  JISHI_ASSIGN_OR_RETURN(auto cert, build_cert(s));
  std::optional<std::string> sealed;
  if (generated) sealed = env.cipher.encrypt(kCustodialKeyField, key_to_pem(generated.get()));
  auto algo = algorithm_of(key.get());
  JISHI_TRY(
      insert_cert(tx, cert.get(), name_of(r.profile), "issuing", algo ? name_of(*algo) : "other",
                  r.user ? std::optional(r.user->value) : std::nullopt,
                  r.org ? std::optional(r.org->value) : std::nullopt, sealed, r.by.value, now));
  return get_cert(tx, serial_hex(cert.get()));
}

Result<CertInfo> Authority::revoke(store::Tx& tx, Env& env, std::string_view serial, int reason,
                                   UserId by) const {
  std::int64_t now = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(auto cert, get_cert(tx, serial));
  if (cert.status == "revoked") return cert;  // asked twice: the first answer stands
  JISHI_TRY(tx.exec(
      "UPDATE pki_certs SET status = 'revoked', revoked_at_us = $2, revocation_reason = $3, "
      "revoked_by = $4 WHERE serial = $1 AND status = 'good'",
      {cert.serial, now, reason_name(reason), by.value}));
  JISHI_TRY(issue_crl(tx, env));
  return get_cert(tx, serial);
}

Result<std::int64_t> Authority::issue_crl(store::Tx& tx, Env& env) const {
  std::int64_t now = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(auto last, tx.query_one("SELECT COALESCE(MAX(number), 0) FROM pki_crls",
                                                 {}, [](const store::Row& r) { return r.i64(0); }));
  std::int64_t number = last.value_or(0) + 1;
  Crl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(impl_->issuing.cert.get()));
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now / 1'000'000)));
  std::int64_t next_us = now + impl_->crl_hours * 3'600'000'000;
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(next_us / 1'000'000)));
  X509_CRL_set1_lastUpdate(crl.get(), this_update.get());
  X509_CRL_set1_nextUpdate(crl.get(), next_update.get());
  std::int64_t count = 0;
  std::optional<Error> error;
  JISHI_TRY(
      tx.query("SELECT serial, revoked_at_us, revocation_reason FROM pki_certs "
               "WHERE status = 'revoked' AND issuer = 'issuing' ORDER BY serial",
               {}, [&](const store::Row& r) {
                 auto serial = serial_from_hex(r.text(0));
                 if (!serial) {
                   error = serial.error();
                   return false;
                 }
                 X509_REVOKED* rev = X509_REVOKED_new();
                 X509_REVOKED_set_serialNumber(rev, serial->get());
                 Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(r.i64(1) / 1'000'000)));
                 X509_REVOKED_set_revocationDate(rev, when.get());
                 int code = parse_reason(r.text(2)).value_or(0);
                 if (code != 0) {
                   Ptr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> e(ASN1_ENUMERATED_new());
                   ASN1_ENUMERATED_set(e.get(), code);
                   X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e.get(), 0, 0);
                 }
                 X509_CRL_add0_revoked(crl.get(), rev);
                 ++count;
                 return true;
               }));
  if (error) return std::unexpected(*error);
  Integer num(ASN1_INTEGER_new());
  ASN1_INTEGER_set_int64(num.get(), number);
  X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, num.get(), 0, 0);
  {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, impl_->issuing.cert.get(), nullptr, nullptr, crl.get(), 0);
    X509_EXTENSION* aki =
        X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    if (!aki) return std::unexpected(ssl_fail(Code::internal, "cannot build the CRL"));
    X509_CRL_add_ext(crl.get(), aki, -1);
    X509_EXTENSION_free(aki);
  }
  X509_CRL_sort(crl.get());
  JISHI_ASSIGN_OR_RETURN(auto ctx, sign_ctx(impl_->issuing.key.get()));
  if (X509_CRL_sign_ctx(crl.get(), ctx.md.get()) <= 0)
    return std::unexpected(ssl_fail(Code::internal, "cannot sign the CRL"));
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(crl.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), n > 0 ? static_cast<std::size_t>(n) : 0);
  OPENSSL_free(der);
  JISHI_TRY(tx.exec(
      "INSERT INTO pki_crls (number, der_base64, this_update_us, next_update_us, revoked_count) "
      "VALUES ($1, $2, $3, $4, $5)",
      {number, crypto::base64url(bytes), now, next_us, count}));
  JISHI_TRY(tx.exec("DELETE FROM pki_crls WHERE number < $1", {number - 100}));
  return number;
}

Result<bool> Authority::crl_due(store::Conn& conn, std::int64_t now_us) {
  JISHI_ASSIGN_OR_RETURN(
      auto row,
      conn.query_one("SELECT this_update_us, next_update_us FROM pki_crls "
                     "ORDER BY number DESC LIMIT 1",
                     {}, [](const store::Row& r) { return std::pair(r.i64(0), r.i64(1)); }));
  if (!row) return true;
  return now_us >= row->first + (row->second - row->first) / 2;
}

Result<std::string> Authority::current_crl(store::Conn& conn) {
  JISHI_ASSIGN_OR_RETURN(
      auto row, conn.query_one("SELECT der_base64 FROM pki_crls ORDER BY number DESC LIMIT 1", {},
                               [](const store::Row& r) { return r.str(0); }));
  if (!row) return fail(Code::not_found, "no CRL has been issued");
  auto der = crypto::unbase64url(*row);
  if (!der) return fail(Code::storage_failure, "a stored CRL is damaged");
  return *der;
}

Result<ExternalCa> Authority::import_external(store::Tx& tx, Env& env, std::string_view name,
                                              std::string_view cert_pem, UserId by) const {
  if (name.empty() || name.size() > kNameBytesMax)
    return fail(Code::validation_failed, "name is 1-128 bytes", "/name");
  JISHI_ASSIGN_OR_RETURN(auto cert, cert_from_pem(cert_pem));
  if (X509_check_ca(cert.get()) < 1)
    return fail(Code::validation_failed, "the certificate is not a CA certificate",
                "/certificate_pem");
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (!pub || !algorithm_of(pub))
    return fail(Code::validation_failed, "the CA's key must be SM2, ECDSA P-256 or RSA >= 2048",
                "/certificate_pem");
  if (X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_subject_name(impl_->root.get())) ==
      0)
    return fail(Code::validation_failed, "that is our own root's name", "/certificate_pem");
  std::int64_t id = env.ids.next();
  auto r = tx.exec(
      "INSERT INTO pki_external_cas (id, name, subject, fingerprint, cert_pem, imported_by, "
      "created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {id, name, name_text(X509_get_subject_name(cert.get())), fingerprint_sha256(cert.get()),
       cert_to_pem(cert.get()), by.value, env.clock.now_us()});
  if (!r && r.error().code == Code::already_exists)
    return fail(Code::already_exists, "this CA certificate is already imported");
  JISHI_TRY(r);
  JISHI_ASSIGN_OR_RETURN(auto all, list_external(tx));
  for (auto& e : all)
    if (e.id == id) return e;
  return fail(Code::internal, "imported CA vanished");
}

Result<CertInfo> Authority::cross_certify(store::Tx& tx, Env& env, const CrossCertify& r) const {
  if (r.path_length < 0 || r.path_length > 5)
    return fail(Code::validation_failed, "path_length is 0-5", "/path_length");
  if (r.days < 1 || r.days > 10 * 365)
    return fail(Code::validation_failed, "validity is 1 to 3650 days", "/days");
  ExternalCa ext;
  bool found = false;
  JISHI_ASSIGN_OR_RETURN(auto all, list_external(tx));
  for (auto& e : all)
    if (e.id == r.external_id) {
      ext = e;
      found = true;
    }
  if (!found) return fail(Code::not_found, "no such external CA");
  auto root_key = key_from_pem(impl_->root_key_pem, r.passphrase);
  if (!root_key) return fail(Code::forbidden, "the root key's passphrase is wrong", "/passphrase");
  JISHI_ASSIGN_OR_RETURN(auto their, cert_from_pem(ext.cert_pem));
  Ptr<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free> nc;
  if (!r.permitted_dns.empty() || !r.permitted_dirs.empty()) {
    nc.reset(NAME_CONSTRAINTS_new());
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    auto push = [&](GENERAL_NAME* gn) {
      GENERAL_SUBTREE* st = GENERAL_SUBTREE_new();
      GENERAL_NAME_free(st->base);
      st->base = gn;
      sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st);
    };
    for (const auto& d : r.permitted_dns) {
      if (!valid_dns_name(d, false))
        return fail(Code::validation_failed,
                    "a permitted DNS name is lower-case letters, digits, "
                    "dots and hyphens",
                    "/permitted_dns");
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      ASN1_STRING_set(s, d.data(), static_cast<int>(d.size()));
      GENERAL_NAME_set0_value(gn, GEN_DNS, s);
      push(gn);
    }
    for (const auto& d : r.permitted_dirs) {
      X509_NAME* n = X509_NAME_new();
      // "/C=CN/O=Partner": split on '/' and '='.
      std::size_t pos = 0;
      bool ok = !d.empty() && d[0] == '/';
      while (ok && pos < d.size()) {
        std::size_t next = d.find('/', pos + 1);
        std::string part =
            d.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        auto eq = part.find('=');
        ok =
            eq != std::string::npos && eq > 0 &&
            X509_NAME_add_entry_by_txt(n, part.substr(0, eq).c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(part.data() + eq + 1),
                                       static_cast<int>(part.size() - eq - 1), -1, 0) == 1;
        pos = next == std::string::npos ? d.size() : next;
      }
      if (!ok) {
        X509_NAME_free(n);
        ERR_clear_error();
        return fail(Code::validation_failed, "a permitted directory name looks like /C=CN/O=Name",
                    "/permitted_dirs");
      }
      GENERAL_NAME* gn = GENERAL_NAME_new();
      GENERAL_NAME_set0_value(gn, GEN_DIRNAME, n);
      push(gn);
    }
  }
  std::int64_t now = env.clock.now_us();
  CertSpec s{X509_get_subject_name(their.get()),
             X509_get0_pubkey(their.get()),
             impl_->root.get(),
             root_key->get(),
             now - 60'000'000,
             now + r.days * kDayUs,
             {},
             nc.get()};
  s.exts = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:" + std::to_string(r.path_length)},
            {NID_key_usage, "critical,keyCertSign,cRLSign"}};
  JISHI_ASSIGN_OR_RETURN(auto cert, build_cert(s));
  auto algo = algorithm_of(X509_get0_pubkey(their.get()));
  JISHI_TRY(insert_cert(tx, cert.get(), "cross", "root", algo ? name_of(*algo) : "other",
                        std::nullopt, std::nullopt, std::nullopt, r.by.value, now));
  JISHI_TRY(tx.exec("UPDATE pki_external_cas SET cross_serial = $2 WHERE id = $1",
                    {ext.id, serial_hex(cert.get())}));
  return get_cert(tx, serial_hex(cert.get()));
}

// ---------------------------------------------------------------------------------------------

Result<CertInfo> get_cert(store::Conn& conn, std::string_view serial) {
  std::string s(serial);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  JISHI_ASSIGN_OR_RETURN(
      auto row, conn.query_one("SELECT " PKI_CERT_COLUMNS " FROM pki_certs WHERE serial = $1", {s},
                               read_cert));
  if (!row) return fail(Code::not_found, "no such certificate");
  return *row;
}

Result<std::optional<CertStatus>> cert_status(store::Conn& conn, std::string_view serial) {
  return conn.query_one(
      "SELECT status, revoked_at_us, revocation_reason FROM pki_certs WHERE serial = $1", {serial},
      [](const store::Row& r) {
        CertStatus s;
        s.revoked = r.text(0) == "revoked";
        s.revoked_at_us = r.opt_i64(1).value_or(0);
        s.reason = r.is_null(2) ? 0 : parse_reason(r.text(2)).value_or(0);
        return s;
      });
}

Result<Page<CertInfo>> list_certs(store::Conn& conn, std::optional<UserId> user,
                                  std::optional<OrgId> org, std::int64_t before,
                                  std::size_t limit) {
  Page<CertInfo> page;
  std::int64_t cursor = before > 0 ? before : std::numeric_limits<std::int64_t>::max();
  auto holder = holder_filter(user, org);
  std::string sql = "SELECT " PKI_CERT_COLUMNS " FROM pki_certs WHERE created_at_us < $1" +
                    holder.clause + " ORDER BY created_at_us DESC LIMIT $3";
  JISHI_TRY(conn.query(sql, {cursor, holder.who, static_cast<std::int64_t>(limit + 1)},
                       [&](const store::Row& r) {
                         page.items.push_back(read_cert(r));
                         return true;
                       }));
  trim_page(page, limit, [](const CertInfo& c) { return c.created_at_us; });
  return page;
}

Result<std::vector<ExternalCa>> list_external(store::Conn& conn) {
  std::vector<ExternalCa> out;
  JISHI_TRY(conn.query(
      "SELECT id, name, subject, fingerprint, cert_pem, cross_serial, created_at_us "
      "FROM pki_external_cas ORDER BY id LIMIT 1000",
      {}, [&](const store::Row& r) {
        out.push_back({r.i64(0), r.str(1), r.str(2), r.str(3), r.str(4), r.opt_str(5), r.i64(6)});
        return true;
      }));
  return out;
}

Result<std::vector<std::string>> cross_cert_pems(store::Conn& conn) {
  std::vector<std::string> out;
  JISHI_TRY(conn.query(
      "SELECT cert_pem FROM pki_certs WHERE profile = 'cross' AND status = 'good' LIMIT 1000", {},
      [&](const store::Row& r) {
        out.push_back(r.str(0));
        return true;
      }));
  return out;
}

HolderFilter holder_filter(std::optional<UserId> user, std::optional<OrgId> org) {
  if (user) return {" AND user_id = $2", user->value};
  if (org) return {" AND org_id = $2", org->value};
  return {" AND $2 IS NULL", std::nullopt};
}

Result<Key> custodial_key(store::Conn& conn, const FieldCipher& cipher, std::string_view serial) {
  JISHI_ASSIGN_OR_RETURN(
      auto sealed, conn.query_one("SELECT key_sealed FROM pki_certs WHERE serial = $1", {serial},
                                  [](const store::Row& r) { return r.opt_str(0); }));
  if (!sealed || !*sealed) return fail(Code::invalid_state, "the platform holds no key for it");
  return open_sealed_key(cipher, kCustodialKeyField, **sealed);
}

}  // namespace jishi::pki
