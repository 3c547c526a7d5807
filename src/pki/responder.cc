// The OCSP responder (RFC 6960) and the timestamp authority (RFC 3161).
#include <openssl/err.h>

#include "core/crypto.h"
#include "pki/internal.h"

namespace jishi::pki {

using namespace ossl;

namespace {
constexpr int kOcspMaxRequests = 20;

std::string der_of(OCSP_RESPONSE* r) {
  unsigned char* der = nullptr;
  int n = i2d_OCSP_RESPONSE(r, &der);
  std::string out(reinterpret_cast<char*>(der), n > 0 ? static_cast<std::size_t>(n) : 0);
  OPENSSL_free(der);
  return out;
}

std::string ocsp_error(int status) {
  OcspResp r(OCSP_response_create(status, nullptr));
  return der_of(r.get());
}

Time unix_time(std::int64_t us) {
  return Time(ASN1_TIME_set(nullptr, static_cast<time_t>(us / 1'000'000)));
}
}  // namespace

std::string Authority::ocsp_respond(
    std::string_view request_der, std::int64_t now_us,
    FunctionRef<std::optional<CertStatus>(const std::string&)> lookup) const {
  const auto* p = reinterpret_cast<const unsigned char*>(request_der.data());
  OcspReq req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size())));
  if (!req ||
      p != reinterpret_cast<const unsigned char*>(request_der.data()) + request_der.size()) {
    ERR_clear_error();
    return ocsp_error(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  int n = OCSP_request_onereq_count(req.get());
  if (n < 1 || n > kOcspMaxRequests) return ocsp_error(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  OcspBasic basic(OCSP_BASICRESP_new());
  auto this_update = unix_time(now_us);
  auto next_update = unix_time(now_us + 3'600'000'000);  // answers may be cached for an hour
  X509* issuing = impl_->issuing.cert.get();
  for (int i = 0; i < n; ++i) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
    ASN1_OBJECT* md_oid = nullptr;
    ASN1_INTEGER* serial = nullptr;
    OCSP_id_get0_info(nullptr, &md_oid, nullptr, &serial, id);
    const EVP_MD* md = md_oid ? EVP_get_digestbyobj(md_oid) : nullptr;
    int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1;
    Time revoked_at;
    if (md && serial) {
      OcspId ours(OCSP_cert_id_new(md, X509_get_subject_name(issuing),
                                   X509_get0_pubkey_bitstr(issuing), serial));
      if (ours && OCSP_id_issuer_cmp(ours.get(), id) == 0) {
        auto st = lookup(serial_hex(serial));
        if (st) {
          status = st->revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD;
          if (st->revoked) {
            revoked_at = unix_time(st->revoked_at_us);
            reason = st->reason;
          }
        }
      }
    }
    ERR_clear_error();
    if (!OCSP_basic_add1_status(basic.get(), id, status, reason, revoked_at.get(),
                                this_update.get(), next_update.get()))
      return ocsp_error(OCSP_RESPONSE_STATUS_INTERNALERROR);
  }
  OCSP_copy_nonce(basic.get(), req.get());
  auto ctx = sign_ctx(impl_->ocsp.key.get());
  if (!ctx) return ocsp_error(OCSP_RESPONSE_STATUS_INTERNALERROR);
  // Only the responder's certificate goes with the answer: clients know the issuer (they name
  // it in the request), and every byte of the answer is then covered by a check.
  if (OCSP_basic_sign_ctx(basic.get(), impl_->ocsp.cert.get(), ctx->md.get(), nullptr, 0) != 1) {
    ERR_clear_error();
    return ocsp_error(OCSP_RESPONSE_STATUS_INTERNALERROR);
  }
  OcspResp resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  return der_of(resp.get());
}

// ---------------------------------------------------------------------------------------------

namespace {
// jishi's TSA policy: a UUID-based OID (ITU-T X.667), so it needs no registration.
constexpr const char* kTsaPolicy = "2.25.39922041807832261417261737988169181562";

ASN1_INTEGER* ts_serial(TS_RESP_CTX*, void*) {
  std::string bytes = crypto::random_bytes(16);
  bytes[0] = static_cast<char>((bytes[0] & 0x7f) | 0x40);
  BigNum bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), 16, nullptr));
  return BN_to_ASN1_INTEGER(bn.get(), nullptr);
}

int ts_time(TS_RESP_CTX*, void* data, long* sec, long* usec) {
  auto now = *static_cast<const std::int64_t*>(data);
  *sec = static_cast<long>(now / 1'000'000);
  *usec = static_cast<long>(now % 1'000'000);
  return 1;
}

std::string der_of(TS_RESP* r) {
  unsigned char* der = nullptr;
  int n = i2d_TS_RESP(r, &der);
  std::string out(reinterpret_cast<char*>(der), n > 0 ? static_cast<std::size_t>(n) : 0);
  OPENSSL_free(der);
  return out;
}
}  // namespace

std::string Authority::timestamp(std::string_view query_der, std::int64_t now_us) const {
  TsCtx ctx(TS_RESP_CTX_new());
  Ptr<ASN1_OBJECT, ASN1_OBJECT_free> policy(OBJ_txt2obj(kTsaPolicy, 1));
  // Tokens carry the TSA's certificate when asked (certReq), not the chain: a verifier builds
  // the path from the CA's published certificates (with SM2 IDs where needed).
  bool ok =
      ctx && policy && TS_RESP_CTX_set_signer_cert(ctx.get(), impl_->tsa.cert.get()) &&
      TS_RESP_CTX_set_signer_key(ctx.get(), impl_->tsa.key.get()) &&
      TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()) &&
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) && TS_RESP_CTX_add_md(ctx.get(), EVP_sha384()) &&
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha512()) && TS_RESP_CTX_add_md(ctx.get(), EVP_sm3()) &&
      TS_RESP_CTX_set_accuracy(ctx.get(), 1, 0, 0) &&
      TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256());
  if (!ok) {
    ERR_clear_error();
    return {};
  }
  TS_RESP_CTX_set_serial_cb(ctx.get(), ts_serial, nullptr);
  TS_RESP_CTX_set_time_cb(ctx.get(), ts_time, &now_us);
  Bio in(BIO_new_mem_buf(query_der.data(), static_cast<int>(query_der.size())));
  TsResp resp(TS_RESP_create_response(ctx.get(), in.get()));
  ERR_clear_error();
  if (!resp) return {};
  return der_of(resp.get());
}

}  // namespace jishi::pki
