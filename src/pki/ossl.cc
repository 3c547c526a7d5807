#include "pki/ossl.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>

#include "core/crypto.h"

namespace jishi::pki::ossl {

std::string last_error() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error ssl_fail(Code code, std::string_view what) {
  return Error(code, std::string(what) + " (" + last_error() + ")");
}

Result<Key> generate_key(Algorithm a) {
  EVP_PKEY* k = nullptr;
  switch (a) {
    case Algorithm::sm2:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2");
      break;
    case Algorithm::p256:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Algorithm::rsa3072:
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
  }
  if (!k) return std::unexpected(ssl_fail(Code::internal, "key generation failed"));
  return Key(k);
}

bool is_sm2(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "SM2")) return true;
  if (!EVP_PKEY_is_a(key, "EC")) return false;
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) &&
         std::string_view(group) == "SM2";
}

std::optional<Algorithm> algorithm_of(EVP_PKEY* key) {
  if (is_sm2(key)) return Algorithm::sm2;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) &&
        (std::string_view(group) == "prime256v1" || std::string_view(group) == "P-256"))
      return Algorithm::p256;
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048) return Algorithm::rsa3072;
  return std::nullopt;
}

namespace {
std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<std::size_t>(n));
}
Bio mem_bio() {
  return Bio(BIO_new(BIO_s_mem()));
}
Bio read_bio(std::string_view s) {
  return Bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}
}  // namespace

std::string key_to_pem(EVP_PKEY* key) {
  auto b = mem_bio();
  PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(b.get());
}

Result<std::string> key_to_encrypted_pem(EVP_PKEY* key, std::string_view passphrase) {
  auto b = mem_bio();
  if (!PEM_write_bio_PKCS8PrivateKey(b.get(), key, EVP_aes_256_cbc(), passphrase.data(),
                                     static_cast<int>(passphrase.size()), nullptr, nullptr))
    return std::unexpected(ssl_fail(Code::internal, "cannot encrypt the key"));
  return bio_text(b.get());
}

Result<Key> key_from_pem(std::string_view pem, std::string_view passphrase) {
  auto b = read_bio(pem);
  std::string pass(passphrase);
  EVP_PKEY* k =
      PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, pass.empty() ? nullptr : pass.data());
  if (!k) {
    ERR_clear_error();
    return fail(Code::validation_failed, "cannot read the private key (wrong passphrase?)");
  }
  return Key(k);
}

Result<Key> public_key_from_pem(std::string_view pem) {
  auto b = read_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr);
  if (!k) {
    ERR_clear_error();
    return fail(Code::validation_failed, "not a PEM public key");
  }
  return Key(k);
}

std::string public_key_to_pem(EVP_PKEY* key) {
  auto b = mem_bio();
  PEM_write_bio_PUBKEY(b.get(), key);
  return bio_text(b.get());
}

std::string cert_to_pem(X509* cert) {
  auto b = mem_bio();
  PEM_write_bio_X509(b.get(), cert);
  return bio_text(b.get());
}

std::string cert_to_der(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), n > 0 ? static_cast<std::size_t>(n) : 0);
  OPENSSL_free(der);
  return out;
}

Result<Cert> cert_from_pem(std::string_view pem) {
  auto b = read_bio(pem);
  X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr);
  if (!x) {
    ERR_clear_error();
    return fail(Code::validation_failed, "not a PEM certificate");
  }
  return Cert(x);
}

Result<Cert> cert_from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) {
    ERR_clear_error();
    return fail(Code::validation_failed, "not a DER certificate");
  }
  return Cert(x);
}

Result<std::vector<Cert>> certs_from_pem(std::string_view pem) {
  std::vector<Cert> out;
  auto b = read_bio(pem);
  while (X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();
  if (out.empty()) return fail(Code::validation_failed, "no PEM certificate found");
  return out;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  BigNum bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* h = BN_bn2hex(bn.get());
  std::string out(h);
  OPENSSL_free(h);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string serial_hex(const X509* cert) {
  return serial_hex(X509_get0_serialNumber(cert));
}

Result<Integer> serial_from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 40 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return fail(Code::validation_failed, "a serial is 1-40 hex digits");
  BIGNUM* bn = nullptr;
  std::string h(hex);
  if (!BN_hex2bn(&bn, h.c_str())) return std::unexpected(ssl_fail(Code::internal, "bad serial"));
  BigNum owned(bn);
  return Integer(BN_to_ASN1_INTEGER(bn, nullptr));
}

std::string name_text(const X509_NAME* name) {
  auto b = mem_bio();
  X509_NAME_print_ex(b.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_text(b.get());
}

std::string fingerprint_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return crypto::hex(std::string_view(reinterpret_cast<char*>(md), n));
}

std::int64_t asn1_time_to_unix_us(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || !ASN1_TIME_to_tm(t, &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
}

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

const EVP_MD* digest_for(EVP_PKEY* key) {
  return is_sm2(key) ? EVP_sm3() : EVP_sha256();
}

namespace {
// A pkey context for `key` with the SM2 ID set when it is an SM2 key.
Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> pkey_ctx(EVP_PKEY* key) {
  Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (ctx && is_sm2(key) &&
      EVP_PKEY_CTX_set1_id(ctx.get(), kSm2Id.data(), static_cast<int>(kSm2Id.size())) <= 0)
    ctx.reset();
  return ctx;
}
}  // namespace

Result<SignCtx> sign_ctx(EVP_PKEY* key) {
  SignCtx s;
  s.md.reset(EVP_MD_CTX_new());
  s.pkey = pkey_ctx(key);
  if (!s.md || !s.pkey) return std::unexpected(ssl_fail(Code::internal, "cannot sign"));
  EVP_MD_CTX_set_pkey_ctx(s.md.get(), s.pkey.get());
  if (EVP_DigestSignInit(s.md.get(), nullptr, digest_for(key), nullptr, key) <= 0)
    return std::unexpected(ssl_fail(Code::internal, "cannot sign"));
  return s;
}

Result<std::string> sign(EVP_PKEY* key, std::string_view data) {
  JISHI_ASSIGN_OR_RETURN(auto s, sign_ctx(key));
  size_t n = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(s.md.get(), nullptr, &n, p, data.size()) <= 0)
    return std::unexpected(ssl_fail(Code::internal, "signing failed"));
  std::string sig(n, '\0');
  if (EVP_DigestSign(s.md.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, p,
                     data.size()) <= 0)
    return std::unexpected(ssl_fail(Code::internal, "signing failed"));
  sig.resize(n);
  return sig;
}

bool verify(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  Ptr<EVP_MD_CTX, EVP_MD_CTX_free> md(EVP_MD_CTX_new());
  auto pctx = pkey_ctx(key);
  if (!md || !pctx) return false;
  EVP_MD_CTX_set_pkey_ctx(md.get(), pctx.get());
  bool ok = EVP_DigestVerifyInit(md.get(), nullptr, digest_for(key), nullptr, key) > 0 &&
            EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  ERR_clear_error();
  return ok;
}

void set_sm2_id(X509* cert) {
  // Only signatures made with SM2 take an ID; setting one for another algorithm fails them.
  if (X509_get_signature_nid(cert) != NID_SM2_with_SM3) return;
  ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kSm2Id.data()),
                        static_cast<int>(kSm2Id.size()));
  X509_set0_distinguishing_id(cert, id);
}

bool cert_signed_by(X509* cert, EVP_PKEY* issuer_key) {
  set_sm2_id(cert);
  bool ok = X509_verify(cert, issuer_key) == 1;
  ERR_clear_error();
  return ok;
}

bool crl_signed_by(X509_CRL* crl, EVP_PKEY* issuer_key) {
  unsigned char* tbs = nullptr;
  int n = i2d_re_X509_CRL_tbs(crl, &tbs);
  if (n <= 0) return false;
  std::string data(reinterpret_cast<char*>(tbs), static_cast<std::size_t>(n));
  OPENSSL_free(tbs);
  const ASN1_BIT_STRING* sig = nullptr;
  X509_CRL_get0_signature(crl, &sig, nullptr);
  if (!sig) return false;
  return verify(issuer_key, data,
                std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                                 static_cast<std::size_t>(ASN1_STRING_length(sig))));
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return std::unexpected(ssl_fail(Code::internal, "bad extension " + value));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return std::unexpected(ssl_fail(Code::internal, "cannot add extension"));
  return {};
}

Result<std::vector<X509*>> validate_chain(X509* leaf, const std::vector<X509*>& anchors,
                                          const std::vector<X509*>& untrusted, std::int64_t at_us,
                                          int purpose) {
  Store store(X509_STORE_new());
  for (X509* a : anchors) {
    set_sm2_id(a);
    X509_STORE_add_cert(store.get(), a);
  }
  ERR_clear_error();  // duplicates are not an error here
  CertStack chain(sk_X509_new_null());
  for (X509* c : untrusted) {
    set_sm2_id(c);
    X509_up_ref(c);
    sk_X509_push(chain.get(), c);
  }
  set_sm2_id(leaf);
  StoreCtx ctx(X509_STORE_CTX_new());
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()))
    return std::unexpected(ssl_fail(Code::internal, "cannot validate"));
  if (at_us > 0) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_us / 1'000'000));
  if (purpose > 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(Code::validation_failed,
                std::string("certificate path does not validate: ") +
                    X509_verify_cert_error_string(err) + " (error " + std::to_string(err) +
                    " at depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ")");
  }
  std::vector<X509*> out;
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(built); ++i) out.push_back(sk_X509_value(built, i));
  return out;
}

}  // namespace jishi::pki::ossl
