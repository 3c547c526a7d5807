// pki's OpenSSL plumbing: owning pointers, keys, PEM/DER, and signing and verifying with the
// SM2 distinguishing ID always set (OpenSSL 3.0 has no default ID and would silently use an
// empty one; see docs/pki.md). Only src/pki includes this header.
#pragma once

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/pki.h"

namespace jishi::pki::ossl {

// GM/T 0009's default SM2 distinguishing ID, used for every SM2 signature jishi makes or checks.
inline constexpr std::string_view kSm2Id = "1234567812345678";

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <class T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, F>>;

using Key = Ptr<EVP_PKEY, EVP_PKEY_free>;
using Cert = Ptr<X509, X509_free>;
using Req = Ptr<X509_REQ, X509_REQ_free>;
using Crl = Ptr<X509_CRL, X509_CRL_free>;
using Name = Ptr<X509_NAME, X509_NAME_free>;
using Bio = Ptr<BIO, BIO_free_all>;
using BigNum = Ptr<BIGNUM, BN_free>;
using Integer = Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Time = Ptr<ASN1_TIME, ASN1_STRING_free>;
using Store = Ptr<X509_STORE, X509_STORE_free>;
using StoreCtx = Ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using OcspReq = Ptr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResp = Ptr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasic = Ptr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspId = Ptr<OCSP_CERTID, OCSP_CERTID_free>;
using Cms = Ptr<CMS_ContentInfo, CMS_ContentInfo_free>;
using TsReq = Ptr<TS_REQ, TS_REQ_free>;
using TsResp = Ptr<TS_RESP, TS_RESP_free>;
using TsCtx = Ptr<TS_RESP_CTX, TS_RESP_CTX_free>;
using TsVerify = Ptr<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;
using Pkcs7 = Ptr<PKCS7, PKCS7_free>;

struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using CertStack = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// The most recent OpenSSL error as text (and clears the queue).
std::string last_error();
Error ssl_fail(Code code, std::string_view what);

Result<Key> generate_key(Algorithm a);
// The algorithm of a key: SM2 (curve SM2), P-256, RSA of >= 2048 bits; else other.
std::optional<Algorithm> algorithm_of(EVP_PKEY* key);
bool is_sm2(EVP_PKEY* key);

std::string key_to_pem(EVP_PKEY* key);
// PKCS#8 PEM encrypted with AES-256-CBC under a PBKDF2-derived key.
Result<std::string> key_to_encrypted_pem(EVP_PKEY* key, std::string_view passphrase);
Result<Key> key_from_pem(std::string_view pem, std::string_view passphrase = {});
Result<Key> public_key_from_pem(std::string_view pem);
std::string public_key_to_pem(EVP_PKEY* key);

std::string cert_to_pem(X509* cert);
std::string cert_to_der(X509* cert);
Result<Cert> cert_from_pem(std::string_view pem);
Result<Cert> cert_from_der(std::string_view der);
// All certificates in a PEM bundle, in order.
Result<std::vector<Cert>> certs_from_pem(std::string_view pem);
std::string serial_hex(const X509* cert);
std::string serial_hex(const ASN1_INTEGER* serial);
Result<Integer> serial_from_hex(std::string_view hex);
std::string name_text(const X509_NAME* name);  // RFC 2253
std::string fingerprint_sha256(X509* cert);    // hex of the DER's SHA-256
std::int64_t asn1_time_to_unix_us(const ASN1_TIME* t);

std::string digest(const EVP_MD* md, std::string_view data);  // raw bytes

// A digest-sign context for the key: SM3 with the SM2 ID for SM2 keys, SHA-256 otherwise.
struct SignCtx {
  Ptr<EVP_MD_CTX, EVP_MD_CTX_free> md;
  Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> pkey;  // owned here; md only borrows it
};
Result<SignCtx> sign_ctx(EVP_PKEY* key);
Result<std::string> sign(EVP_PKEY* key, std::string_view data);
// Verifies a signature made by sign() (or by anyone with the same rules) with a public key.
bool verify(EVP_PKEY* key, std::string_view data, std::string_view signature);
// The digest sign_ctx uses for a key, for the algorithm identifiers around signatures.
const EVP_MD* digest_for(EVP_PKEY* key);

// Sets the SM2 ID on a certificate signed with SM2-with-SM3 so X509_verify / X509_verify_cert check
// its signature with it.
void set_sm2_id(X509* cert);
// Whether `cert` was signed by `issuer_key`, with the SM2 ID where it applies.
bool cert_signed_by(X509* cert, EVP_PKEY* issuer_key);
// Whether `crl` was signed by `issuer_key` (X509_CRL_verify cannot take an SM2 ID).
bool crl_signed_by(X509_CRL* crl, EVP_PKEY* issuer_key);

// Adds an extension in OpenSSL's config syntax ("critical,CA:TRUE" ...).
Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value);

// Path validation: anchors are trusted, `untrusted` may be used to build the path (cross-
// certificates among them); SM2 IDs are set on every certificate. at_us: the validation time
// (0: now). Returns the validated chain (leaf first) or the reason it failed.
Result<std::vector<X509*>> validate_chain(X509* leaf, const std::vector<X509*>& anchors,
                                          const std::vector<X509*>& untrusted, std::int64_t at_us,
                                          int purpose = -1);

}  // namespace jishi::pki::ossl
