#include "identity/password.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

#include "core/limits.h"

namespace jishi::identity {

namespace {
void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();
  });
}

std::pair<unsigned long long, std::size_t> params(HashCost cost) {
  switch (cost) {
    case HashCost::min:
      return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    case HashCost::interactive:
      return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
    case HashCost::moderate:
      return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
}  // namespace

HashCost parse_hash_cost(std::string_view name) {
  if (name == "min") return HashCost::min;
  if (name == "moderate") return HashCost::moderate;
  return HashCost::interactive;
}

Status validate_password(std::string_view password) {
  if (password.size() < limits::password_bytes_min)
    return fail(
        Code::validation_failed,
        "password must be at least " + std::to_string(limits::password_bytes_min) + " characters",
        "/password");
  if (password.size() > limits::password_bytes_max)
    return fail(Code::validation_failed, "password is too long", "/password");
  bool all_same = true;
  for (char c : password) all_same = all_same && c == password[0];
  if (all_same) return fail(Code::validation_failed, "password is too weak", "/password");
  return {};
}

std::string hash_password(std::string_view password, HashCost cost) {
  ensure_sodium();
  auto [ops, mem] = params(cost);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    std::abort();  // out of memory: nothing sensible to do for a password hash
  return out;
}

bool verify_password(std::string_view encoded_hash, std::string_view password) {
  ensure_sodium();
  std::string h(encoded_hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

void verify_password_dummy(HashCost cost) {
  static const std::string dummy = hash_password("jishi-dummy-password", cost);
  (void)verify_password(dummy, "not-the-password");
}

}  // namespace jishi::identity
