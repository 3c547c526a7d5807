// Small cryptographic helpers over OpenSSL: randomness, hashes, MACs and encodings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jishi::crypto {

// Cryptographically secure random bytes (OpenSSL's DRBG); aborts if the DRBG fails.
std::string random_bytes(std::size_t n);
std::array<std::uint8_t, 32> sha256(std::string_view data);
std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data);
std::string hex(std::span<const std::uint8_t> bytes);
std::string hex(std::string_view bytes);
std::optional<std::string> unhex(std::string_view text);
std::string base64url(std::string_view bytes);  // no padding
void append_base64url(std::string& out, std::string_view bytes);
std::optional<std::string> unbase64url(std::string_view text);
// Constant-time equality for secrets of equal length.
bool equal_secret(std::string_view a, std::string_view b);
// An opaque bearer token: prefix + 32 random bytes in base64url (256 bits of entropy).
std::string new_token(std::string_view prefix);
// The stored form of a token: hex SHA-256. Tokens have full entropy, so no salt is needed.
std::string token_hash(std::string_view token);

}  // namespace jishi::crypto
