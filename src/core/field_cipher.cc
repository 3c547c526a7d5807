#include "core/field_cipher.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <sstream>

#include "core/crypto.h"

namespace jishi {

namespace {
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kSm4IvBytes = 16;
constexpr std::size_t kSm3Bytes = 32;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* u(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Algorithms fetched once: OpenSSL 3 otherwise fetches them from the provider on every call,
// which costs more than encrypting a phone number.
const EVP_CIPHER* aes_gcm() {
  static EVP_CIPHER* const c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return c;
}
const EVP_CIPHER* sm4_ctr_cipher() {
  static EVP_CIPHER* const c = EVP_CIPHER_fetch(nullptr, "SM4-CTR", nullptr);
  return c;
}

// A cipher context per thread, reset between uses.
EVP_CIPHER_CTX* thread_ctx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

// An encryption context per thread that keeps its key schedule between fields: setting the key
// costs more than encrypting an address field (AES-GCM precomputes its GHASH table). A new
// cipher or key (rotation) re-keys it; otherwise only the IV is set.
EVP_CIPHER_CTX* keyed_encrypt_ctx(const EVP_CIPHER* cipher, std::string_view key,
                                  std::string_view iv) {
  struct Keyed {
    CipherCtx ctx{EVP_CIPHER_CTX_new()};
    const EVP_CIPHER* cipher = nullptr;
    std::string key;
  };
  thread_local Keyed k;
  if (!k.ctx) return nullptr;
  if (k.cipher == cipher && k.key == key)
    return EVP_EncryptInit_ex(k.ctx.get(), nullptr, nullptr, nullptr, u(iv)) ? k.ctx.get()
                                                                             : nullptr;
  EVP_CIPHER_CTX_reset(k.ctx.get());
  k.cipher = nullptr;
  k.key.clear();
  if (!EVP_EncryptInit_ex(k.ctx.get(), cipher, nullptr, u(key), u(iv))) return nullptr;
  k.cipher = cipher;
  k.key.assign(key);
  return k.ctx.get();
}

// HMAC-SM3 over the concatenation of `parts`. A keyed MAC context per thread is kept between
// calls and only re-initialised (the key's inner and outer pads stay computed): the one-shot
// HMAC() fetches the algorithm and builds a context each time, which cost about eight times as
// much as the MAC itself.
std::string hmac_sm3(std::string_view key, std::initializer_list<std::string_view> parts) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  struct Keyed {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx;
    std::string key;
  };
  thread_local Keyed k;
  bool ok = mac != nullptr;
  if (ok && k.ctx && k.key == key) {
    ok = EVP_MAC_init(k.ctx.get(), nullptr, 0, nullptr);  // the same key: only reset
  } else if (ok) {
    k.key.clear();
    k.ctx.reset(EVP_MAC_CTX_new(mac));
    char digest[] = "SM3";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    ok = k.ctx && EVP_MAC_init(k.ctx.get(), u(key), key.size(), params);
    if (ok) k.key.assign(key);
  }
  for (std::string_view p : parts) ok = ok && EVP_MAC_update(k.ctx.get(), u(p), p.size());
  std::string out(kSm3Bytes, '\0');
  std::size_t len = 0;
  ok = ok &&
       EVP_MAC_final(k.ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size());
  if (!ok || len != kSm3Bytes) {
    k.ctx.reset();  // start afresh next time
    k.key.clear();
    std::abort();  // HMAC-SM3 with valid sizes cannot fail
  }
  return out;
}

struct Key {
  bool sm4 = false;
  std::string bytes;    // the 32 bytes from the key file
  std::string sm4_key;  // derived: 16 bytes
  std::string mac_key;  // derived: 32 bytes
};

Key make_key(std::string bytes, bool sm4) {
  Key k;
  k.sm4 = sm4;
  if (sm4) {
    k.sm4_key = hmac_sm3(bytes, {"jishi field cipher sm4 enc"}).substr(0, 16);
    k.mac_key = hmac_sm3(bytes, {"jishi field cipher sm4 mac"});
  }
  k.bytes = std::move(bytes);
  return k;
}

// The MAC binds the field name (length-prefixed), the IV and the ciphertext.
std::string sm4_mac(std::string_view mac_key, std::string_view field, std::string_view iv_and_ct) {
  auto n = static_cast<std::uint32_t>(field.size());
  char length[4];
  for (int i = 0; i < 4; ++i) length[i] = static_cast<char>((n >> ((3 - i) * 8)) & 0xff);
  return hmac_sm3(mac_key, {std::string_view(length, 4), field, iv_and_ct});
}

bool sm4_ctr(const std::string& key, std::string_view iv, std::string_view in, char* out) {
  EVP_CIPHER_CTX* ctx = keyed_encrypt_ctx(sm4_ctr_cipher(), key, iv);
  int len = 0;
  return ctx &&
         (in.empty() || EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out), &len, u(in),
                                          static_cast<int>(in.size()))) &&
         EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out) + len, &len);
}

// "<key id>:<base64url of the sealed bytes>", built in one buffer.
std::string with_key_id(std::string_view key_id, std::string_view sealed_bytes) {
  std::string out;
  out.reserve(key_id.size() + 1 + (sealed_bytes.size() * 4 + 2) / 3);
  out.append(key_id).push_back(':');
  crypto::append_base64url(out, sealed_bytes);
  return out;
}

bool valid_scheme(std::string_view s) {
  return s == "sm4" || s == "aes";
}
}  // namespace

struct FieldCipher::Keys {
  std::map<std::string, Key, std::less<>> by_id;
  std::string current;
  std::string lookup_key;
};

struct FieldCipher::Shared {
  mutable std::shared_mutex mu;
  std::shared_ptr<const FieldCipher::Keys> keys;
  std::shared_ptr<const FieldCipher::Keys> get() const {
    std::shared_lock lock(mu);
    return keys;
  }
};

namespace {
Result<std::shared_ptr<FieldCipher::Keys>> parse_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Code::storage_failure, "no key file " + path);
  if ((st.st_mode & 077) != 0)
    return fail(Code::storage_failure,
                "key file " + path + " is readable by group or others; chmod 600 it");
  std::ifstream in(path);
  if (!in) return fail(Code::storage_failure, "cannot read key file " + path);
  auto keys = std::make_shared<FieldCipher::Keys>();
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, a, b, c;
    ls >> kind >> a >> b >> c;
    if (kind == "enc") {
      auto key = crypto::unhex(b);
      if (!key || key->size() != kKeyBytes || a.empty() || a.find(':') != std::string::npos ||
          !(c.empty() || valid_scheme(c)))
        return fail(Code::storage_failure, "key file " + path + ": bad key " + a);
      keys->by_id[a] = make_key(*key, c == "sm4");
      keys->current = a;
    } else if (kind == "lookup") {
      auto key = crypto::unhex(a);
      if (!key || key->size() != kKeyBytes)
        return fail(Code::storage_failure, "key file " + path + ": bad lookup key");
      keys->lookup_key = *key;
    }
  }
  if (keys->current.empty() || keys->lookup_key.empty())
    return fail(Code::storage_failure, "key file " + path + " lacks an enc or lookup key");
  return keys;
}

Status write_file_atomically(const std::string& path, const std::string& text, bool exclusive) {
  std::string tmp = exclusive ? path : path + ".tmp";
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(tmp.c_str(), flags, 0600);
  if (fd < 0) return fail(Code::storage_failure, "cannot create key file " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (ok && !exclusive) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) return fail(Code::storage_failure, "cannot write key file " + path);
  return {};
}
}  // namespace

FieldCipher FieldCipher::from_keys(std::string key_id, std::string enc_key, std::string lookup_key,
                                   std::string_view scheme) {
  auto keys = std::make_shared<Keys>();
  keys->by_id.emplace(key_id, make_key(std::move(enc_key), scheme == "sm4"));
  keys->current = std::move(key_id);
  keys->lookup_key = std::move(lookup_key);
  FieldCipher c;
  c.shared_ = std::make_shared<Shared>();
  c.shared_->keys = std::move(keys);
  return c;
}

Result<FieldCipher> FieldCipher::open_or_create(const std::string& path, std::string_view scheme) {
  if (!valid_scheme(scheme)) return fail(Code::validation_failed, "key scheme must be sm4 or aes");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::string text = "# jishi key file: keep secret, back it up; losing it loses personal data\n";
    text +=
        "enc k1 " + crypto::hex(crypto::random_bytes(kKeyBytes)) + " " + std::string(scheme) + "\n";
    text += "lookup " + crypto::hex(crypto::random_bytes(kKeyBytes)) + "\n";
    JISHI_TRY(write_file_atomically(path, text, true));
  }
  JISHI_ASSIGN_OR_RETURN(auto keys, parse_key_file(path));
  FieldCipher c;
  c.path_ = path;
  c.shared_ = std::make_shared<Shared>();
  c.shared_->keys = std::move(keys);
  return c;
}

Result<std::string> FieldCipher::add_key(const std::string& path, std::string_view scheme) {
  if (!valid_scheme(scheme)) return fail(Code::validation_failed, "key scheme must be sm4 or aes");
  JISHI_ASSIGN_OR_RETURN(auto keys, parse_key_file(path));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  if (!body.empty() && body.back() != '\n') body += '\n';
  std::string id;
  for (int n = static_cast<int>(keys->by_id.size()) + 1;; ++n) {
    id = "k" + std::to_string(n);
    if (!keys->by_id.contains(id)) break;
  }
  body += "enc " + id + " " + crypto::hex(crypto::random_bytes(kKeyBytes)) + " " +
          std::string(scheme) + "\n";
  JISHI_TRY(write_file_atomically(path, body, false));
  return id;
}

Result<bool> FieldCipher::reload() {
  if (path_.empty()) return false;
  JISHI_ASSIGN_OR_RETURN(auto keys, parse_key_file(path_));
  std::unique_lock lock(shared_->mu);
  if (keys->lookup_key != shared_->keys->lookup_key)
    return fail(Code::storage_failure, "key file " + path_ + ": the lookup key changed");
  for (const auto& [id, k] : shared_->keys->by_id) {
    auto it = keys->by_id.find(id);
    if (it == keys->by_id.end() || it->second.bytes != k.bytes)
      return fail(Code::storage_failure, "key file " + path_ + ": key " + id + " was removed");
  }
  bool changed = keys->current != shared_->keys->current;
  shared_->keys = std::move(keys);
  return changed;
}

std::string FieldCipher::current_key_id() const {
  return shared_->get()->current;
}

std::string FieldCipher::current_scheme() const {
  auto keys = shared_->get();
  return keys->by_id.at(keys->current).sm4 ? "sm4" : "aes";
}

bool FieldCipher::under_current_key(std::string_view sealed) const {
  auto keys = shared_->get();
  return sealed.size() > keys->current.size() && sealed[keys->current.size()] == ':' &&
         sealed.starts_with(keys->current);
}

std::string FieldCipher::encrypt(std::string_view field, std::string_view plaintext) const {
  auto keys = shared_->get();
  const Key& key = keys->by_id.at(keys->current);
  if (key.sm4) {
    std::string out = crypto::random_bytes(kSm4IvBytes);
    out.resize(kSm4IvBytes + plaintext.size());
    if (!sm4_ctr(key.sm4_key, std::string_view(out).substr(0, kSm4IvBytes), plaintext,
                 out.data() + kSm4IvBytes))
      std::abort();  // SM4-CTR with valid sizes cannot fail
    out += sm4_mac(key.mac_key, field, out);
    return with_key_id(keys->current, out);
  }
  std::string nonce = crypto::random_bytes(kNonceBytes);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  EVP_CIPHER_CTX* ctx = keyed_encrypt_ctx(aes_gcm(), key.bytes, nonce);
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptUpdate(ctx, nullptr, &len, u(field), static_cast<int>(field.size())) &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes, &len,
                              u(plaintext), static_cast<int>(plaintext.size())) &&
            EVP_EncryptFinal_ex(ctx, nullptr, &len) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                out.data() + kNonceBytes + plaintext.size());
  if (!ok) std::abort();  // AES-GCM with valid sizes cannot fail; if it does, stop
  return with_key_id(keys->current, out);
}

Result<std::string> FieldCipher::decrypt(std::string_view field, std::string_view sealed) const {
  auto colon = sealed.find(':');
  if (colon == std::string_view::npos) return fail(Code::internal, "malformed ciphertext");
  auto keys = shared_->get();
  auto it = keys->by_id.find(sealed.substr(0, colon));
  if (it == keys->by_id.end()) return fail(Code::internal, "ciphertext under an unknown key id");
  const Key& key = it->second;
  auto raw = crypto::unbase64url(sealed.substr(colon + 1));
  if (key.sm4) {
    if (!raw || raw->size() < kSm4IvBytes + kSm3Bytes)
      return fail(Code::internal, "malformed ciphertext");
    std::string_view body = std::string_view(*raw).substr(0, raw->size() - kSm3Bytes);
    std::string_view tag = std::string_view(*raw).substr(raw->size() - kSm3Bytes);
    if (!crypto::equal_secret(sm4_mac(key.mac_key, field, body), tag))
      return fail(Code::internal, "ciphertext failed authentication");
    std::string plain(body.size() - kSm4IvBytes, '\0');
    if (!sm4_ctr(key.sm4_key, body.substr(0, kSm4IvBytes), body.substr(kSm4IvBytes), plain.data()))
      return fail(Code::internal, "SM4 decryption failed");
    return plain;
  }
  if (!raw || raw->size() < kNonceBytes + kTagBytes)
    return fail(Code::internal, "malformed ciphertext");
  std::size_t n = raw->size() - kNonceBytes - kTagBytes;
  std::string plain(n, '\0');
  auto* p = reinterpret_cast<const unsigned char*>(raw->data());
  EVP_CIPHER_CTX* ctx = thread_ctx();
  int len = 0;
  std::string tag = raw->substr(kNonceBytes + n);
  bool ok = ctx && EVP_DecryptInit_ex(ctx, aes_gcm(), nullptr, u(key.bytes), p) &&
            EVP_DecryptUpdate(ctx, nullptr, &len, u(field), static_cast<int>(field.size())) &&
            EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                              p + kNonceBytes, static_cast<int>(n)) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) &&
            EVP_DecryptFinal_ex(ctx, nullptr, &len) == 1;
  if (!ok) return fail(Code::internal, "ciphertext failed authentication");
  return plain;
}

std::string FieldCipher::lookup_hash(std::string_view field, std::string_view value) const {
  std::string msg(field);
  msg += '\0';
  msg += value;
  return crypto::hex(crypto::hmac_sha256(shared_->get()->lookup_key, msg));
}

}  // namespace jishi
