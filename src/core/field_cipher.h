// Encryption of personal data at rest (phone numbers, ID numbers): AES-256-GCM under a key
// from the server's key file, the key id stored with each ciphertext so keys can rotate, the
// field's name bound in as associated data so ciphertexts cannot be moved between fields; plus
// a keyed hash (HMAC-SHA256 under a separate, never-rotated lookup key) for equality lookups.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi {

class FieldCipher {
 public:
  // Loads the key file, creating it (mode 0600) with fresh keys when it does not exist.
  // Format: one "enc <key_id> <64 hex>" line per encryption key (the last is current) and
  // one "lookup <64 hex>" line.
  static Result<FieldCipher> open_or_create(const std::string& path);
  // Keys from memory, for tests.
  static FieldCipher from_keys(std::string key_id, std::string enc_key, std::string lookup_key);

  // "<key_id>:<base64url(nonce || ciphertext || tag)>"
  std::string encrypt(std::string_view field, std::string_view plaintext) const;
  Result<std::string> decrypt(std::string_view field, std::string_view sealed) const;
  // Hex HMAC over field + value: equal inputs give equal hashes, nothing else is revealed.
  std::string lookup_hash(std::string_view field, std::string_view value) const;
  const std::string& current_key_id() const { return current_; }

 private:
  std::map<std::string, std::string, std::less<>> keys_;  // key id -> 32-byte key
  std::string current_;
  std::string lookup_key_;
};

}  // namespace jishi
