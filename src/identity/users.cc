#include "identity/users.h"

#include <algorithm>

#include "core/limits.h"

namespace jishi::identity {

namespace {
constexpr std::string_view kPhoneField = "users.phone";
constexpr std::string_view kResidentIdField = "users.resident_id";
constexpr std::string_view kRealNameField = "users.real_name";

// Column list spliced into whole SQL literals (no string building per query).
#define JISHI_USER_COLUMNS \
  "id, email, phone_enc, display_name, status, real_name_verified_at_us, created_at_us"

User read_user(const store::Row& r, const Env& env) {
  User u;
  u.id = UserId{r.i64(0)};
  u.email = r.opt_str(1);
  if (auto enc = r.opt_str(2)) {
    auto phone = env.cipher.decrypt(kPhoneField, *enc);
    if (phone) u.phone = *phone;
  }
  u.display_name = r.str(3);
  u.status = r.str(4);
  u.real_name_verified = !r.is_null(5);
  u.created_at_us = r.i64(6);
  return u;
}
}  // namespace

Result<std::string> normalize_email(std::string_view email) {
  if (email.size() > limits::email_bytes_max)
    return fail(Code::validation_failed, "email is too long", "/email");
  std::string e(email);
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto at = e.find('@');
  bool ok = at != std::string::npos && at > 0 && e.find('@', at + 1) == std::string::npos &&
            e.find('.', at + 2) != std::string::npos && e.back() != '.' &&
            std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7f; });
  if (!ok)
    return fail(Code::validation_failed,
                "email is not a valid address (ASCII, one @, a dotted domain)", "/email");
  return e;
}

Result<std::string> normalize_phone(std::string_view phone) {
  std::string digits;
  bool plus = !phone.empty() && phone[0] == '+';
  for (std::size_t i = plus ? 1 : 0; i < phone.size(); ++i) {
    char c = phone[i];
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9')
      return fail(Code::validation_failed, "phone may contain only digits, spaces and -", "/phone");
    digits += c;
  }
  if (!plus && digits.size() == 11 && digits[0] == '1' && digits[1] >= '3') return "+86" + digits;
  if (plus && digits.starts_with("86") && digits.size() == 13 && digits[2] == '1' &&
      digits[3] >= '3')
    return "+" + digits;
  if (plus && !digits.starts_with("86") && digits.size() >= 8 && digits.size() <= 15 &&
      digits[0] != '0')
    return "+" + digits;
  return fail(Code::validation_failed,
              "phone must be a mainland mobile number (11 digits) or +<country><number>", "/phone");
}

Result<User> create_user(store::Tx& tx, const Env& env, const NewUser& nu) {
  std::int64_t now = env.clock.now_us();
  std::int64_t id = env.ids.next();
  std::optional<std::string> phone_hash, phone_enc;
  if (nu.phone) {
    phone_hash = env.cipher.lookup_hash(kPhoneField, *nu.phone);
    phone_enc = env.cipher.encrypt(kPhoneField, *nu.phone);
  }
  auto r = tx.exec(
      "INSERT INTO users (id, email, phone_hash, phone_enc, display_name, password_hash, status,"
      " created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
      {id, nu.email, phone_hash, phone_enc, nu.display_name, nu.password_hash, now});
  if (!r) {
    if (r.error().code == Code::already_exists) {
      bool phone = r.error().detail.find("phone_hash") != std::string::npos;
      return fail(
          Code::already_exists,
          phone ? "this phone number is already registered" : "this email is already registered",
          phone ? "/phone" : "/email");
    }
    return std::unexpected(r.error());
  }
  User u;
  u.id = UserId{id};
  u.email = nu.email;
  u.phone = nu.phone;
  u.display_name = nu.display_name;
  u.status = "active";
  u.created_at_us = now;
  return u;
}

Result<std::optional<User>> get_user(store::Conn& conn, const Env& env, UserId id) {
  std::optional<User> out;
  JISHI_TRY(conn.query("SELECT " JISHI_USER_COLUMNS " FROM users WHERE id = $1", {id.value},
                       [&](const store::Row& r) {
                         out = read_user(r, env);
                         return false;
                       }));
  return out;
}

Result<std::optional<std::string>> get_real_name(store::Conn& conn, const Env& env, UserId id) {
  JISHI_ASSIGN_OR_RETURN(
      auto sealed, conn.query_one("SELECT real_name_enc FROM users WHERE id = $1 AND "
                                  "real_name_verified_at_us IS NOT NULL",
                                  {id.value}, [](const store::Row& r) { return r.opt_str(0); }));
  if (!sealed || !*sealed) return std::optional<std::string>();
  JISHI_ASSIGN_OR_RETURN(auto name, env.cipher.decrypt(kRealNameField, **sealed));
  return std::optional(name);
}

Result<std::optional<LoginRecord>> find_login(store::Conn& conn, const Env& env,
                                              std::string_view login) {
  std::string sql =
      "SELECT id, password_hash, status, failed_logins, locked_until_us FROM users WHERE ";
  std::string key;
  if (login.find('@') != std::string_view::npos) {
    auto email = normalize_email(login);
    if (!email) return std::optional<LoginRecord>();
    key = *email;
    sql += "email = $1";
  } else {
    auto phone = normalize_phone(login);
    if (!phone) return std::optional<LoginRecord>();
    key = env.cipher.lookup_hash(kPhoneField, *phone);
    sql += "phone_hash = $1";
  }
  std::optional<LoginRecord> out;
  JISHI_TRY(conn.query(sql, {key}, [&](const store::Row& r) {
    out = LoginRecord{UserId{r.i64(0)}, r.str(1), r.str(2), r.i64(3), r.i64(4)};
    return false;
  }));
  return out;
}

Result<std::int64_t> record_login_failure(store::Tx& tx, const Env& env, UserId id) {
  std::int64_t now = env.clock.now_us();
  std::int64_t failed = 0;
  JISHI_TRY(tx.query(
      "UPDATE users SET failed_logins = failed_logins + 1, updated_at_us = $2 WHERE id = $1 "
      "RETURNING failed_logins",
      {id.value, now}, [&](const store::Row& r) {
        failed = r.i64(0);
        return false;
      }));
  if (failed < static_cast<std::int64_t>(limits::login_failures_max)) return 0;
  std::int64_t until = now + limits::login_lockout_us;
  JISHI_TRY(tx.exec("UPDATE users SET failed_logins = 0, locked_until_us = $2 WHERE id = $1",
                    {id.value, until}));
  return until;
}

Status record_login_success(store::Tx& tx, const Env& env, UserId id) {
  JISHI_TRY(tx.exec(
      "UPDATE users SET failed_logins = 0, locked_until_us = 0, updated_at_us = $2 WHERE id = $1",
      {id.value, env.clock.now_us()}));
  return {};
}

Status set_real_name(store::Tx& tx, const Env& env, UserId id, std::string_view name,
                     std::string_view resident_id) {
  std::int64_t now = env.clock.now_us();
  auto r = tx.exec(
      "UPDATE users SET real_name_enc = $2, resident_id_enc = $3, resident_id_hash = $4, "
      "real_name_verified_at_us = $5, updated_at_us = $5 WHERE id = $1",
      {id.value, env.cipher.encrypt(kRealNameField, name),
       env.cipher.encrypt(kResidentIdField, resident_id),
       env.cipher.lookup_hash(kResidentIdField, resident_id), now});
  if (!r) {
    if (r.error().code == Code::already_exists)
      return fail(Code::already_exists, "this ID number is verified on another account",
                  "/resident_id");
    return std::unexpected(r.error());
  }
  if (*r == 0) return fail(Code::not_found, "user not found");
  return {};
}

}  // namespace jishi::identity

#undef JISHI_USER_COLUMNS
