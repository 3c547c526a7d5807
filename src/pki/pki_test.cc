#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include "core/crypto.h"
#include "pki/internal.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::pki {
namespace {

using namespace ossl;

// GM/T 0003.5 Annex A: the standard curve's verify-only vector (OpenSSL 3.0 verifies it).
TEST(Sm2, VerifiesTheStandardSignatureVectorWithTheDistinguishingId) {
  auto pub = crypto::unhex(
                 "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
                 "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
                 .value();
  Ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
  Ptr<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
  Key key(raw);
  auto der_sig = [](std::string r_hex, std::string s_hex) {
    Ptr<ECDSA_SIG, ECDSA_SIG_free> sig(ECDSA_SIG_new());
    BIGNUM *r = nullptr, *s = nullptr;
    BN_hex2bn(&r, r_hex.c_str());
    BN_hex2bn(&s, s_hex.c_str());
    ECDSA_SIG_set0(sig.get(), r, s);
    unsigned char* der = nullptr;
    int n = i2d_ECDSA_SIG(sig.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
  };
  std::string r = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3";
  std::string s = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA";
  EXPECT_TRUE(is_sm2(key.get()));
  EXPECT_TRUE(verify(key.get(), "message digest", der_sig(r, s)));
  EXPECT_FALSE(verify(key.get(), "message digesT", der_sig(r, s)));
  EXPECT_FALSE(
      verify(key.get(), "message digest",
             der_sig(r, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AB")));
}

class PkiTest : public ::testing::TestWithParam<Algorithm> {
 protected:
  template <class F>
  auto tx(F f) {
    EXPECT_TRUE(db_->begin());
    auto r = f(*db_);
    if (r) {
      EXPECT_TRUE(db_->commit());
    } else {
      EXPECT_TRUE(db_->rollback());
    }
    return r;
  }
  template <class R>
  auto must(R r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return std::move(*r);
  }
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("pki"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
    CaInit init{GetParam(), "Test Market", "correct horse battery", "http://127.0.0.1:9"};
    ASSERT_TRUE(tx([&](store::Tx& t) { return init_ca(t, env_, init); }));
    ca_ = must(Authority::load(*db_, cipher_));
    ASSERT_TRUE(ca_);
  }
  CertInfo issue_custodial(std::string cn = "张三") {
    IssueRequest r;
    r.subject = {cn, std::nullopt, std::nullopt, {}};
    r.key_algorithm = GetParam();
    r.user = UserId{42};
    r.by = UserId{42};
    return must(tx([&](store::Tx& t) { return ca_->issue(t, env_, r); }));
  }
  std::vector<std::string> trust() { return {ca_->root_pem()}; }

  ManualClock clock_{SystemClock().now_us()};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  std::unique_ptr<store::Conn> db_;
  std::unique_ptr<Authority> ca_;
};

TEST_P(PkiTest, IssuedCertificatesChainToTheRootAndCarryTheProfile) {
  auto info = issue_custodial();
  EXPECT_EQ(info.status, "good");
  EXPECT_TRUE(info.custodial);
  EXPECT_EQ(info.serial.size(), 32u);  // 128-bit random serial
  auto leaf = must(cert_from_pem(info.cert_pem));
  auto issuing = must(cert_from_pem(ca_->issuing_pem()));
  auto root = must(cert_from_pem(ca_->root_pem()));
  EXPECT_TRUE(must(validate_chain(leaf.get(), {root.get()}, {issuing.get()}, 0)).size() == 3);
  EXPECT_FALSE(validate_chain(leaf.get(), {root.get()}, {}, 0));  // no path without the issuer
  EXPECT_TRUE(X509_get_key_usage(leaf.get()) & KU_NON_REPUDIATION);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_NE(info.subject.find("CN=张三"), std::string::npos);
  // A second init is refused; the stored root key opens only with the passphrase.
  CaInit again{GetParam(), "X", "correct horse battery", "http://x"};
  EXPECT_FALSE(tx([&](store::Tx& t) { return init_ca(t, env_, again); }));
}

TEST_P(PkiTest, CsrsMustBeSelfSignedAndTheSubjectComesFromTheCa) {
  auto key = must(generate_key(GetParam()));
  Ptr<X509_REQ, X509_REQ_free> req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key.get());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Evil"), -1, -1, 0);
  auto sc = must(sign_ctx(key.get()));
  ASSERT_GT(X509_REQ_sign_ctx(req.get(), sc.md.get()), 0);
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(b.get(), req.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(b.get(), &data);
  std::string pem(data, static_cast<std::size_t>(len));
  IssueRequest r;
  r.subject = {
      "某某贸易有限公司", std::string("某某贸易有限公司"), std::string("91110000600037341L"), {}};
  r.csr_pem = pem;
  r.org = OrgId{7};
  r.by = UserId{1};
  auto info = must(tx([&](store::Tx& t) { return ca_->issue(t, env_, r); }));
  EXPECT_FALSE(info.custodial);
  EXPECT_EQ(info.subject.find("Evil"), std::string::npos);
  EXPECT_NE(info.subject.find("91110000600037341L"), std::string::npos);
  // A tampered request: its signature no longer verifies.
  std::string bad = pem;
  bad[pem.size() / 2] = bad[pem.size() / 2] == 'A' ? 'B' : 'A';
  r.csr_pem = bad;
  EXPECT_FALSE(tx([&](store::Tx& t) { return ca_->issue(t, env_, r); }));
}

TEST_P(PkiTest, RevocationReachesTheCrlAndTheOcspResponder) {
  auto a = issue_custodial("A"), b = issue_custodial("B");
  must(tx([&](store::Tx& t) { return ca_->revoke(t, env_, b.serial, 1, UserId{1}); }));
  auto crl_der = must(Authority::current_crl(*db_));
  const auto* p = reinterpret_cast<const unsigned char*>(crl_der.data());
  Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
  ASSERT_TRUE(crl);
  auto issuing = must(cert_from_pem(ca_->issuing_pem()));
  EXPECT_TRUE(crl_signed_by(crl.get(), X509_get0_pubkey(issuing.get())));
  auto revoked = X509_CRL_get_REVOKED(crl.get());
  ASSERT_EQ(sk_X509_REVOKED_num(revoked), 1);
  EXPECT_EQ(serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, 0))),
            b.serial);
  // Tampering with the CRL is detected.
  std::string bad = crl_der;
  bad[bad.size() - 40] ^= 1;
  p = reinterpret_cast<const unsigned char*>(bad.data());
  Crl tampered(d2i_X509_CRL(nullptr, &p, static_cast<long>(bad.size())));
  if (tampered) {
    EXPECT_FALSE(crl_signed_by(tampered.get(), X509_get0_pubkey(issuing.get())));
  }

  auto status_of = [&](const CertInfo& info) {
    auto leaf = must(cert_from_pem(info.cert_pem));
    OcspReq req(OCSP_REQUEST_new());
    OCSP_request_add0_id(req.get(), OCSP_cert_to_id(EVP_sha1(), leaf.get(), issuing.get()));
    unsigned char* der = nullptr;
    int n = i2d_OCSP_REQUEST(req.get(), &der);
    std::string q(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    std::string answer = ca_->ocsp_respond(
        q, clock_.now_us(), [&](const std::string& s) { return must(cert_status(*db_, s)); });
    const auto* ap = reinterpret_cast<const unsigned char*>(answer.data());
    OcspResp resp(d2i_OCSP_RESPONSE(nullptr, &ap, static_cast<long>(answer.size())));
    OcspBasic basic(OCSP_response_get1_basic(resp.get()));
    OcspId id(OCSP_cert_to_id(EVP_sha1(), leaf.get(), issuing.get()));
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *rev = nullptr, *tu = nullptr, *nu = nullptr;
    OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &rev, &tu, &nu);
    return status;
  };
  EXPECT_EQ(status_of(a), V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(status_of(b), V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(must(Authority::current_crl(*db_)), crl_der);
  auto garbage = ca_->ocsp_respond("not der", clock_.now_us(),
                                   [](const std::string&) { return std::optional<CertStatus>(); });
  const auto* gp = reinterpret_cast<const unsigned char*>(garbage.data());
  OcspResp g(d2i_OCSP_RESPONSE(nullptr, &gp, static_cast<long>(garbage.size())));
  ASSERT_TRUE(g);
  EXPECT_EQ(OCSP_response_status(g.get()), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_P(PkiTest, SignedDocumentsVerifyOfflineAndAnyTamperingIsDetected) {
  auto info = issue_custodial();
  std::string doc = "采购合同 第1条: 甲方向乙方购买 100 台设备, 总价 ¥1,000,000.00";
  auto s = must(tx([&](store::Tx& t) {
    return ca_->sign(t, env_,
                     {info.serial, doc, "contract.txt", std::string("order:1"), UserId{42}});
  }));
  auto v = verify_package(s.package, doc, trust(), {});
  for (auto& [k, why] : v.checks) EXPECT_EQ(why, "ok") << k;
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.signer_serial, info.serial);
  EXPECT_EQ(v.timestamp_us.value() / 1'000'000, clock_.now_us() / 1'000'000);
  EXPECT_EQ(v.algorithm, GetParam() == Algorithm::sm2 ? "SM2-with-SM3" : "ECDSA-with-SHA256");

  EXPECT_FALSE(verify_package(s.package, doc + " ", trust(), {}).ok);    // the document
  EXPECT_TRUE(verify_package(s.package, std::nullopt, trust(), {}).ok);  // hashes only
  // Flip bits throughout the CMS (signature, attributes, certificates, timestamp).
  auto pkg = boost::json::parse(s.package).as_object();
  std::string cms_b64(pkg["signature"].as_object()["cms"].as_string());
  auto decode = [](std::string_view t) {
    std::string out(t.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(t.data()),
                            static_cast<int>(t.size()));
    out.resize(static_cast<std::size_t>(n) - (t.ends_with("==") ? 2 : t.ends_with("=") ? 1 : 0));
    return out;
  };
  auto encode = [](std::string_view b) {
    std::string out(4 * ((b.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b.data()),
                            static_cast<int>(b.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
  };
  std::string cms = decode(cms_b64);
  int detected = 0, tried = 0;
  for (std::size_t i = 0; i < cms.size(); i += 13) {
    std::string bad = cms;
    bad[i] ^= 0x01;
    auto copy = pkg;
    copy["signature"].as_object()["cms"] = encode(bad);
    ++tried;
    if (!verify_package(boost::json::serialize(copy), doc, trust(), {}).ok) ++detected;
  }
  EXPECT_EQ(detected, tried);
  // A package with a substituted timestamp token or OCSP answer fails too.
  auto copy = pkg;
  std::string tok = decode(std::string(pkg["timestamp_token"].as_string()));
  tok[tok.size() - 5] ^= 1;
  copy["timestamp_token"] = encode(tok);
  EXPECT_FALSE(verify_package(boost::json::serialize(copy), doc, trust(), {}).ok);
  copy = pkg;
  std::string ocsp = decode(std::string(pkg["ocsp_response"].as_string()));
  ocsp[ocsp.size() - 5] ^= 1;
  copy["ocsp_response"] = encode(ocsp);
  EXPECT_FALSE(verify_package(boost::json::serialize(copy), doc, trust(), {}).ok);
  // Against a root we do not trust, nothing validates.
  EXPECT_FALSE(verify_package(s.package, doc, {}, {}).ok);
  // Revoked after signing: still valid; revoked before: not.
  Verification later = verify_package(s.package, doc, trust(), {});
  check_revocation_now(later, CertStatus{true, clock_.now_us() + 1'000'000, 1});
  EXPECT_TRUE(later.ok);
  Verification before = verify_package(s.package, doc, trust(), {});
  check_revocation_now(before, CertStatus{true, clock_.now_us() - 1'000'000, 1});
  EXPECT_FALSE(before.ok);
}

// An external CA (root -> intermediate -> leaf) made with OpenSSL directly.
struct External {
  Key root_key, int_key, leaf_key;
  Cert root, intermediate, leaf;
};
Cert make(X509_NAME* subject, EVP_PKEY* pub, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  Cert x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), std::rand());
  X509_set_subject_name(x.get(), subject);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : subject);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 365 * 50);
  X509_set_pubkey(x.get(), pub);
  EXPECT_TRUE(
      add_ext(x.get(), issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE"));
  if (ca) {
    EXPECT_TRUE(add_ext(x.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  }
  auto sc = sign_ctx(issuer_key).value();
  X509_sign_ctx(x.get(), sc.md.get());
  return x;
}
Name dn(const char* o, const char* cn) {
  Name n(X509_NAME_new());
  X509_NAME_add_entry_by_txt(n.get(), "C", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("CN"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(n.get(), "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(n.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  return n;
}
External external(Algorithm a, const char* leaf_org) {
  External e;
  e.root_key = generate_key(a).value();
  e.int_key = generate_key(a).value();
  e.leaf_key = generate_key(a).value();
  e.root =
      make(dn("Partner", "Partner Root").get(), e.root_key.get(), nullptr, e.root_key.get(), true);
  e.intermediate = make(dn("Partner", "Partner Sub").get(), e.int_key.get(), e.root.get(),
                        e.root_key.get(), true);
  e.leaf = make(dn(leaf_org, "Partner Merchant").get(), e.leaf_key.get(), e.intermediate.get(),
                e.int_key.get(), false);
  return e;
}

TEST_P(PkiTest, CrossCertificatesLetOurRootValidateAnExternalChainWithinItsConstraints) {
  auto e = external(GetParam(), "Partner");
  auto ext = must(tx([&](store::Tx& t) {
    return ca_->import_external(t, env_, "Partner CA", cert_to_pem(e.root.get()), UserId{1});
  }));
  CrossCertify cc;
  cc.external_id = ext.id;
  cc.passphrase = "wrong passphrase!";
  cc.path_length = 1;
  cc.permitted_dirs = {"/C=CN/O=Partner"};
  cc.by = UserId{1};
  EXPECT_FALSE(tx([&](store::Tx& t) { return ca_->cross_certify(t, env_, cc); }));
  cc.passphrase = "correct horse battery";
  auto cross_info = must(tx([&](store::Tx& t) { return ca_->cross_certify(t, env_, cc); }));
  EXPECT_EQ(cross_info.profile, "cross");
  auto cross = must(cert_from_pem(cross_info.cert_pem));
  auto root = must(cert_from_pem(ca_->root_pem()));
  EXPECT_FALSE(validate_chain(e.leaf.get(), {root.get()}, {e.intermediate.get()}, 0));
  auto path =
      must(validate_chain(e.leaf.get(), {root.get()}, {e.intermediate.get(), cross.get()}, 0));
  EXPECT_EQ(path.size(), 4u);
  // A leaf outside the permitted names does not validate through the cross-certificate.
  auto outside = make(dn("Someone Else", "Other").get(), e.leaf_key.get(), e.intermediate.get(),
                      e.int_key.get(), false);
  EXPECT_FALSE(validate_chain(outside.get(), {root.get()}, {e.intermediate.get(), cross.get()}, 0));
  EXPECT_EQ(must(cross_cert_pems(*db_)).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, PkiTest, ::testing::Values(Algorithm::sm2, Algorithm::p256),
                         [](const auto& p) { return std::string(name_of(p.param)); });

}  // namespace
}  // namespace jishi::pki
