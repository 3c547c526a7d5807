// Gateway signatures over OpenSSL 3.0 (see /work/shared/OPENSSL-SM.md for the SM2 ID rule).
#include "pay/gateway_sign.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace jishi::pay {

namespace {

constexpr char kSm2Id[] = "1234567812345678";
constexpr std::size_t kSm2IdBytes = 16;
constexpr int kRsaBits = 2048;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

std::shared_ptr<void> own(EVP_PKEY* key) {
  return std::shared_ptr<void>(key, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
}

Status check_key_type(SignType type, EVP_PKEY* key) {
  if (type == SignType::sm2) {
    if (!EVP_PKEY_is_a(key, "SM2"))
      return fail(Code::validation_failed, "the key is not an SM2 key");
    return {};
  }
  if (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_bits(key) < kRsaBits)
    return fail(Code::validation_failed, "the key is not an RSA key of at least 2048 bits");
  return {};
}

// Prepares a digest context for SM2-with-SM3 (with the ID) or SHA256withRSA. The pkey context
// of an SM2 key is owned by the caller (EVP_MD_CTX_set_pkey_ctx does not take it).
struct DigestCtx {
  MdCtxPtr md{EVP_MD_CTX_new()};
  PkeyCtxPtr pkey;
};

Result<DigestCtx> digest_ctx(SignType type, EVP_PKEY* key, bool signing) {
  DigestCtx d;
  if (!d.md) return fail(Code::internal, "EVP_MD_CTX_new failed");
  if (type == SignType::sm2) {
    d.pkey.reset(EVP_PKEY_CTX_new(key, nullptr));
    if (!d.pkey || EVP_PKEY_CTX_set1_id(d.pkey.get(), kSm2Id, kSm2IdBytes) <= 0)
      return fail(Code::internal, "cannot set the SM2 distinguishing ID");
    EVP_MD_CTX_set_pkey_ctx(d.md.get(), d.pkey.get());
    int rc = signing ? EVP_DigestSignInit(d.md.get(), nullptr, EVP_sm3(), nullptr, key)
                     : EVP_DigestVerifyInit(d.md.get(), nullptr, EVP_sm3(), nullptr, key);
    if (rc <= 0) return fail(Code::internal, "SM2 digest init failed");
    return d;
  }
  int rc = signing ? EVP_DigestSignInit(d.md.get(), nullptr, EVP_sha256(), nullptr, key)
                   : EVP_DigestVerifyInit(d.md.get(), nullptr, EVP_sha256(), nullptr, key);
  if (rc <= 0) return fail(Code::internal, "RSA digest init failed");
  return d;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Code::not_found, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_file(const std::string& path, std::string_view text, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return fail(Code::storage_failure, "cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(Code::storage_failure, "cannot write " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace

std::string_view name_of(SignType t) {
  return t == SignType::sm2 ? "SM2" : "RSA2";
}

std::optional<SignType> parse_sign_type(std::string_view name) {
  if (name == "SM2") return SignType::sm2;
  if (name == "RSA2") return SignType::rsa2;
  return std::nullopt;
}

std::string canonicalize(const SignParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {  // std::map: byte order of keys
    if (k == "sign" || k == "sign_type" || v.empty()) continue;
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Result<KeyPair> generate_key_pair(SignType type) {
  EVP_PKEY* raw = type == SignType::sm2
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kRsaBits));
  if (!raw) return fail(Code::internal, "key generation failed");
  auto key = own(raw);
  BioPtr priv(BIO_new(BIO_s_mem())), pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), raw, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), raw) != 1)
    return fail(Code::internal, "cannot encode the key pair as PEM");
  auto text = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  return KeyPair{text(priv.get()), text(pub.get())};
}

Result<KeyPair> load_or_create_key_pair(SignType type, const std::string& dir,
                                        std::string_view stem) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Code::storage_failure, "cannot create " + dir + ": " + std::strerror(errno));
  std::string base = dir + "/" + std::string(stem) + "_" + (type == SignType::sm2 ? "sm2" : "rsa2");
  std::string priv_path = base + ".pem", pub_path = base + ".pub.pem";
  auto priv = read_file(priv_path);
  auto pub = read_file(pub_path);
  if (priv && pub) {
    JISHI_TRY(Signer::from_pem(type, *priv));
    JISHI_TRY(Verifier::from_pem(type, *pub));
    return KeyPair{std::move(*priv), std::move(*pub)};
  }
  JISHI_ASSIGN_OR_RETURN(auto pair, generate_key_pair(type));
  JISHI_TRY(write_file(pub_path, pair.public_pem, 0644));
  JISHI_TRY(write_file(priv_path, pair.private_pem, 0600));
  return pair;
}

Result<Signer> Signer::from_pem(SignType type, std::string_view private_pem) {
  BioPtr bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) return fail(Code::validation_failed, "not a PEM private key");
  Signer s;
  s.type_ = type;
  s.key_ = own(raw);
  JISHI_TRY(check_key_type(type, raw));
  return s;
}

Result<std::string> Signer::sign(std::string_view message) const {
  auto* key = static_cast<EVP_PKEY*>(key_.get());
  if (!key) return fail(Code::internal, "no signing key");
  JISHI_ASSIGN_OR_RETURN(auto ctx, digest_ctx(type_, key, true));
  std::size_t len = 0;
  auto data = reinterpret_cast<const unsigned char*>(message.data());
  if (EVP_DigestSign(ctx.md.get(), nullptr, &len, data, message.size()) <= 0)
    return fail(Code::internal, "signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     message.size()) <= 0)
    return fail(Code::internal, "signing failed");
  sig.resize(len);
  return base64_encode(sig);
}

Result<std::string> Signer::sign_params(const SignParams& params) const {
  return sign(canonicalize(params));
}

Result<Verifier> Verifier::from_pem(SignType type, std::string_view public_pem) {
  BioPtr bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) return fail(Code::validation_failed, "not a PEM public key");
  Verifier v;
  v.type_ = type;
  v.key_ = own(raw);
  JISHI_TRY(check_key_type(type, raw));
  return v;
}

Status Verifier::verify(std::string_view message, std::string_view signature_base64) const {
  auto* key = static_cast<EVP_PKEY*>(key_.get());
  if (!key) return fail(Code::internal, "no verification key");
  auto sig = base64_decode(signature_base64);
  if (!sig || sig->empty()) return fail(Code::unauthenticated, "malformed signature");
  JISHI_ASSIGN_OR_RETURN(auto ctx, digest_ctx(type_, key, false));
  int rc = EVP_DigestVerify(ctx.md.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                            sig->size(), reinterpret_cast<const unsigned char*>(message.data()),
                            message.size());
  if (rc != 1) return fail(Code::unauthenticated, "signature does not verify");
  return {};
}

Status Verifier::verify_params(const SignParams& params) const {
  auto it = params.find("sign");
  if (it == params.end() || it->second.empty()) return fail(Code::unauthenticated, "missing sign");
  return verify(canonicalize(params), it->second);
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool pad = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    if (!alnum && c != '+' && c != '/' && !pad) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  if (text.ends_with("=="))
    padding = 2;
  else if (text.ends_with('='))
    padding = 1;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

}  // namespace jishi::pay
