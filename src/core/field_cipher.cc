#include "core/field_cipher.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "core/crypto.h"

namespace jishi {

namespace {
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;
}  // namespace

FieldCipher FieldCipher::from_keys(std::string key_id, std::string enc_key,
                                   std::string lookup_key) {
  FieldCipher c;
  c.keys_.emplace(key_id, std::move(enc_key));
  c.current_ = std::move(key_id);
  c.lookup_key_ = std::move(lookup_key);
  return c;
}

Result<FieldCipher> FieldCipher::open_or_create(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::string text = "# jishi key file: keep secret, back it up; losing it loses personal data\n";
    text += "enc k1 " + crypto::hex(crypto::random_bytes(kKeyBytes)) + "\n";
    text += "lookup " + crypto::hex(crypto::random_bytes(kKeyBytes)) + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(Code::storage_failure, "cannot create key file " + path);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return fail(Code::storage_failure, "cannot write key file " + path);
  } else if ((st.st_mode & 077) != 0) {
    return fail(Code::storage_failure,
                "key file " + path + " is readable by group or others; chmod 600 it");
  }
  std::ifstream in(path);
  if (!in) return fail(Code::storage_failure, "cannot read key file " + path);
  FieldCipher c;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, a, b;
    ls >> kind >> a >> b;
    if (kind == "enc") {
      auto key = crypto::unhex(b);
      if (!key || key->size() != kKeyBytes)
        return fail(Code::storage_failure, "key file " + path + ": bad key " + a);
      c.keys_[a] = *key;
      c.current_ = a;
    } else if (kind == "lookup") {
      auto key = crypto::unhex(a);
      if (!key || key->size() != kKeyBytes)
        return fail(Code::storage_failure, "key file " + path + ": bad lookup key");
      c.lookup_key_ = *key;
    }
  }
  if (c.current_.empty() || c.lookup_key_.empty())
    return fail(Code::storage_failure, "key file " + path + " lacks an enc or lookup key");
  return c;
}

std::string FieldCipher::encrypt(std::string_view field, std::string_view plaintext) const {
  const std::string& key = keys_.at(current_);
  std::string nonce = crypto::random_bytes(kNonceBytes);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(nonce)) &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(field.data()),
                              static_cast<int>(field.size())) &&
            EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes,
                              &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) &&
            EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                out.data() + kNonceBytes + plaintext.size());
  if (!ok) std::abort();  // AES-GCM with valid sizes cannot fail; if it does, stop
  return current_ + ":" + crypto::base64url(out);
}

Result<std::string> FieldCipher::decrypt(std::string_view field, std::string_view sealed) const {
  auto colon = sealed.find(':');
  if (colon == std::string_view::npos) return fail(Code::internal, "malformed ciphertext");
  auto it = keys_.find(sealed.substr(0, colon));
  if (it == keys_.end()) return fail(Code::internal, "ciphertext under an unknown key id");
  auto raw = crypto::unbase64url(sealed.substr(colon + 1));
  if (!raw || raw->size() < kNonceBytes + kTagBytes)
    return fail(Code::internal, "malformed ciphertext");
  std::size_t n = raw->size() - kNonceBytes - kTagBytes;
  std::string plain(n, '\0');
  auto* p = reinterpret_cast<const unsigned char*>(raw->data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string tag = raw->substr(kNonceBytes + n);
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                               reinterpret_cast<const unsigned char*>(it->second.data()), p) &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                              reinterpret_cast<const unsigned char*>(field.data()),
                              static_cast<int>(field.size())) &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              p + kNonceBytes, static_cast<int>(n)) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) &&
            EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
  if (!ok) return fail(Code::internal, "ciphertext failed authentication");
  return plain;
}

std::string FieldCipher::lookup_hash(std::string_view field, std::string_view value) const {
  std::string msg(field);
  msg += '\0';
  msg += value;
  return crypto::hex(crypto::hmac_sha256(lookup_key_, msg));
}

}  // namespace jishi
