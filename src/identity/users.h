// Users: sign-up by email or phone, login bookkeeping (failures and lock-out), real-name data.
// Phone and ID numbers are stored encrypted with a keyed hash beside them for lookup.
#pragma once

#include <optional>
#include <string>

#include "core/env.h"
#include "core/result.h"
#include "identity/types.h"
#include "store/database.h"

namespace jishi::identity {

// Lower-cases and checks an address (one @, a dotted domain, no spaces, <= 254 bytes).
Result<std::string> normalize_email(std::string_view email);
// Accepts a mainland mobile number (11 digits starting 1[3-9], optional +86) or any E.164
// number (+ and 8..15 digits); returns E.164 ("+8613800138000").
Result<std::string> normalize_phone(std::string_view phone);

struct NewUser {
  std::optional<std::string> email;  // normalised
  std::optional<std::string> phone;  // normalised
  std::string display_name;
  std::string password_hash;
};

// Fails with already_exists when the email or phone is registered.
Result<User> create_user(store::Tx& tx, const Env& env, const NewUser& user);
Result<std::optional<User>> get_user(store::Conn& conn, const Env& env, UserId id);
// The verified real name (decrypted), or nullopt when the person has not verified one.
Result<std::optional<std::string>> get_real_name(store::Conn& conn, const Env& env, UserId id);

// What login needs to know about an account found by email or phone.
struct LoginRecord {
  UserId id;
  std::string password_hash;
  std::string status;
  std::int64_t failed_logins = 0;
  std::int64_t locked_until_us = 0;
};
// `login` is an email or a phone number.
Result<std::optional<LoginRecord>> find_login(store::Conn& conn, const Env& env,
                                              std::string_view login);
// Counts a failed attempt; the login_failures_max-th in a row locks the account for
// login_lockout_us. Returns the locked-until time (0 when not locked).
Result<std::int64_t> record_login_failure(store::Tx& tx, const Env& env, UserId id);
Status record_login_success(store::Tx& tx, const Env& env, UserId id);

// Stores a verified real name and resident ID number (validated by the caller). Fails with
// already_exists when the ID number belongs to another account.
Status set_real_name(store::Tx& tx, const Env& env, UserId id, std::string_view name,
                     std::string_view resident_id);

}  // namespace jishi::identity
