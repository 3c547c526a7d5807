#include <gtest/gtest.h>

#include "core/limits.h"
#include "identity/api_keys.h"
#include "identity/orgs.h"
#include "identity/password.h"
#include "identity/sessions.h"
#include "identity/users.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/test_util.h"

namespace jishi::identity {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(
        store::open_sqlite(store::testing::fresh_db_path("identity"), store::OpenMode::read_write)
            .value());
    ASSERT_TRUE(store::migrate(*db_));
  }

  User make_user(const std::string& email) {
    NewUser nu{email, std::nullopt, "n", hash_password("password-1", HashCost::min)};
    return create_user(*db_, env_, nu).value();
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k1", std::string(32, 'a'), std::string(32, 'b'));
  Env env_{clock_, ids_, cipher_};
  std::unique_ptr<store::Conn> db_;
};

TEST_F(IdentityTest, NormalisesEmailsAndPhones) {
  EXPECT_EQ(normalize_email("Li.Lei@Example.COM").value(), "li.lei@example.com");
  EXPECT_FALSE(normalize_email("no-at-sign"));
  EXPECT_FALSE(normalize_email("a@b"));
  EXPECT_FALSE(normalize_email("a b@c.com"));
  EXPECT_EQ(normalize_phone("138 0013 8000").value(), "+8613800138000");
  EXPECT_EQ(normalize_phone("+86 138-0013-8000").value(), "+8613800138000");
  EXPECT_EQ(normalize_phone("+852 6123 4567").value(), "+85261234567");
  EXPECT_FALSE(normalize_phone("12800138000"));
  EXPECT_FALSE(normalize_phone("1380013800x"));
}

TEST_F(IdentityTest, PasswordsVerifyOnlyWithTheRightPassword) {
  auto h = hash_password("correct horse", HashCost::min);
  EXPECT_NE(h.find("$argon2id$"), std::string::npos);
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct horsf"));
  EXPECT_FALSE(validate_password("short"));
  EXPECT_FALSE(validate_password("aaaaaaaaaaaa"));
  EXPECT_FALSE(validate_password(std::string(limits::password_bytes_max + 1, 'x') + "y"));
}

TEST_F(IdentityTest, PhoneNumbersAreStoredEncryptedAndFoundByKeyedHash) {
  NewUser nu{std::nullopt, "+8613800138000", "p", hash_password("password-1", HashCost::min)};
  auto u = create_user(*db_, env_, nu);
  ASSERT_TRUE(u);
  std::string stored;
  ASSERT_TRUE(db_->query("SELECT phone_enc || phone_hash FROM users", {}, [&](const store::Row& r) {
    stored = r.str(0);
    return false;
  }));
  EXPECT_EQ(stored.find("13800138000"), std::string::npos);
  auto found = find_login(*db_, env_, "138 0013 8000");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, u->id);
  EXPECT_EQ(get_user(*db_, env_, u->id).value()->phone, "+8613800138000");
  auto dup = create_user(*db_, env_, nu);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::already_exists);
}

TEST_F(IdentityTest, TheFifthFailedLoginLocksTheAccount) {
  User u = make_user("a@example.com");
  for (std::uint32_t i = 1; i < limits::login_failures_max; ++i)
    EXPECT_EQ(record_login_failure(*db_, env_, u.id).value(), 0);
  std::int64_t until = record_login_failure(*db_, env_, u.id).value();
  EXPECT_EQ(until, clock_.now_us() + limits::login_lockout_us);
  auto rec = find_login(*db_, env_, "a@example.com").value().value();
  EXPECT_EQ(rec.locked_until_us, until);
  ASSERT_TRUE(record_login_success(*db_, env_, u.id));
  EXPECT_EQ(find_login(*db_, env_, "a@example.com").value()->locked_until_us, 0);
}

TEST_F(IdentityTest, SessionsExpireAndRevoke) {
  User u = make_user("s@example.com");
  auto s = create_session(*db_, env_, u.id, 3'600'000'000).value();
  EXPECT_EQ(s.token.rfind("jss_", 0), 0u);
  auto p = authenticate(*db_, env_, s.token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user, u.id);
  EXPECT_FALSE(authenticate(*db_, env_, s.token + "x"));
  clock_.advance_us(3'600'000'001);
  EXPECT_FALSE(authenticate(*db_, env_, s.token));
  auto s2 = create_session(*db_, env_, u.id, 3'600'000'000).value();
  ASSERT_TRUE(revoke_session(*db_, env_, s2.id));
  auto gone = authenticate(*db_, env_, s2.token);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Code::unauthenticated);
  auto live = create_session(*db_, env_, u.id, 3'600'000'000).value();
  EXPECT_EQ(purge_sessions(*db_, env_).value(), 0);  // revoked just now: kept a day for audit
  clock_.advance_us(26LL * 3600 * 1'000'000);
  EXPECT_EQ(purge_sessions(*db_, env_).value(), 3);
  EXPECT_FALSE(authenticate(*db_, env_, live.token));
}

TEST_F(IdentityTest, OnboardingGoesSubmittedToApprovedWithHistory) {
  User seller = make_user("seller@example.com");
  User op = make_user("op@example.com");
  NewOrg shop{OrgKind::merchant, "店", std::string("91330106MA2CDE7R6C"), true,
              std::string("330106")};
  Org org = create_org(*db_, env_, seller.id, shop).value();
  EXPECT_EQ(org.status, OrgStatus::submitted);
  auto p =
      authenticate(*db_, env_, create_session(*db_, env_, seller.id, 1'000'000'000).value().token);
  EXPECT_TRUE(p->has_role_in(org.id, {Role::seller_admin}));
  auto approved = review_org(*db_, env_, org.id, op.id, true, std::nullopt);
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->status, OrgStatus::approved);
  auto again = review_org(*db_, env_, org.id, op.id, false, std::string("late"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::invalid_state);
  auto history = org_reviews(*db_, org.id, 0, 100).value().items;
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].action, "submitted");
  EXPECT_EQ(history[1].action, "approved");
  auto dup = create_org(*db_, env_, op.id, shop);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::already_exists);
}

TEST_F(IdentityTest, ARejectedOrganisationCanBeCorrectedAndResubmitted) {
  User seller = make_user("r@example.com");
  User op = make_user("op2@example.com");
  NewOrg shop{OrgKind::merchant, "店", std::string("914403001922038216"), true, std::nullopt};
  Org org = create_org(*db_, env_, seller.id, shop).value();
  EXPECT_FALSE(resubmit_org(*db_, env_, org.id, seller.id, shop));  // not rejected yet
  auto rejected = review_org(*db_, env_, org.id, op.id, false, std::string("licence unreadable"));
  EXPECT_EQ(rejected->status_reason, "licence unreadable");
  shop.name = "深圳店";
  auto back = resubmit_org(*db_, env_, org.id, seller.id, shop);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, OrgStatus::submitted);
  EXPECT_EQ(back->name, "深圳店");
  EXPECT_FALSE(back->status_reason);
}

TEST_F(IdentityTest, TheLastAdminCannotBeRemoved) {
  User a = make_user("a1@example.com");
  User b = make_user("b1@example.com");
  Org org = create_org(*db_, env_, a.id, {OrgKind::merchant, "x", std::nullopt, true, std::nullopt})
                .value();
  auto r = remove_member(*db_, org.id, a.id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_state);
  ASSERT_TRUE(add_member(*db_, env_, org.id, b.id, Role::seller_staff));
  EXPECT_FALSE(add_member(*db_, env_, org.id, b.id, Role::seller_staff));
  ASSERT_TRUE(add_member(*db_, env_, org.id, b.id, Role::seller_admin));
  auto both = list_members(*db_, org.id, 0, 10).value();
  ASSERT_EQ(both.items.size(), 2u);
  EXPECT_EQ(both.items[1].roles.size(), 2u);  // one entry per person, with every role
  EXPECT_TRUE(remove_member(*db_, org.id, b.id));
  EXPECT_EQ(list_members(*db_, org.id, 0, 10).value().items.size(), 1u);
}

TEST_F(IdentityTest, MemberPagesHoldWholePeople) {
  User a = make_user("pa@example.com");
  Org org = create_org(*db_, env_, a.id, {OrgKind::merchant, "x", std::nullopt, true, std::nullopt})
                .value();
  for (int i = 0; i < 5; ++i) {
    User u = make_user("pm" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(add_member(*db_, env_, org.id, u.id, Role::seller_staff));
    ASSERT_TRUE(add_member(*db_, env_, org.id, u.id, Role::seller_admin));
  }
  std::vector<UserId> seen;
  std::int64_t cursor = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = list_members(*db_, org.id, cursor, 2).value();
    for (const auto& m : page.items) seen.push_back(m.user);
    if (!page.next_cursor) break;
    cursor = *page.next_cursor;
  }
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(IdentityTest, AUserHoldsABoundedNumberOfMemberships) {
  User a = make_user("many@example.com");
  for (std::size_t i = 0; i < limits::memberships_per_user_max; ++i)
    ASSERT_TRUE(
        create_org(*db_, env_, a.id, {OrgKind::carrier, "c", std::nullopt, true, std::nullopt}));
  auto over =
      create_org(*db_, env_, a.id, {OrgKind::carrier, "c", std::nullopt, true, std::nullopt});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Code::invalid_state);
}

TEST_F(IdentityTest, ApiKeysAuthenticateUntilRevokedAndOnlyForApprovedOrgs) {
  User a = make_user("k@example.com");
  User op = make_user("kop@example.com");
  Org org = create_org(*db_, env_, a.id, {OrgKind::merchant, "x", std::nullopt, true, std::nullopt})
                .value();
  auto key = create_api_key(*db_, env_, org.id, a.id, "erp", {"read"}).value();
  EXPECT_EQ(key.token.rfind("jsk_", 0), 0u);
  EXPECT_FALSE(authenticate(*db_, env_, key.token));  // org still submitted
  ASSERT_TRUE(review_org(*db_, env_, org.id, op.id, true, std::nullopt));
  auto p = authenticate(*db_, env_, key.token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->api_key_org, org.id);
  EXPECT_TRUE(p->has_scope("read"));
  EXPECT_FALSE(p->has_scope("write"));
  std::string stored;
  ASSERT_TRUE(db_->query("SELECT token_hash FROM api_keys", {}, [&](const store::Row& r) {
    stored = r.str(0);
    return false;
  }));
  EXPECT_EQ(stored.find(key.token.substr(4)), std::string::npos);
  ASSERT_TRUE(revoke_api_key(*db_, env_, org.id, key.key.id));
  EXPECT_FALSE(authenticate(*db_, env_, key.token));
  Org other =
      create_org(*db_, env_, op.id, {OrgKind::carrier, "y", std::nullopt, true, std::nullopt})
          .value();
  auto foreign = revoke_api_key(*db_, env_, other.id, key.key.id);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, Code::not_found);
}

}  // namespace
}  // namespace jishi::identity
