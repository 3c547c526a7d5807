#include "core/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "core/field_cipher.h"

namespace jishi {
namespace {

TEST(Crypto, Sha256MatchesTheKnownVector) {
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

TEST(Crypto, TokensAreDistinctAndHashedStably) {
  auto a = crypto::new_token("jss_"), b = crypto::new_token("jss_");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4 + 43);
  EXPECT_EQ(crypto::token_hash(a), crypto::token_hash(a));
  EXPECT_NE(crypto::token_hash(a), crypto::token_hash(b));
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
