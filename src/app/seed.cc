// `jishi admin create` and the demo data set, both through the writer like any other write.
#include <iostream>

#include "app/app.h"
#include "app/seed_catalog.h"
#include "audit/audit.h"
#include "core/log.h"
#include "identity/orgs.h"
#include "identity/password.h"
#include "identity/users.h"
#include "pay/settlement.h"

namespace jishi::app {

namespace {
constexpr std::string_view kDemoPassword = "jishi-demo-2026";

// Finds or creates the user with this email; returns its id.
Result<UserId> ensure_user(store::Tx& tx, const Env& env, const std::string& email,
                           const std::string& password_hash, const std::string& name) {
  JISHI_ASSIGN_OR_RETURN(auto rec, identity::find_login(tx, env, email));
  if (rec) return rec->id;
  identity::NewUser nu{email, std::nullopt, name, password_hash};
  JISHI_ASSIGN_OR_RETURN(auto user, identity::create_user(tx, env, nu));
  return user.id;
}

}  // namespace

Status write_and_wait(Runtime& rt, const std::function<Status(store::Tx&, Env&)>& fn) {
  Env env{rt.clock, *rt.ids, *rt.cipher};
  Status result;
  auto outcome = store::run_and_wait(rt.store->writer(), [&](store::Tx& tx) {
    result = fn(tx, env);
    return result.has_value();
  });
  if (!result) return result;
  if (outcome != store::Outcome::committed)
    return fail(Code::storage_failure, "the write did not commit");
  return {};
}

Status create_platform_user(Runtime& rt, const std::string& email, const std::string& password,
                            const std::string& display_name, const std::string& role_name) {
  auto role = identity::parse_role(role_name);
  if (!role || !identity::is_platform_role(*role))
    return fail(Code::validation_failed,
                "role must be operator, regulator, ca_officer or arbitrator");
  JISHI_ASSIGN_OR_RETURN(auto normalized, identity::normalize_email(email));
  JISHI_TRY(identity::validate_password(password));
  std::string hash =
      identity::hash_password(password, identity::parse_hash_cost(rt.config.password_hash_cost));
  return write_and_wait(rt, [&](store::Tx& tx, const Env& env) -> Status {
    JISHI_ASSIGN_OR_RETURN(UserId user, ensure_user(tx, env, normalized, hash, display_name));
    JISHI_TRY(audit::append(tx, env.clock, "identity.platform_role_granted", std::nullopt,
                            "{\"user_id\":\"" + user.str() + "\",\"role\":\"" +
                                std::string(identity::name_of(*role)) + "\",\"by\":\"cli\"}"));
    JISHI_ASSIGN_OR_RETURN(auto platform, identity::platform_org(tx));
    if (!platform) {
      identity::NewOrg org{identity::OrgKind::platform, "集市平台 jishi platform", std::nullopt,
                           true, std::nullopt};
      JISHI_ASSIGN_OR_RETURN(auto created, identity::create_org(tx, env, user, org));
      platform = created.id;
      if (*role == identity::Role::operator_) return {};  // the creator is already operator
    }
    auto added = identity::add_member(tx, env, *platform, user, *role);
    if (!added && added.error().code != Code::already_exists) return added;
    return {};
  });
}

Status seed_demo(Runtime& rt) {
  {
    // A data dir that already holds the demo keeps it: `jishi demo` can be restarted.
    auto lease = rt.store->reads().lease();
    Env env{rt.clock, *rt.ids, *rt.cipher};
    JISHI_ASSIGN_OR_RETURN(auto seller, identity::find_login(*lease, env, "seller@jishi.demo"));
    if (seller) return {};
  }
  JISHI_TRY(create_platform_user(rt, "operator@jishi.demo", std::string(kDemoPassword),
                                 "平台运营 Operator", "operator"));
  JISHI_TRY(create_platform_user(rt, "regulator@jishi.demo", std::string(kDemoPassword),
                                 "市场监管 Regulator", "regulator"));
  JISHI_TRY(create_platform_user(rt, "officer@jishi.demo", std::string(kDemoPassword),
                                 "CA 业务员 CA officer", "ca_officer"));
  std::string hash = identity::hash_password(
      kDemoPassword, identity::parse_hash_cost(rt.config.password_hash_cost));
  SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, const Env& env) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto platform, identity::platform_org(tx));
    JISHI_ASSIGN_OR_RETURN(auto op, identity::find_login(tx, env, "operator@jishi.demo"));
    JISHI_ASSIGN_OR_RETURN(UserId seller,
                           ensure_user(tx, env, "seller@jishi.demo", hash, "杭州好物 店长"));
    JISHI_ASSIGN_OR_RETURN(UserId pending,
                           ensure_user(tx, env, "newshop@jishi.demo", hash, "深圳新店 店长"));
    JISHI_ASSIGN_OR_RETURN(UserId buyer, ensure_user(tx, env, "buyer@jishi.demo", hash, "张三"));
    (void)buyer;
    (void)platform;
    identity::NewOrg shop{identity::OrgKind::merchant, "杭州好物科技有限公司",
                          std::string("91330106MA2CDE7R6C"), true, std::string("330106")};
    JISHI_ASSIGN_OR_RETURN(auto org, identity::create_org(tx, env, seller, shop));
    JISHI_TRY(identity::review_org(tx, env, org.id, op->id, true,
                                   std::string("demo: documents checked")));
    if (rt.ca) {
      // The merchant's signing certificate (a custodial key) and a contract it signed.
      Env e = env;
      pki::IssueRequest r;
      r.subject = {org.name, org.name, org.credit_code, {}};
      r.key_algorithm = rt.ca->algorithm();
      r.org = org.id;
      r.by = seller;
      JISHI_ASSIGN_OR_RETURN(auto cert, rt.ca->issue(tx, e, r));
      std::string contract =
          "采购框架协议（演示）\n甲方：杭州好物科技有限公司\n乙方：集市平台\n"
          "第一条 甲方通过平台销售商品，货款由平台托管，买家确认收货后结算。\n";
      JISHI_TRY(rt.ca->sign(tx, e,
                            {cert.serial, contract, "framework-agreement-demo.txt",
                             std::string("demo:contract"), seller}));
    }
    Env pay_env{env.clock, env.ids, env.cipher};
    JISHI_TRY(pay::set_payout_account(tx, pay_env, org.id, "中国工商银行 杭州分行",
                                      "杭州好物科技有限公司", "6222021202001234567"));
    identity::NewOrg newshop{identity::OrgKind::merchant, "深圳新店贸易有限公司",
                             std::string("914403001922038216"), true, std::string("440300")};
    JISHI_TRY(identity::create_org(tx, env, pending, newshop));
    return {};
  }));
  // The market: merchants, buyers, catalog and stock now; orders and their payments once the
  // server (and its gateway simulator) is up.
  auto market = std::make_shared<DemoMarket>();
  JISHI_TRY(seed_market(rt, *market));
  rt.after_start = [&rt, market](api::Services& s, const std::atomic<bool>& stop) {
    if (auto r = seed_orders(rt, s, *market, stop); !r)
      spdlog::warn("demo orders: {}", r.error().detail);
  };
  return {};
}

void print_demo_accounts() {
  std::cout
      << "\nDemo accounts (password for all: " << kDemoPassword << ")\n"
      << "  operator   operator@jishi.demo   approves merchants\n"
      << "  regulator  regulator@jishi.demo  reads, never writes\n"
      << "  CA officer officer@jishi.demo    issues, revokes, cross-certifies (demo SM2 CA)\n"
      << "  seller     seller@jishi.demo     admin of 杭州好物科技有限公司 (approved, payout "
         "account set)\n"
      << "  seller     newshop@jishi.demo    admin of 深圳新店贸易有限公司 (awaiting review)\n"
      << "  buyer      buyer@jishi.demo (and buyer1..buyer20@jishi.demo, with orders)\n"
      << "  sellers    shop1..shop10@jishi.demo: ten merchants with ~1,000 products\n"
      << std::endl;
}

}  // namespace jishi::app
