// The certification authority: a root and an issuing CA (SM2-with-SM3 by default, ECDSA P-256 or
// RSA-3072 selectable), certificates for verified people and merchants (from their PKCS#10 CSR or
// a custodial key pair kept sealed), revocation with a CRL and an RFC 6960 OCSP responder, an
// RFC 3161 timestamp authority, cross-certification with external CAs, and detached CMS
// signatures bundled with their chain, OCSP answer and timestamp into an evidence package that
// verifies offline. Everything it emits verifies with stock `openssl`; docs/pki.md lists the
// commands and the places where OpenSSL 3.0 needs the SM2 ID spelled out.
//
// The CA's keys live in memory in an Authority loaded at start; every write (issue, revoke,
// CRL, sign) runs inside the writer's transaction like any other command.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/function_ref.h"
#include "core/ids.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::pki {

enum class Algorithm { sm2, p256, rsa3072 };
std::string_view name_of(Algorithm a);
std::optional<Algorithm> parse_algorithm(std::string_view s);

enum class Profile { signing, tls_server, tsa, ocsp, cross };
std::string_view name_of(Profile p);
std::optional<Profile> parse_profile(std::string_view s);

// RFC 5280 CRLReason names: unspecified keyCompromise cACompromise affiliationChanged
// superseded cessationOfOperation certificateHold privilegeWithdrawn.
std::optional<int> parse_reason(std::string_view s);

struct CaInit {
  Algorithm algorithm = Algorithm::sm2;
  std::string organization = "jishi";
  std::string passphrase;  // encrypts the root key; at least 12 characters
  std::string base_url;    // http://host:port — CRL and OCSP URLs in certificates
};

struct CertInfo {
  std::string serial;  // lower-case hex
  std::string profile, issuer, subject, algorithm;
  std::optional<std::int64_t> user_id, org_id;
  std::string cert_pem;
  bool custodial = false;
  std::int64_t not_before_us = 0, not_after_us = 0;
  std::string status;  // good | revoked
  std::optional<std::int64_t> revoked_at_us;
  std::optional<std::string> revocation_reason;
  std::int64_t created_at_us = 0;
};

// Who a certificate is for; the CA builds the subject from it, never from the CSR.
struct Subject {
  std::string common_name;
  std::optional<std::string> organization;
  std::optional<std::string> serial_number;  // a merchant's USCC
  std::vector<std::string> dns_names;        // tls_server
};

struct IssueRequest {
  Profile profile = Profile::signing;
  Subject subject;
  std::optional<std::string> csr_pem;        // the holder's own key; else a custodial key ...
  Algorithm key_algorithm = Algorithm::sm2;  // ... of this algorithm
  std::optional<UserId> user;
  std::optional<OrgId> org;
  UserId by;
  int days = 365;
};

struct ExternalCa {
  std::int64_t id = 0;
  std::string name, subject, fingerprint, cert_pem;
  std::optional<std::string> cross_serial;
  std::int64_t created_at_us = 0;
};

struct CrossCertify {
  std::int64_t external_id = 0;
  std::string passphrase;  // the root key's: cross-certificates are signed by our root
  int path_length = 0;
  std::vector<std::string> permitted_dns;   // nameConstraints permitted DNS subtrees
  std::vector<std::string> permitted_dirs;  // ... and directory names, "/C=CN/O=Example"
  int days = 3 * 365;
  UserId by;
};

// The status the OCSP responder and verification read.
struct CertStatus {
  bool revoked = false;
  std::int64_t revoked_at_us = 0;
  int reason = 0;
};

struct SignRequest {
  std::string serial;  // a custodial signing certificate of the caller
  std::string document;
  std::string document_name;
  std::optional<std::string> subject_ref;
  UserId by;
};

struct Signature {
  std::int64_t id = 0;
  std::string signer_serial, document_name, document_sha256, algorithm;
  std::optional<std::string> subject_ref;
  std::optional<std::int64_t> user_id, org_id;
  std::int64_t document_size = 0, created_at_us = 0;
  std::string package;  // the evidence package, JSON
};

// What verifying an evidence package found. ok only when every check passed.
struct Verification {
  bool ok = false;
  std::vector<std::pair<std::string, std::string>> checks;  // name -> "ok" or the failure
  std::string signer_subject, signer_serial, algorithm;
  std::optional<std::int64_t> signing_time_us, timestamp_us;
};

class Authority {
 public:
  ~Authority();
  Authority(const Authority&) = delete;
  Authority& operator=(const Authority&) = delete;

  // The CA stored in the database, or nullptr when `jishi ca init` has not run.
  static Result<std::unique_ptr<Authority>> load(store::Conn& conn, const FieldCipher& cipher);

  Algorithm algorithm() const;
  const std::string& base_url() const;
  // How long a CRL is valid (pki_crl_hours); set once after load.
  void set_crl_hours(std::int64_t hours);
  std::string root_pem() const;
  std::string issuing_pem() const;
  std::string tsa_pem() const;
  std::string ocsp_pem() const;
  std::string platform_pem() const;

  Result<CertInfo> issue(store::Tx& tx, Env& env, const IssueRequest& r) const;
  // Revokes (idempotent for the same certificate) and issues a fresh CRL in the same command.
  Result<CertInfo> revoke(store::Tx& tx, Env& env, std::string_view serial, int reason,
                          UserId by) const;
  // A CRL of every revoked certificate; returns its number.
  Result<std::int64_t> issue_crl(store::Tx& tx, Env& env) const;
  // Whether the newest CRL is missing or past half its lifetime (the schedule re-issues it).
  static Result<bool> crl_due(store::Conn& conn, std::int64_t now_us);
  // The newest CRL, DER.
  static Result<std::string> current_crl(store::Conn& conn);

  // An RFC 6960 OCSPResponse (DER) for a DER OCSPRequest; errors are answered in-band
  // (malformedRequest, internalError) as the protocol wants.
  std::string ocsp_respond(std::string_view request_der, std::int64_t now_us,
                           FunctionRef<std::optional<CertStatus>(const std::string&)> lookup) const;
  // An RFC 3161 TimeStampResp (DER) for a DER TimeStampReq; rejections are in-band.
  std::string timestamp(std::string_view query_der, std::int64_t now_us) const;

  Result<ExternalCa> import_external(store::Tx& tx, Env& env, std::string_view name,
                                     std::string_view cert_pem, UserId by) const;
  Result<CertInfo> cross_certify(store::Tx& tx, Env& env, const CrossCertify& r) const;

  // Signs a document with a custodial signing certificate the caller holds (or the platform's
  // own certificate when serial is "platform"): detached CMS SignedData, an RFC 3161 timestamp
  // on the signature, the OCSP answer for the signer; stores and returns the evidence package.
  Result<Signature> sign(store::Tx& tx, Env& env, const SignRequest& r) const;

  // Signs with the platform's own certificate (audit tree heads): SM3/SHA-256 digest, SM2 ID.
  struct RawSignature {
    std::string algorithm, serial, signature_base64;
  };
  Result<RawSignature> sign_with_platform_key(std::string_view data) const;

  struct Impl;

 private:
  explicit Authority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates the CA hierarchy: root (20 years), issuing CA (10 years), the OCSP responder's
// certificate, the timestamp authority's (ECDSA P-256: OpenSSL's TS code cannot sign with SM2)
// and the platform's own signing certificate. already_exists when there is one.
Status init_ca(store::Tx& tx, Env& env, const CaInit& init);

Result<CertInfo> get_cert(store::Conn& conn, std::string_view serial);
Result<std::optional<CertStatus>> cert_status(store::Conn& conn, std::string_view serial);
Result<Page<CertInfo>> list_certs(store::Conn& conn, std::optional<UserId> user,
                                  std::optional<OrgId> org, std::int64_t before, std::size_t limit);
Result<std::vector<ExternalCa>> list_external(store::Conn& conn);
// Our cross-certificates (PEM), for building paths to external CAs' certificates.
Result<std::vector<std::string>> cross_cert_pems(store::Conn& conn);
Result<Signature> get_signature(store::Conn& conn, std::int64_t id);
Result<Page<Signature>> list_signatures(store::Conn& conn, std::optional<UserId> user,
                                        std::optional<OrgId> org, std::int64_t before,
                                        std::size_t limit);

// Verifies an evidence package with no server: the document (when given) against the hashes,
// the CMS signature, the signer's path to one of `trusted` (PEM roots; cross-certificates and
// intermediates from `untrusted` and the package) at the timestamp's time, the OCSP answer, and
// the timestamp token.
Verification verify_package(std::string_view package_json, std::optional<std::string_view> document,
                            const std::vector<std::string>& trusted_pems,
                            const std::vector<std::string>& untrusted_pems);

// Validates a certificate's path to one of `trusted` (PEM) through `untrusted` (PEM bundles:
// intermediates, cross-certificates) at at_us (0: now), SM2 IDs set on every link. Returns the
// path's subjects, leaf first, or validation_failed naming the reason.
Result<std::vector<std::string>> validate_path(std::string_view leaf_pem,
                                               const std::vector<std::string>& trusted,
                                               const std::vector<std::string>& untrusted,
                                               std::int64_t at_us);

// Standard base64 (RFC 4648 §4), as in evidence packages and RFC 6960 GET requests. Decoding
// accepts missing padding; nullopt for anything that is not base64.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// Checks a base64 signature by the certificate's key (with the SM2 ID for SM2 keys).
bool verify_with_cert(std::string_view cert_pem, std::string_view data,
                      std::string_view signature_base64);
// The SHA-256 fingerprint (hex) of the first certificate in a PEM text; empty if none.
std::string fingerprint_of_pem(std::string_view pem);

// A signing time and the revocation in the database: valid when the certificate was not revoked
// before the signature's timestamp.
void check_revocation_now(Verification& v, const std::optional<CertStatus>& status);

}  // namespace jishi::pki
