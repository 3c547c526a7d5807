#include <gtest/gtest.h>

#include "audit/audit.h"
#include "audit/merkle.h"
#include "core/crypto.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::audit {
namespace {

// Heads are signed by a keyed MAC here (the server signs with the platform's certificate; that
// path is tested end to end in tests/integration/test_pki.py).
const std::string kKey(32, 's');
HeadSigner signer() {
  return [](std::string_view text) -> Result<HeadSignature> {
    return HeadSignature{"HMAC-SHA256", "test", crypto::hex(crypto::hmac_sha256(kKey, text))};
  };
}
HeadVerifier verifier() {
  return [](std::string_view text, std::string_view, std::string_view sig) {
    return crypto::hex(crypto::hmac_sha256(kKey, text)) == sig;
  };
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("audit"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
  }
  void add(int n) {
    for (int i = 0; i < n; ++i) {
      clock_.advance_us(1000);
      ASSERT_TRUE(append(*db_, clock_, "auth.login", 7,
                         "{\"user_id\":\"7\",\"ip\":\"10.0.0." + std::to_string(i) + "\"}"));
    }
  }
  Head head() {
    auto h = make_head(*db_, env_, signer());
    EXPECT_TRUE(h && *h);
    EXPECT_TRUE(save_head(*db_, **h));
    return **h;
  }
  Report verify() { return verify_log(*db_, verifier()).value(); }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  std::unique_ptr<store::Conn> db_;
};

TEST_F(AuditTest, EntriesAreNumberedWithoutGapsAndHashedAsRfc6962Leaves) {
  add(3);
  auto e = get_entry(*db_, 2).value();
  EXPECT_EQ(e.idx, 2);
  EXPECT_EQ(e.leaf_hash, merkle::to_hex(merkle::leaf_hash(e.entry)));
  EXPECT_NE(e.entry.find("\"idx\":2"), std::string::npos);
  EXPECT_FALSE(append(*db_, clock_, "x", std::nullopt, "[1]"));  // data is an object
  auto page = list_entries(*db_, 0, std::string("auth.login"), 1).value();
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].idx, 1);
  EXPECT_EQ(page.next_cursor, 1);
}

TEST_F(AuditTest, HeadsProofsAndTheWholeLogVerify) {
  add(5);
  Head h5 = head();
  EXPECT_FALSE(make_head(*db_, env_, signer()).value());  // nothing new: no head
  add(8);
  Head h13 = head();
  auto r = verify();
  EXPECT_TRUE(r.ok) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_EQ(r.entries, 13);
  EXPECT_EQ(r.heads, 2);
  auto root13 = merkle::from_hex(h13.root_hash).value();
  for (std::int64_t i = 0; i < 13; ++i) {
    auto proof_hex = inclusion_proof(*db_, i, 13).value();
    std::vector<merkle::Hash> proof;
    for (auto& p : proof_hex) proof.push_back(merkle::from_hex(p).value());
    auto leaf = merkle::from_hex(get_entry(*db_, i).value().leaf_hash).value();
    EXPECT_TRUE(merkle::verify_inclusion(leaf, static_cast<std::uint64_t>(i), 13, proof, root13));
  }
  auto cons_hex = consistency_proof(*db_, 5, 13).value();
  std::vector<merkle::Hash> cons;
  for (auto& p : cons_hex) cons.push_back(merkle::from_hex(p).value());
  EXPECT_TRUE(
      merkle::verify_consistency(5, 13, merkle::from_hex(h5.root_hash).value(), root13, cons));
  EXPECT_FALSE(inclusion_proof(*db_, 0, 7));  // no head of size 7
  EXPECT_FALSE(inclusion_proof(*db_, 13, 13));
}

TEST_F(AuditTest, TamperingWithAnEntryAHashAHeadOrASignatureIsDetected) {
  add(6);
  head();
  ASSERT_TRUE(verify().ok);
  auto expect_detected = [&](const char* sql, const char* undo) {
    ASSERT_TRUE(db_->exec(sql));
    EXPECT_FALSE(verify().ok) << sql;
    ASSERT_TRUE(db_->exec(undo));
    EXPECT_TRUE(verify().ok) << undo;
  };
  auto e = get_entry(*db_, 3).value();
  std::string forged = e.entry;
  forged.replace(forged.find("10.0.0.3"), 8, "10.0.0.9");
  ASSERT_TRUE(db_->exec("UPDATE audit_entries SET entry = $1 WHERE idx = 3", {forged}));
  EXPECT_FALSE(verify().ok);  // the text no longer matches its hash
  ASSERT_TRUE(db_->exec("UPDATE audit_entries SET leaf_hash = $1 WHERE idx = 3",
                        {merkle::to_hex(merkle::leaf_hash(forged))}));
  EXPECT_FALSE(verify().ok);  // consistent leaf, but the signed head's root differs
  ASSERT_TRUE(db_->exec("UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 3",
                        {e.entry, e.leaf_hash}));
  ASSERT_TRUE(verify().ok);
  expect_detected(
      "UPDATE audit_heads SET root_hash = CASE WHEN substr(root_hash, 1, 2) = '00' "
      "THEN 'ff' ELSE '00' END || substr(root_hash, 3)",
      "DELETE FROM audit_heads");
  head();
  expect_detected(
      "UPDATE audit_heads SET signature = CASE WHEN substr(signature, 1, 2) = '00' "
      "THEN 'ff' ELSE '00' END || substr(signature, 3)",
      "DELETE FROM audit_heads");
  head();
  ASSERT_TRUE(db_->exec("DELETE FROM audit_entries WHERE idx = 5"));
  EXPECT_FALSE(verify().ok);  // a head covers an entry that is gone
}

}  // namespace
}  // namespace jishi::audit
