// Encryption of personal data at rest (phone numbers, ID numbers, addresses, custodial keys):
// one service for every module. Each key in the server's key file has a scheme:
//   sm4  SM4-CTR with HMAC-SM3 over the field name, IV and ciphertext (encrypt-then-MAC;
//        OpenSSL 3.0 has no SM4-GCM), keys derived from the key's 32 bytes with HMAC-SM3;
//   aes  AES-256-GCM with the field name as associated data.
// The key id is stored with each ciphertext, so keys rotate: `jishi keys rotate` appends a new
// current key and the server re-encrypts old ciphertexts in the background. The field's name is
// bound in, so ciphertexts cannot be moved between fields. A keyed hash (HMAC-SHA256 under a
// separate, never-rotated lookup key) serves equality lookups.
//
// Thread-safe: reload() may swap in a new key set while other threads encrypt and decrypt.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

class FieldCipher {
 public:
  // Loads the key file, creating it (mode 0600) with a fresh key of `scheme` ("sm4" or "aes")
  // when it does not exist. Format: one "enc <key_id> <64 hex> [sm4|aes]" line per encryption
  // key (the last is current; no scheme means aes) and one "lookup <64 hex>" line.
  static Result<FieldCipher> open_or_create(const std::string& path,
                                            std::string_view scheme = "aes");
  // Appends a fresh current key of `scheme` to the key file (rewritten atomically, fsynced);
  // returns its id. A running server picks it up with reload().
  static Result<std::string> add_key(const std::string& path, std::string_view scheme);
  // Keys from memory, for tests.
  static FieldCipher from_keys(std::string key_id, std::string enc_key, std::string lookup_key,
                               std::string_view scheme = "aes");

  // Re-reads the key file this cipher was opened from; true when the current key changed.
  Result<bool> reload();

  // "<key_id>:<base64url(...)>"
  std::string encrypt(std::string_view field, std::string_view plaintext) const;
  Result<std::string> decrypt(std::string_view field, std::string_view sealed) const;
  // Hex HMAC over field + value: equal inputs give equal hashes, nothing else is revealed.
  std::string lookup_hash(std::string_view field, std::string_view value) const;
  std::string current_key_id() const;
  std::string current_scheme() const;
  // Whether a stored ciphertext is under the current key (rotation skips those).
  bool under_current_key(std::string_view sealed) const;

  struct Keys;

 private:
  struct Shared;
  std::string path_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace jishi
