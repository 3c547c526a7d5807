// Signatures on the gateway protocol, the way Chinese payment gateways (Alipay, UnionPay open
// platform) sign: parameters are canonicalised into one string and signed with SM2-with-SM3 or
// SHA256withRSA; signatures travel base64-encoded. Keys are PEM (PKCS#8 private, SPKI public).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi::pay {

// SM2: SM2 signature over SM3 with the distinguishing ID "1234567812345678" (GM/T 0009; OpenSSL
// 3.0 defaults to an empty ID, so it is always set). RSA2: SHA256withRSA, PKCS#1 v1.5, 2048 bits.
enum class SignType { sm2, rsa2 };
std::string_view name_of(SignType t);  // "SM2" | "RSA2", as on the wire
std::optional<SignType> parse_sign_type(std::string_view name);

using SignParams = std::map<std::string, std::string>;

// The string that is signed: every parameter except `sign` and `sign_type`, empty values
// dropped, sorted by key in byte order, joined as k1=v1&k2=v2 with raw (not URL-encoded) UTF-8
// values. sign_type is left out in both directions (Alipay leaves it out of notifications): the
// verifier never takes the type from the message, it uses the one configured for the peer.
std::string canonicalize(const SignParams& params);

struct KeyPair {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};
Result<KeyPair> generate_key_pair(SignType type);

// Reads <dir>/<stem>_<sm2|rsa2>.pem and its .pub.pem, creating both (private key mode 0600) when
// absent. The directory is created if needed.
Result<KeyPair> load_or_create_key_pair(SignType type, const std::string& dir,
                                        std::string_view stem);

// A private key ready to sign. Cheap to copy (shared handle); usable from several threads.
class Signer {
 public:
  static Result<Signer> from_pem(SignType type, std::string_view private_pem);
  SignType type() const { return type_; }
  // Signs the bytes of `message`; returns the signature in standard base64.
  Result<std::string> sign(std::string_view message) const;
  // sign(canonicalize(params)).
  Result<std::string> sign_params(const SignParams& params) const;

 private:
  SignType type_ = SignType::sm2;
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// A public key ready to verify. Cheap to copy; usable from several threads.
class Verifier {
 public:
  static Result<Verifier> from_pem(SignType type, std::string_view public_pem);
  SignType type() const { return type_; }
  // Code::unauthenticated when the signature is malformed or does not match.
  Status verify(std::string_view message, std::string_view signature_base64) const;
  // Verifies params["sign"] over canonicalize(params); a missing sign is unauthenticated.
  Status verify_params(const SignParams& params) const;

 private:
  SignType type_ = SignType::sm2;
  std::shared_ptr<void> key_;  // EVP_PKEY
};

// Standard base64 (RFC 4648 section 4, with padding), as gateways send signatures.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace jishi::pay
