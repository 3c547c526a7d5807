#include "pay/gateway_sign.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace jishi::pay {
namespace {

// A new directory every time (a pid-based name could meet a directory a process of the same
// pid left behind).
std::string temp_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/jishi_sign_" + name + "_XXXXXX";
  if (!::mkdtemp(dir.data())) ADD_FAILURE() << "mkdtemp " << dir;
  return dir;
}

void write(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Canonicalize, SortsByKeyDropsSignSignTypeAndEmptyValuesAndKeepsRawUtf8) {
  SignParams p{{"method", "trade.create"},
               {"app_id", "jishi"},
               {"sign", "xxx"},
               {"sign_type", "SM2"},
               {"notify_url", ""},
               {"B", "upper first"},
               {"biz_content", R"({"subject":"茶叶 & 杯"})"}};
  EXPECT_EQ(
      canonicalize(p),
      "B=upper first&app_id=jishi&biz_content={\"subject\":\"茶叶 & 杯\"}&method=trade.create");
}

TEST(Base64, EncodesAndDecodesStandardAlphabetWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("+/8="), "\xfb\xff");
  EXPECT_FALSE(base64_decode("Zg="));   // bad length
  EXPECT_FALSE(base64_decode("Z=g="));  // padding in the middle
  EXPECT_FALSE(base64_decode("-_8="));  // base64url alphabet
}

class SignTypes : public ::testing::TestWithParam<SignType> {};

TEST_P(SignTypes, SignatureVerifiesAndAnyTamperingIsRejected) {
  auto pair = generate_key_pair(GetParam());
  ASSERT_TRUE(pair) << pair.error().detail;
  EXPECT_NE(pair->private_pem.find("BEGIN PRIVATE KEY"), std::string::npos);  // PKCS#8
  EXPECT_NE(pair->public_pem.find("BEGIN PUBLIC KEY"), std::string::npos);    // SPKI
  auto signer = Signer::from_pem(GetParam(), pair->private_pem);
  auto verifier = Verifier::from_pem(GetParam(), pair->public_pem);
  ASSERT_TRUE(signer && verifier);

  SignParams p{{"app_id", "jishi"}, {"total_amount", "19.99"}, {"out_trade_no", "42"}};
  auto sig = signer->sign_params(p);
  ASSERT_TRUE(sig) << sig.error().detail;
  p["sign"] = *sig;
  p["sign_type"] = std::string(name_of(GetParam()));
  EXPECT_TRUE(verifier->verify_params(p));

  auto tampered = p;
  tampered["total_amount"] = "19.98";
  auto st = verifier->verify_params(tampered);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::unauthenticated);

  tampered = p;
  tampered["extra"] = "1";  // an added parameter is covered too
  EXPECT_FALSE(verifier->verify_params(tampered));

  tampered = p;
  auto raw = *base64_decode(*sig);
  raw[raw.size() / 2] ^= 1;
  tampered["sign"] = base64_encode(raw);
  EXPECT_FALSE(verifier->verify_params(tampered));

  tampered = p;
  tampered.erase("sign");
  st = verifier->verify_params(tampered);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::unauthenticated);

  tampered = p;
  tampered["sign"] = "not base64!";
  EXPECT_FALSE(verifier->verify_params(tampered));

  auto other = generate_key_pair(GetParam());
  auto other_verifier = Verifier::from_pem(GetParam(), other->public_pem);
  EXPECT_FALSE(other_verifier->verify_params(p));
}

TEST_P(SignTypes, KeyPairIsCreatedOnceAndReloaded) {
  auto dir = temp_dir("keys");
  auto first = load_or_create_key_pair(GetParam(), dir + "/sub", "platform");
  ASSERT_TRUE(first) << first.error().detail;
  auto second = load_or_create_key_pair(GetParam(), dir + "/sub", "platform");
  ASSERT_TRUE(second);
  EXPECT_EQ(first->private_pem, second->private_pem);
  EXPECT_EQ(first->public_pem, second->public_pem);
  struct stat st {};
  std::string suffix = GetParam() == SignType::sm2 ? "sm2" : "rsa2";
  ASSERT_EQ(::stat((dir + "/sub/platform_" + suffix + ".pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

INSTANTIATE_TEST_SUITE_P(Gateway, SignTypes, ::testing::Values(SignType::sm2, SignType::rsa2),
                         [](const auto& param_info) {
                           return std::string(name_of(param_info.param));
                         });

TEST(SignTypesMismatch, AKeyOfTheOtherTypeIsRefused) {
  auto rsa = generate_key_pair(SignType::rsa2);
  auto sm2 = generate_key_pair(SignType::sm2);
  EXPECT_FALSE(Signer::from_pem(SignType::sm2, rsa->private_pem));
  EXPECT_FALSE(Verifier::from_pem(SignType::rsa2, sm2->public_pem));
  EXPECT_FALSE(Signer::from_pem(SignType::rsa2, "-----BEGIN PRIVATE KEY-----\nAAAA\n"));
}

// The signatures are the standard algorithms: stock `openssl` verifies them.
int run(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

TEST(OpensslCli, VerifiesAnRsa2Signature) {
  auto dir = temp_dir("cli_rsa");
  auto pair = generate_key_pair(SignType::rsa2);
  auto signer = Signer::from_pem(SignType::rsa2, pair->private_pem);
  std::string message = "app_id=jishi&total_amount=19.99";
  write(dir + "/pub.pem", pair->public_pem);
  write(dir + "/msg", message);
  write(dir + "/sig", *base64_decode(*signer->sign(message)));
  std::string verify =
      "openssl dgst -sha256 -verify " + dir + "/pub.pem -signature " + dir + "/sig " + dir;
  EXPECT_EQ(run(verify + "/msg"), 0);
  write(dir + "/bad", message + "0");
  EXPECT_NE(run(verify + "/bad"), 0);
}

TEST(OpensslCli, VerifiesAnSm2SignatureWithTheStandardId) {
  auto dir = temp_dir("cli_sm2");
  auto pair = generate_key_pair(SignType::sm2);
  auto signer = Signer::from_pem(SignType::sm2, pair->private_pem);
  std::string message = "app_id=jishi&total_amount=19.99";
  write(dir + "/pub.pem", pair->public_pem);
  write(dir + "/msg", message);
  write(dir + "/sig", *base64_decode(*signer->sign(message)));
  std::string verify = "openssl pkeyutl -verify -pubin -inkey " + dir +
                       "/pub.pem -rawin -digest sm3 -sigfile " + dir + "/sig -pkeyopt ";
  EXPECT_EQ(run(verify + "distid:1234567812345678 -in " + dir + "/msg"), 0);
  // The ID is part of what is signed: another ID does not verify.
  EXPECT_NE(run(verify + "distid:0 -in " + dir + "/msg"), 0);
  write(dir + "/bad", message + "0");
  EXPECT_NE(run(verify + "distid:1234567812345678 -in " + dir + "/bad"), 0);

  // And the other way round: a signature made by the CLI verifies here.
  write(dir + "/priv.pem", pair->private_pem);
  ASSERT_EQ(run("openssl pkeyutl -sign -inkey " + dir + "/priv.pem -rawin -digest sm3 -pkeyopt " +
                "distid:1234567812345678 -in " + dir + "/msg -out " + dir + "/cli.sig"),
            0);
  std::ifstream in(dir + "/cli.sig", std::ios::binary);
  std::string cli_sig((std::istreambuf_iterator<char>(in)), {});
  auto verifier = Verifier::from_pem(SignType::sm2, pair->public_pem);
  EXPECT_TRUE(verifier->verify(message, base64_encode(cli_sig)));
}

}  // namespace
}  // namespace jishi::pay
