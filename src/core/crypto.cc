#include "core/crypto.h"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace jishi::crypto {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  // Small requests (nonces, IVs) come from a per-thread buffer refilled from the DRBG 4 KiB at
  // a time: RAND_bytes costs about a microsecond per call whatever the size.
  constexpr std::size_t kPool = 4096;
  thread_local unsigned char pool[kPool];
  thread_local std::size_t left = 0;
  if (n <= 64) {
    if (left < n) {
      if (RAND_bytes(pool, static_cast<int>(kPool)) != 1) std::abort();
      left = kPool;
    }
    std::memcpy(out.data(), pool + kPool - left, n);
    OPENSSL_cleanse(pool + kPool - left, n);
    left -= n;
    return out;
  }
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    std::abort();  // no randomness means no safe tokens or keys: stop rather than degrade
  return out;
}

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  // Fetched once, and a context per thread reused: an implicit fetch, or a context made and
  // freed per call, costs more than hashing a token.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
    std::abort();  // SHA-256 of a valid buffer cannot fail
  return out;
}

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  char* p = out.data();
  for (auto b : bytes) {
    *p++ = kDigits[b >> 4];
    *p++ = kDigits[b & 15];
  }
  return out;
}

std::string hex(std::string_view bytes) {
  return hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = val(text[2 * i]), lo = val(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

void append_base64url(std::string& out, std::string_view bytes) {
  // Written into place: appending a character at a time cost more than the cipher around it.
  std::size_t at = out.size();
  out.resize(at + (bytes.size() * 4 + 2) / 3);
  char* o = out.data() + at;
  auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = kB64[(v >> 6) & 63];
    *o++ = kB64[v & 63];
  }
  if (bytes.size() - i == 1) {
    std::uint32_t v = b(i) << 16;
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    std::uint32_t v = b(i) << 16 | b(i + 1) << 8;
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = kB64[(v >> 6) & 63];
  }
}

std::string base64url(std::string_view bytes) {
  std::string out;
  append_base64url(out, bytes);
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  static constexpr auto kValue = [] {
    std::array<std::int8_t, 256> v{};
    v.fill(-1);
    for (int k = 0; k < 64; ++k)
      v[static_cast<unsigned char>(kB64[k])] = static_cast<std::int8_t>(k);
    return v;
  }();
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    std::int8_t d = kValue[static_cast<unsigned char>(c)];
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool equal_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string new_token(std::string_view prefix) {
  return std::string(prefix) + base64url(random_bytes(32));
}

std::string token_hash(std::string_view token) {
  return hex(sha256(token));
}

}  // namespace jishi::crypto
