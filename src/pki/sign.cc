// Detached CMS signatures with an RFC 3161 signature timestamp, the evidence package, and its
// offline verification.
//
// SM2: OpenSSL 3.0's CMS_sign cannot sign with SM2 keys, so the SignerInfo is added with
// CMS_KEY_PARAM, the SM2 ID set on its key context and the signature algorithm set to
// SM2-with-SM3 (1.2.156.10197.1.501) before CMS_final. The object identifiers are RFC 5652's
// (id-signedData, id-data) with GM/T's algorithm OIDs, as OpenSSL and GmSSL write them, not
// GB/T 35275's own content types (docs/pki.md). Verification never relies on CMS_verify: it
// re-encodes nothing, but takes the signed attributes' DER out of the SignerInfo and checks the
// signature over it with the SM2 ID — the same bytes `openssl pkeyutl -verify -rawin` checks.
#include <openssl/err.h>
#include <openssl/rand.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cstring>

#include "core/crypto.h"
#include "core/json.h"
#include "pki/internal.h"

namespace jishi::pki {

using namespace ossl;
namespace json = boost::json;

namespace {

std::string hexs(std::string_view bytes) {
  return crypto::hex(bytes);
}

template <class T, int (*I2D)(const T*, unsigned char**)>
std::string to_der(const T* obj) {
  unsigned char* der = nullptr;
  int n = I2D(obj, &der);
  std::string out(reinterpret_cast<char*>(der), n > 0 ? static_cast<std::size_t>(n) : 0);
  OPENSSL_free(der);
  return out;
}

std::string time_text(std::int64_t us) {
  time_t t = static_cast<time_t>(us / 1'000'000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// --- a minimal DER reader, enough to find a SignerInfo's fields ------------------------------

struct Tlv {
  unsigned char tag = 0;
  std::size_t start = 0, header = 0, length = 0;  // start of the TLV, header bytes, content bytes
  std::size_t end() const { return start + header + length; }
  std::size_t content() const { return start + header; }
};

std::optional<Tlv> read_tlv(std::string_view d, std::size_t pos, std::size_t limit) {
  if (pos + 2 > limit) return std::nullopt;
  Tlv t;
  t.start = pos;
  t.tag = static_cast<unsigned char>(d[pos]);
  if ((t.tag & 0x1f) == 0x1f) return std::nullopt;  // no high tag numbers in CMS
  auto first = static_cast<unsigned char>(d[pos + 1]);
  std::size_t h = 2;
  std::size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else {
    std::size_t n = first & 0x7f;
    if (n == 0 || n > 4 || pos + 2 + n > limit) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i)
      len = (len << 8) | static_cast<unsigned char>(d[pos + 2 + i]);
    h += n;
  }
  t.header = h;
  t.length = len;
  if (t.end() > limit) return std::nullopt;
  return t;
}

// The children of a constructed TLV.
std::vector<Tlv> children(std::string_view d, const Tlv& parent) {
  std::vector<Tlv> out;
  std::size_t pos = parent.content();
  while (pos < parent.end()) {
    auto t = read_tlv(d, pos, parent.end());
    if (!t) return {};
    out.push_back(*t);
    pos = t->end();
  }
  return out;
}

struct SignerParts {
  std::string signed_attrs_der;  // re-tagged as SET (0x31), as signed
  std::string signature;
};

// ContentInfo -> [0] SignedData -> signerInfos (the last SET) -> the first SignerInfo.
std::optional<SignerParts> signer_parts(std::string_view der) {
  auto ci = read_tlv(der, 0, der.size());
  if (!ci || ci->tag != 0x30) return std::nullopt;
  auto ci_kids = children(der, *ci);
  if (ci_kids.size() != 2 || ci_kids[1].tag != 0xa0) return std::nullopt;
  auto sd_wrap = children(der, ci_kids[1]);
  if (sd_wrap.size() != 1 || sd_wrap[0].tag != 0x30) return std::nullopt;
  auto sd = children(der, sd_wrap[0]);
  if (sd.empty() || sd.back().tag != 0x31) return std::nullopt;
  auto infos = children(der, sd.back());
  if (infos.empty()) return std::nullopt;
  auto si = children(der, infos[0]);
  SignerParts out;
  for (std::size_t i = 0; i < si.size(); ++i) {
    if (si[i].tag == 0xa0 && out.signed_attrs_der.empty()) {
      out.signed_attrs_der = std::string(der.substr(si[i].start, si[i].end() - si[i].start));
      out.signed_attrs_der[0] = 0x31;
    } else if (si[i].tag == 0x04 && !out.signed_attrs_der.empty()) {
      out.signature = std::string(der.substr(si[i].content(), si[i].length));
    }
  }
  if (out.signed_attrs_der.empty() || out.signature.empty()) return std::nullopt;
  return out;
}

std::string algorithm_label(EVP_PKEY* key) {
  if (is_sm2(key)) return "SM2-with-SM3";
  if (EVP_PKEY_is_a(key, "RSA")) return "RSA-with-SHA256";
  return "ECDSA-with-SHA256";
}

// An OCSP request for `cert` issued by `issuer`, DER.
std::string ocsp_request_for(X509* cert, X509* issuer) {
  OcspReq req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
  OCSP_request_add0_id(req.get(), id);
  return to_der<OCSP_REQUEST, i2d_OCSP_REQUEST>(req.get());
}

}  // namespace

Result<Signature> Authority::sign(store::Tx& tx, Env& env, const SignRequest& r) const {
  if (r.document.empty())
    return fail(Code::validation_failed, "the document is empty", "/document");
  if (r.document_name.empty() || r.document_name.size() > kNameBytesMax)
    return fail(Code::validation_failed, "document_name is 1-128 bytes", "/document_name");
  std::int64_t now = env.clock.now_us();
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  Cert holder_cert;
  Key holder_key;
  std::optional<std::int64_t> user_id, org_id;
  if (r.serial == "platform") {
    cert = impl_->platform.cert.get();
    key = impl_->platform.key.get();
  } else {
    JISHI_ASSIGN_OR_RETURN(auto info, get_cert(tx, r.serial));
    if (info.profile != "signing")
      return fail(Code::validation_failed, "that certificate is not for signing", "/serial");
    if (info.status != "good") return fail(Code::invalid_state, "that certificate is revoked");
    if (now >= info.not_after_us) return fail(Code::invalid_state, "that certificate has expired");
    JISHI_ASSIGN_OR_RETURN(holder_key, custodial_key(tx, env.cipher, info.serial));
    JISHI_ASSIGN_OR_RETURN(holder_cert, cert_from_pem(info.cert_pem));
    cert = holder_cert.get();
    key = holder_key.get();
    user_id = info.user_id;
    org_id = info.org_id;
  }
  bool sm2 = is_sm2(key);

  // The SignedData.
  Bio data(BIO_new_mem_buf(r.document.data(), static_cast<int>(r.document.size())));
  unsigned flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP;
  Cms cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return std::unexpected(ssl_fail(Code::internal, "cannot start the signature"));
  CMS_SignerInfo* si =
      CMS_add1_signer(cms.get(), cert, key, digest_for(key), flags | (sm2 ? CMS_KEY_PARAM : 0u));
  if (!si) return std::unexpected(ssl_fail(Code::internal, "cannot add the signer"));
  if (sm2) {
    if (EVP_PKEY_CTX_set1_id(CMS_SignerInfo_get0_pkey_ctx(si), kSm2Id.data(),
                             static_cast<int>(kSm2Id.size())) <= 0)
      return std::unexpected(ssl_fail(Code::internal, "cannot set the SM2 ID"));
    X509_ALGOR* psig = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &psig);
    X509_ALGOR_set0(psig, OBJ_nid2obj(NID_SM2_with_SM3), V_ASN1_UNDEF, nullptr);
  }
  Time signing_time(ASN1_TIME_set(nullptr, static_cast<time_t>(now / 1'000'000)));
  CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, signing_time->type, signing_time.get(),
                              -1);
  CMS_add1_cert(cms.get(), impl_->issuing.cert.get());
  if (CMS_final(cms.get(), data.get(), nullptr, flags & ~CMS_PARTIAL) != 1)
    return std::unexpected(ssl_fail(Code::internal, "signing failed"));

  // The signature timestamp: an RFC 3161 token over SHA-256 of the signature value, carried as
  // the unsigned attribute id-aa-signatureTimeStampToken (RFC 3161 appendix A).
  const ASN1_OCTET_STRING* sigval = CMS_SignerInfo_get0_signature(si);
  std::string sig_bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sigval)),
                        static_cast<std::size_t>(ASN1_STRING_length(sigval)));
  std::string imprint = digest(EVP_sha256(), sig_bytes);
  TsReq tsq(TS_REQ_new());
  Ptr<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free> mi(TS_MSG_IMPRINT_new());
  Ptr<X509_ALGOR, X509_ALGOR_free> alg(X509_ALGOR_new());
  X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(mi.get(), alg.get());
  TS_MSG_IMPRINT_set_msg(mi.get(), reinterpret_cast<unsigned char*>(imprint.data()),
                         static_cast<int>(imprint.size()));
  TS_REQ_set_version(tsq.get(), 1);
  TS_REQ_set_msg_imprint(tsq.get(), mi.get());
  TS_REQ_set_cert_req(tsq.get(), 1);
  std::string tsr_der = timestamp(to_der<TS_REQ, i2d_TS_REQ>(tsq.get()), now);
  const auto* tp = reinterpret_cast<const unsigned char*>(tsr_der.data());
  TsResp tsr(d2i_TS_RESP(nullptr, &tp, static_cast<long>(tsr_der.size())));
  if (!tsr || ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(tsr.get()))) != 0)
    return fail(Code::internal, "the timestamp authority refused");
  std::string token = to_der<PKCS7, i2d_PKCS7>(TS_RESP_get_token(tsr.get()));
  if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE,
                                    token.data(), static_cast<int>(token.size())) != 1)
    return std::unexpected(ssl_fail(Code::internal, "cannot attach the timestamp"));
  std::string cms_der = to_der<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());

  // The signer's status now, from our responder: evidence that it was good when it signed.
  std::string ocsp = ocsp_respond(ocsp_request_for(cert, impl_->issuing.cert.get()), now,
                                  [&](const std::string& serial) -> std::optional<CertStatus> {
                                    auto s = cert_status(tx, serial);
                                    return s ? *s : std::nullopt;
                                  });

  auto parts = signer_parts(cms_der);
  if (!parts) return fail(Code::internal, "cannot read back the signature");
  std::string sha256 = hexs(digest(EVP_sha256(), r.document));
  std::string sm3 = hexs(digest(EVP_sm3(), r.document));
  json::object doc{{"name", r.document_name},
                   {"size", static_cast<std::int64_t>(r.document.size())},
                   {"sha256", sha256},
                   {"sm3", sm3}};
  json::object sig{{"algorithm", algorithm_label(key)},
                   {"cms", base64_encode(cms_der)},
                   {"signed_attributes", base64_encode(parts->signed_attrs_der)},
                   {"signature_value", base64_encode(parts->signature)},
                   {"sm2_id", sm2 ? json::value(std::string(kSm2Id)) : json::value(nullptr)},
                   {"signing_time", time_text(now)}};
  json::array chain{json::value(cert_to_pem(cert)), json::value(issuing_pem()),
                    json::value(root_pem())};
  std::int64_t id = env.ids.next();
  json::object pkg{{"format", "jishi-evidence/1"},
                   {"id", std::to_string(id)},
                   {"document", std::move(doc)},
                   {"signature", std::move(sig)},
                   {"certificates", std::move(chain)},
                   {"ocsp_response", base64_encode(ocsp)},
                   {"timestamp_token", base64_encode(token)},
                   {"tsa_certificate", tsa_pem()},
                   {"subject_ref", r.subject_ref ? json::value(*r.subject_ref) : nullptr},
                   {"created_at", time_text(now)}};
  std::string package = json::serialize(pkg);
  std::string serial = serial_hex(cert);
  JISHI_TRY(
      tx.exec("INSERT INTO pki_signatures (id, signer_serial, user_id, org_id, document_name, "
              "document_sha256, document_sm3, document_size, subject_ref, algorithm, package, "
              "created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
              {id, serial, user_id, org_id, r.document_name, sha256, sm3,
               static_cast<std::int64_t>(r.document.size()), r.subject_ref, algorithm_label(key),
               package, now}));
  return get_signature(tx, id);
}

namespace {
Signature read_signature(const store::Row& r) {
  Signature s;
  s.id = r.i64(0);
  s.signer_serial = r.str(1);
  s.user_id = r.opt_i64(2);
  s.org_id = r.opt_i64(3);
  s.document_name = r.str(4);
  s.document_sha256 = r.str(5);
  s.document_size = r.i64(6);
  s.subject_ref = r.opt_str(7);
  s.algorithm = r.str(8);
  s.package = r.str(9);
  s.created_at_us = r.i64(10);
  return s;
}
#define PKI_SIG_COLUMNS                                                                 \
  "id, signer_serial, user_id, org_id, document_name, document_sha256, document_size, " \
  "subject_ref, algorithm, package, created_at_us"
}  // namespace

Result<Signature> get_signature(store::Conn& conn, std::int64_t id) {
  JISHI_ASSIGN_OR_RETURN(
      auto row, conn.query_one("SELECT " PKI_SIG_COLUMNS " FROM pki_signatures WHERE id = $1", {id},
                               read_signature));
  if (!row) return fail(Code::not_found, "no such signature");
  return *row;
}

Result<Page<Signature>> list_signatures(store::Conn& conn, std::optional<UserId> user,
                                        std::optional<OrgId> org, std::int64_t before,
                                        std::size_t limit) {
  Page<Signature> page;
  std::int64_t cursor = before > 0 ? before : std::numeric_limits<std::int64_t>::max();
  auto holder = holder_filter(user, org);
  std::string sql = "SELECT " PKI_SIG_COLUMNS " FROM pki_signatures WHERE id < $1" + holder.clause +
                    " ORDER BY id DESC LIMIT $3";
  JISHI_TRY(conn.query(sql, {cursor, holder.who, static_cast<std::int64_t>(limit + 1)},
                       [&](const store::Row& r) {
                         page.items.push_back(read_signature(r));
                         return true;
                       }));
  trim_page(page, limit, [](const Signature& s) { return s.id; });
  return page;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Checker {
  Verification& v;
  bool all_ok = true;
  void ok(std::string name) { v.checks.emplace_back(std::move(name), "ok"); }
  void bad(std::string name, std::string why) {
    v.checks.emplace_back(std::move(name), std::move(why));
    all_ok = false;
  }
};

std::string json_str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                  : std::string();
}

// The DER of every certificate the package lists.
std::vector<std::string> package_cert_ders(const json::object& pkg) {
  std::vector<std::string> out;
  if (!pkg.contains("certificates") || !pkg.at("certificates").is_array()) return out;
  for (const auto& x : pkg.at("certificates").as_array()) {
    if (!x.is_string()) continue;
    auto certs = certs_from_pem(std::string(x.as_string()));
    if (certs)
      for (auto& c : *certs) out.push_back(cert_to_der(c.get()));
  }
  return out;
}

std::string algor_der(const X509_ALGOR* a) {
  return to_der<X509_ALGOR, i2d_X509_ALGOR>(a);
}

// Everything in the SignedData that the signature does not cover must still be exactly what
// jishi writes, so that no byte of a signature can change unnoticed: DER that re-encodes to
// itself, the expected content type and algorithms, one signer, no content (detached),
// certificates that are the package's own, and the timestamp as the only unsigned attribute.
std::optional<std::string> structure_problem(const std::string& der, CMS_ContentInfo* cms,
                                             CMS_SignerInfo* si, X509* signer,
                                             const std::vector<std::string>& package_certs) {
  if (to_der<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms) != der)
    return "the CMS is not in canonical DER";
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
      OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
    return "the CMS is not a SignedData over id-data";
  ASN1_OCTET_STRING** content = CMS_get0_content(cms);
  if (content && *content) return "the CMS is not detached";
  EVP_PKEY* key = X509_get0_pubkey(signer);
  X509_ALGOR *pdig = nullptr, *psig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &pdig, &psig);
  const ASN1_OBJECT* dig_oid = nullptr;
  const ASN1_OBJECT* sig_oid = nullptr;
  X509_ALGOR_get0(&dig_oid, nullptr, nullptr, pdig);
  X509_ALGOR_get0(&sig_oid, nullptr, nullptr, psig);
  int dig = OBJ_obj2nid(dig_oid), sig = OBJ_obj2nid(sig_oid);
  bool sm2 = is_sm2(key);
  bool algs_ok = sm2 ? dig == NID_sm3 && sig == NID_SM2_with_SM3
                     : dig == NID_sha256 &&
                           (EVP_PKEY_is_a(key, "RSA")
                                ? (sig == NID_rsaEncryption || sig == NID_sha256WithRSAEncryption)
                                : sig == NID_ecdsa_with_SHA256);
  if (!algs_ok) return "the signature's algorithms are not the expected ones";
  // SignedData: version, digestAlgorithms (exactly the signer's), encapContentInfo, certs, signers.
  auto ci = read_tlv(der, 0, der.size());
  auto sd = children(der, children(der, children(der, *ci)[1])[0]);
  if (sd.size() < 4 || sd[1].tag != 0x31) return "the SignedData is malformed";
  auto digs = children(der, sd[1]);
  if (digs.size() != 1 ||
      der.substr(digs[0].start, digs[0].end() - digs[0].start) != algor_der(pdig))
    return "the SignedData's digest algorithms differ from the signer's";
  int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1);
  if (idx < 0) return "the signed attributes lack the content type";
  if (CMS_unsigned_get_attr_count(si) != 1 ||
      CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) != 0)
    return "the signature's unsigned attributes are not just its timestamp";
  CertStack certs(CMS_get1_certs(cms));
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    std::string d = cert_to_der(sk_X509_value(certs.get(), i));
    if (std::find(package_certs.begin(), package_certs.end(), d) == package_certs.end())
      return "a certificate inside the signature differs from the package's";
  }
  if (!package_certs.empty() && package_certs.front() != cert_to_der(signer))
    return "the package's first certificate is not the signer's";
  return std::nullopt;
}

}  // namespace

Verification verify_package(std::string_view package_json, std::optional<std::string_view> document,
                            const std::vector<std::string>& trusted_pems,
                            const std::vector<std::string>& untrusted_pems) {
  Verification v;
  Checker c{v};
  auto parsed = parse_json(package_json);
  if (!parsed || !parsed->is_object() ||
      json_str(parsed->as_object(), "format") != "jishi-evidence/1") {
    c.bad("package", "not a jishi evidence package (format jishi-evidence/1)");
    return v;
  }
  const auto& pkg = parsed->as_object();
  const json::object empty;
  const auto& doc = pkg.contains("document") && pkg.at("document").is_object()
                        ? pkg.at("document").as_object()
                        : empty;
  const auto& sig = pkg.contains("signature") && pkg.at("signature").is_object()
                        ? pkg.at("signature").as_object()
                        : empty;
  v.algorithm = json_str(sig, "algorithm");

  // 1. The document.
  std::string sha256 = json_str(doc, "sha256"), sm3 = json_str(doc, "sm3");
  if (document) {
    if (hexs(digest(EVP_sha256(), *document)) == sha256 &&
        hexs(digest(EVP_sm3(), *document)) == sm3)
      c.ok("document");
    else
      c.bad("document", "the document's hashes differ from the package's: it was changed");
  }

  // 2. The CMS signature over the signed attributes.
  auto cms_der = base64_decode(json_str(sig, "cms"));
  if (!cms_der) {
    c.bad("signature", "the package has no readable CMS signature");
    return v;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(cms_der->data());
  Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(cms_der->size())));
  auto parts = signer_parts(*cms_der);
  STACK_OF(CMS_SignerInfo)* infos = cms ? CMS_get0_SignerInfos(cms.get()) : nullptr;
  if (!cms || !parts || !infos || sk_CMS_SignerInfo_num(infos) != 1) {
    ERR_clear_error();
    c.bad("signature", "the CMS SignedData is malformed or has not exactly one signer");
    return v;
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
  std::vector<Cert> owned;
  auto add_pems = [&](const std::string& pem) {
    auto certs = certs_from_pem(pem);
    if (certs)
      for (auto& x : *certs) owned.push_back(std::move(x));
  };
  if (pkg.contains("certificates") && pkg.at("certificates").is_array())
    for (const auto& x : pkg.at("certificates").as_array())
      if (x.is_string()) add_pems(std::string(x.as_string()));
  for (const auto& pem : untrusted_pems) add_pems(pem);
  CertStack cms_certs(CMS_get1_certs(cms.get()));
  for (int i = 0; cms_certs && i < sk_X509_num(cms_certs.get()); ++i) {
    X509* x = sk_X509_value(cms_certs.get(), i);
    X509_up_ref(x);
    owned.emplace_back(x);
  }
  X509* signer = nullptr;
  for (auto& x : owned)
    if (CMS_SignerInfo_cert_cmp(si, x.get()) == 0) signer = x.get();
  if (!signer) {
    c.bad("signature", "the signer's certificate is not in the package");
    return v;
  }
  if (auto why = structure_problem(*cms_der, cms.get(), si, signer, package_cert_ders(pkg))) {
    c.bad("signature", *why);
    return v;
  }
  v.signer_subject = name_text(X509_get_subject_name(signer));
  v.signer_serial = serial_hex(signer);
  EVP_PKEY* signer_key = X509_get0_pubkey(signer);
  const ASN1_OCTET_STRING* md_attr =
      static_cast<const ASN1_OCTET_STRING*>(CMS_signed_get0_data_by_OBJ(
          si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING));
  std::string expected_md = is_sm2(signer_key) ? sm3 : sha256;
  std::string md_hex =
      md_attr ? hexs(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(md_attr)),
                                      static_cast<std::size_t>(ASN1_STRING_length(md_attr))))
              : std::string();
  if (md_hex.empty() || md_hex != expected_md) {
    c.bad("signature", "the signed message digest does not match the document's hash");
  } else if (!verify(signer_key, parts->signed_attrs_der, parts->signature)) {
    c.bad("signature", "the signature does not verify with the signer's key");
  } else if (base64_decode(json_str(sig, "signed_attributes")) != parts->signed_attrs_der ||
             base64_decode(json_str(sig, "signature_value")) != parts->signature) {
    c.bad("signature", "the package's copies of the signed attributes differ from the CMS");
  } else {
    c.ok("signature");
  }
  {
    int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    X509_ATTRIBUTE* a = idx >= 0 ? CMS_signed_get_attr(si, idx) : nullptr;
    ASN1_TYPE* t = a ? X509_ATTRIBUTE_get0_type(a, 0) : nullptr;
    if (t && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME))
      v.signing_time_us = asn1_time_to_unix_us(t->value.utctime);
  }

  // 3. The timestamp token over the signature value.
  std::vector<X509*> anchors;
  std::vector<Cert> trusted;
  for (const auto& pem : trusted_pems) {
    auto certs = certs_from_pem(pem);
    if (certs)
      for (auto& x : *certs) trusted.push_back(std::move(x));
  }
  for (auto& x : trusted) anchors.push_back(x.get());
  std::vector<X509*> untrusted;
  for (auto& x : owned) untrusted.push_back(x.get());
  auto token_der = base64_decode(json_str(pkg, "timestamp_token"));
  std::string attached;
  {
    int idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
    X509_ATTRIBUTE* a = idx >= 0 ? CMS_unsigned_get_attr(si, idx) : nullptr;
    ASN1_TYPE* t = a ? X509_ATTRIBUTE_get0_type(a, 0) : nullptr;
    if (t && t->type == V_ASN1_SEQUENCE)
      attached.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(t->value.sequence)),
                      static_cast<std::size_t>(ASN1_STRING_length(t->value.sequence)));
  }
  const unsigned char* tp =
      token_der ? reinterpret_cast<const unsigned char*>(token_der->data()) : nullptr;
  Pkcs7 token(tp ? d2i_PKCS7(nullptr, &tp, static_cast<long>(token_der->size())) : nullptr);
  Ptr<TS_TST_INFO, TS_TST_INFO_free> tst(token ? PKCS7_to_TS_TST_INFO(token.get()) : nullptr);
  ERR_clear_error();
  if (!token || !tst) {
    c.bad("timestamp", "the package has no readable timestamp token");
  } else if (attached != *token_der) {
    c.bad("timestamp", "the token in the package differs from the one in the signature");
  } else {
    v.timestamp_us = asn1_time_to_unix_us(TS_TST_INFO_get_time(tst.get()));
    // The TSA's certificate: its path to a trusted root (with the SM2 ID on every link), then
    // the token's own signature and imprint with that certificate as the anchor.
    X509* tsa = nullptr;
    STACK_OF(X509)* tcerts = token->d.sign ? token->d.sign->cert : nullptr;
    for (int i = 0; tcerts && i < sk_X509_num(tcerts); ++i) {
      X509* x = sk_X509_value(tcerts, i);
      if (X509_get_extended_key_usage(x) & XKU_TIMESTAMP) tsa = x;
    }
    auto tsa_path = tsa ? validate_chain(tsa, anchors, untrusted, *v.timestamp_us)
                        : Result<std::vector<X509*>>(fail(Code::not_found, "no TSA certificate"));
    if (!tsa_path) {
      c.bad("timestamp", "the TSA's certificate: " + tsa_path.error().detail);
    } else {
      TsVerify vctx(TS_VERIFY_CTX_new());
      CertStack tsa_only(sk_X509_new_null());
      X509_up_ref(tsa);
      sk_X509_push(tsa_only.get(), tsa);
      TS_VERIFY_CTX_set_certs(vctx.get(), tsa_only.release());
      X509_STORE* store = X509_STORE_new();
      X509_STORE_add_cert(store, tsa);
      X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
      TS_VERIFY_CTX_set_store(vctx.get(), store);
      std::string imprint = digest(EVP_sha256(), parts->signature);
      auto* buf = static_cast<unsigned char*>(OPENSSL_malloc(imprint.size()));
      std::memcpy(buf, imprint.data(), imprint.size());
      TS_VERIFY_CTX_set_imprint(vctx.get(), buf, static_cast<long>(imprint.size()));
      TS_VERIFY_CTX_set_flags(vctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
      // Verified on a copy without the token's own certificates, so that path building stops
      // at the TSA's certificate (its path was checked above, with SM2 IDs).
      const unsigned char* cp = reinterpret_cast<const unsigned char*>(token_der->data());
      Pkcs7 bare(d2i_PKCS7(nullptr, &cp, static_cast<long>(token_der->size())));
      if (bare && bare->d.sign && bare->d.sign->cert) {
        sk_X509_pop_free(bare->d.sign->cert, X509_free);
        bare->d.sign->cert = nullptr;
      }
      if (bare && TS_RESP_verify_token(vctx.get(), bare.get()) == 1) {
        c.ok("timestamp");
      } else {
        c.bad("timestamp", "the timestamp token does not verify or is not over this signature (" +
                               last_error() + ")");
      }
      ERR_clear_error();
    }
  }

  // 4. The signer's certificate path at the time of signing (the timestamp's time).
  std::int64_t at = v.timestamp_us.value_or(v.signing_time_us.value_or(0));
  auto path = validate_chain(signer, anchors, untrusted, at);
  X509* issuer = nullptr;
  if (!path) {
    c.bad("certificate_path", path.error().detail);
  } else {
    c.ok("certificate_path");
    if (path->size() > 1) issuer = (*path)[1];
  }

  // 5. The OCSP answer at signing time: signed by a responder the issuer delegated, "good".
  auto ocsp_der = base64_decode(json_str(pkg, "ocsp_response"));
  const unsigned char* op =
      ocsp_der ? reinterpret_cast<const unsigned char*>(ocsp_der->data()) : nullptr;
  OcspResp resp(op ? d2i_OCSP_RESPONSE(nullptr, &op, static_cast<long>(ocsp_der->size()))
                   : nullptr);
  OcspBasic basic(resp ? OCSP_response_get1_basic(resp.get()) : nullptr);
  ERR_clear_error();
  if (!basic) {
    c.bad("ocsp", "the package has no readable OCSP response");
  } else if (!issuer) {
    c.bad("ocsp", "cannot check the OCSP response without the signer's issuer");
  } else {
    X509* responder = nullptr;
    OCSP_resp_get0_signer(basic.get(), &responder, nullptr);
    std::string tbs =
        to_der<OCSP_RESPDATA, i2d_OCSP_RESPDATA>(OCSP_resp_get0_respdata(basic.get()));
    const ASN1_OCTET_STRING* osig = OCSP_resp_get0_signature(basic.get());
    OcspId id(OCSP_cert_to_id(EVP_sha1(), signer, issuer));
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *rev = nullptr, *this_upd = nullptr, *next_upd = nullptr;
    if (!responder || !osig) {
      c.bad("ocsp", "the OCSP response does not carry its responder's certificate");
    } else if (!verify(X509_get0_pubkey(responder), tbs,
                       std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(osig)),
                                        static_cast<std::size_t>(ASN1_STRING_length(osig))))) {
      c.bad("ocsp", "the OCSP response's signature does not verify");
    } else if (!(X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN) ||
               X509_NAME_cmp(X509_get_issuer_name(responder), X509_get_subject_name(issuer)) != 0 ||
               !cert_signed_by(responder, X509_get0_pubkey(issuer))) {
      c.bad("ocsp", "the OCSP responder is not delegated by the signer's issuer");
    } else if (!OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &rev, &this_upd,
                                      &next_upd)) {
      c.bad("ocsp", "the OCSP response is not about the signer's certificate");
    } else if (status != V_OCSP_CERTSTATUS_GOOD) {
      c.bad("ocsp", "the OCSP response says the certificate was not good when it signed");
    } else if (at > 0 && std::llabs(asn1_time_to_unix_us(this_upd) - at) > 600'000'000) {
      c.bad("ocsp", "the OCSP response is not from the time of signing");
    } else {
      c.ok("ocsp");
    }
    ERR_clear_error();
  }
  v.ok = c.all_ok;
  return v;
}

Result<Authority::RawSignature> Authority::sign_with_platform_key(std::string_view data) const {
  JISHI_ASSIGN_OR_RETURN(auto sig, ossl::sign(impl_->platform.key.get(), data));
  return RawSignature{algorithm_label(impl_->platform.key.get()),
                      serial_hex(impl_->platform.cert.get()), base64_encode(sig)};
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string padded(text);
  if (padded.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != std::string::npos)
    return std::nullopt;
  while (padded.size() % 4 != 0) padded += '=';
  std::string out(padded.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (!padded.empty() && padded.back() == '=') ++pad;
  if (padded.size() > 1 && padded[padded.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<std::vector<std::string>> validate_path(std::string_view leaf_pem,
                                               const std::vector<std::string>& trusted,
                                               const std::vector<std::string>& untrusted,
                                               std::int64_t at_us) {
  JISHI_ASSIGN_OR_RETURN(auto leaf, cert_from_pem(leaf_pem));
  std::vector<Cert> owned;
  std::vector<X509*> anchors, others;
  for (const auto& pem : trusted) {
    auto certs = certs_from_pem(pem);
    if (certs)
      for (auto& x : *certs) anchors.push_back(owned.emplace_back(std::move(x)).get());
  }
  for (const auto& pem : untrusted) {
    auto certs = certs_from_pem(pem);
    if (certs)
      for (auto& x : *certs) others.push_back(owned.emplace_back(std::move(x)).get());
  }
  JISHI_ASSIGN_OR_RETURN(auto path, validate_chain(leaf.get(), anchors, others, at_us));
  std::vector<std::string> out;
  for (X509* x : path) out.push_back(name_text(X509_get_subject_name(x)));
  return out;
}

bool verify_with_cert(std::string_view cert_pem, std::string_view data,
                      std::string_view signature_base64) {
  auto cert = cert_from_pem(cert_pem);
  auto sig = base64_decode(signature_base64);
  if (!cert || !sig) return false;
  return ossl::verify(X509_get0_pubkey(cert->get()), data, *sig);
}

std::string fingerprint_of_pem(std::string_view pem) {
  auto cert = cert_from_pem(pem);
  return cert ? fingerprint_sha256(cert->get()) : std::string();
}

void check_revocation_now(Verification& v, const std::optional<CertStatus>& status) {
  if (!status) {
    v.checks.emplace_back("revocation", "the signer's certificate is not one this CA issued");
    v.ok = false;
  } else if (status->revoked && v.timestamp_us && status->revoked_at_us <= *v.timestamp_us) {
    v.checks.emplace_back("revocation", "the certificate was revoked before it signed");
    v.ok = false;
  } else {
    v.checks.emplace_back("revocation", status->revoked ? "ok (revoked after signing)" : "ok");
  }
}

}  // namespace jishi::pki
