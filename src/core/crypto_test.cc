#include "core/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <utility>

#include "core/field_cipher.h"

namespace jishi {
namespace {

TEST(Crypto, Sha256MatchesTheKnownVector) {
  EXPECT_EQ(crypto::hex(crypto::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The thread's context is reused: each hash must start afresh, whatever came before.
  EXPECT_EQ(crypto::hex(crypto::sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::hex(crypto::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(crypto::hex(crypto::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, Base64UrlRoundTripsAllLengths) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::string bytes = crypto::random_bytes(n);
    auto back = crypto::unbase64url(crypto::base64url(bytes));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_FALSE(crypto::unbase64url("a+b/"));
}

TEST(Crypto, Base64UrlMatchesTheRfc4648VectorsWithoutPadding) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(crypto::base64url(plain), encoded);
    EXPECT_EQ(crypto::unbase64url(encoded), std::string(plain));
  }
  std::string out = "k1:";
  crypto::append_base64url(out, "foobar");
  EXPECT_EQ(out, "k1:Zm9vYmFy");
  EXPECT_FALSE(crypto::unbase64url("Zm9v YmFy"));
  EXPECT_FALSE(crypto::unbase64url("Zm9vY"));  // 4n+1 characters cannot be base64
}

TEST(Crypto, TokensAreDistinctAndHashedStably) {
  auto a = crypto::new_token("jss_"), b = crypto::new_token("jss_");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4 + 43);
  EXPECT_EQ(crypto::token_hash(a), crypto::token_hash(a));
  EXPECT_NE(crypto::token_hash(a), crypto::token_hash(b));
}

// The standard vectors (GB/T 32905, GB/T 32907) through the OpenSSL primitives the sm4 scheme
// is built from.
std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return crypto::hex(std::string_view(reinterpret_cast<char*>(out), n));
}

TEST(Crypto, Sm3MatchesTheStandardVectors) {
  EXPECT_EQ(digest(EVP_sm3(), "abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  std::string abcd;
  for (int i = 0; i < 16; ++i) abcd += "abcd";
  EXPECT_EQ(digest(EVP_sm3(), abcd),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

TEST(Crypto, Sm4MatchesTheStandardVector) {
  auto key = crypto::unhex("0123456789abcdeffedcba9876543210").value();
  std::string block = key;  // the standard's plaintext equals its key
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  ASSERT_TRUE(EVP_EncryptInit_ex(ctx.get(), EVP_sm4_ecb(), nullptr,
                                 reinterpret_cast<const unsigned char*>(key.data()), nullptr));
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  auto once = [&](std::string& b) {
    int len = 0;
    unsigned char out[16];
    EVP_EncryptUpdate(ctx.get(), out, &len, reinterpret_cast<const unsigned char*>(b.data()), 16);
    b.assign(reinterpret_cast<char*>(out), 16);
  };
  once(block);
  EXPECT_EQ(crypto::hex(block), "681edf34d206965e86b3e94f536e4246");
  for (int i = 1; i < 1'000'000; ++i) once(block);
  EXPECT_EQ(crypto::hex(block), "595298c7c6fd271f0402f804c33d3f66");
}

TEST(FieldCipher, Sm4SchemeRoundTripsBindsTheFieldAndDetectsTampering) {
  auto c = FieldCipher::from_keys("s1", std::string(32, 'k'), std::string(32, 'l'), "sm4");
  EXPECT_EQ(c.current_scheme(), "sm4");
  for (std::string plain : {std::string(), std::string("+8613800138000"), std::string(1000, 'x'),
                            std::string("张三 北京市海淀区")}) {
    std::string sealed = c.encrypt("users.phone", plain);
    EXPECT_EQ(sealed.rfind("s1:", 0), 0u);
    EXPECT_EQ(c.decrypt("users.phone", sealed).value(), plain);
    EXPECT_FALSE(c.decrypt("users.real_name", sealed));
    auto raw = crypto::unbase64url(std::string_view(sealed).substr(3)).value();
    for (std::size_t i = 0; i < raw.size(); i += 7) {  // any byte: IV, ciphertext or MAC
      std::string bad = raw;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      EXPECT_FALSE(c.decrypt("users.phone", "s1:" + crypto::base64url(bad))) << i;
    }
  }
  // A value sealed by an earlier build (with the one-shot HMAC) still opens: stored data keeps
  // its meaning whatever the MAC's implementation.
  const std::string stored =
      "s1:4t5xZqwLvc-lcysXTyWmNUKdUQCACOUTPUH3OCZBNufyR148NAhfjAC-C3zdfPZdB1x4vGq2iTq5i2yUnU0";
  EXPECT_EQ(c.decrypt("order.phone", stored).value(), "+8613800138000");
  EXPECT_FALSE(c.decrypt("order.detail", stored));
  // Two ciphers with different keys on one thread (the MAC context is re-keyed between them).
  auto other = FieldCipher::from_keys("s2", std::string(32, 'o'), std::string(32, 'l'), "sm4");
  std::string a = c.encrypt("f", "one"), b = other.encrypt("f", "two");
  EXPECT_EQ(c.decrypt("f", a).value(), "one");
  EXPECT_EQ(other.decrypt("f", b).value(), "two");
  EXPECT_FALSE(other.decrypt("f", "s2:" + a.substr(3)));
  // The same key bytes under AES decrypt nothing SM4 sealed, and vice versa.
  auto aes = FieldCipher::from_keys("s1", std::string(32, 'k'), std::string(32, 'l'), "aes");
  EXPECT_FALSE(aes.decrypt("f", c.encrypt("f", "secret")));
}

TEST(FieldCipher, AddedKeysBecomeCurrentAndOldCiphertextsStillOpen) {
  std::string path = ::testing::TempDir() + "/jishi_rotate.key";
  std::remove(path.c_str());
  auto c = FieldCipher::open_or_create(path, "aes").value();
  std::string old_sealed = c.encrypt("f", "old");
  EXPECT_TRUE(c.under_current_key(old_sealed));
  auto id = FieldCipher::add_key(path, "sm4");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "k2");
  EXPECT_TRUE(c.reload().value());
  EXPECT_EQ(c.current_key_id(), "k2");
  EXPECT_EQ(c.current_scheme(), "sm4");
  EXPECT_FALSE(c.under_current_key(old_sealed));
  std::string new_sealed = c.encrypt("f", "new");
  EXPECT_TRUE(c.under_current_key(new_sealed));
  EXPECT_EQ(c.decrypt("f", old_sealed).value(), "old");
  EXPECT_EQ(c.decrypt("f", new_sealed).value(), "new");
  EXPECT_FALSE(c.reload().value());  // nothing new
  auto reopened = FieldCipher::open_or_create(path).value();
  EXPECT_EQ(reopened.decrypt("f", new_sealed).value(), "new");
  EXPECT_FALSE(FieldCipher::add_key(path, "des"));
  std::remove(path.c_str());
}

TEST(FieldCipher, RoundTripsAndBindsTheField) {
  auto c = FieldCipher::from_keys("k1", std::string(32, 'k'), std::string(32, 'l'));
  std::string sealed = c.encrypt("users.phone", "+8613800138000");
  EXPECT_EQ(sealed.rfind("k1:", 0), 0u);
  EXPECT_EQ(sealed.find("13800138000"), std::string::npos);
  EXPECT_EQ(c.decrypt("users.phone", sealed).value(), "+8613800138000");
  EXPECT_FALSE(c.decrypt("users.resident_id", sealed));  // moved to another field: refused
  std::string tampered = sealed;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(c.decrypt("users.phone", tampered));
  EXPECT_NE(c.encrypt("users.phone", "x"), c.encrypt("users.phone", "x"));  // fresh nonces
  EXPECT_EQ(c.lookup_hash("users.phone", "x"), c.lookup_hash("users.phone", "x"));
  EXPECT_NE(c.lookup_hash("users.phone", "x"), c.lookup_hash("users.email", "x"));
}

TEST(FieldCipher, CreatesAPrivateKeyFileAndReopensIt) {
  std::string path = ::testing::TempDir() + "/jishi_test.key";
  std::remove(path.c_str());
  auto a = FieldCipher::open_or_create(path);
  ASSERT_TRUE(a);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string sealed = a->encrypt("f", "secret");
  auto b = FieldCipher::open_or_create(path);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->decrypt("f", sealed).value(), "secret");
  ::chmod(path.c_str(), 0644);
  EXPECT_FALSE(FieldCipher::open_or_create(path));  // readable by others: refuse
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jishi
