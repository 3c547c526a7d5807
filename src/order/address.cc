#include "order/address.h"

#include "core/limits.h"
#include "core/regions.h"
#include "identity/users.h"

namespace jishi::order {

namespace {

constexpr std::string_view kColumns =
    "id, user_id, recipient_enc, phone_enc, region_code, detail_enc, postal_code, is_default, "
    "created_at_us, updated_at_us";

Result<Address> read_address(const store::Row& r, const Env& env) {
  Address a;
  a.id = AddressId{r.i64(0)};
  a.user = UserId{r.i64(1)};
  JISHI_ASSIGN_OR_RETURN(a.recipient, env.cipher.decrypt("address.recipient", r.text(2)));
  JISHI_ASSIGN_OR_RETURN(a.phone, env.cipher.decrypt("address.phone", r.text(3)));
  a.region_code = r.str(4);
  JISHI_ASSIGN_OR_RETURN(a.detail, env.cipher.decrypt("address.detail", r.text(5)));
  a.postal_code = r.opt_str(6);
  a.is_default = r.i64(7) != 0;
  a.created_at_us = r.i64(8);
  a.updated_at_us = r.i64(9);
  return a;
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Result<AddressFields> validate_address(AddressFields f) {
  if (f.recipient.empty() || f.recipient.size() > limits::recipient_bytes_max)
    return fail(Code::validation_failed,
                "recipient must be 1.." + std::to_string(limits::recipient_bytes_max) + " bytes",
                "/recipient");
  auto phone = identity::normalize_phone(f.phone);
  if (!phone) return fail(Code::validation_failed, phone.error().detail, "/phone");
  f.phone = *phone;
  if (f.region_code.size() != 6 || !all_digits(f.region_code))
    return fail(Code::validation_failed, "region_code must be a six-digit GB/T 2260 code",
                "/region_code");
  // A county-level area; or a prefecture-level city that has none (东莞 441900, 中山 442000):
  // its padded code stands for the city itself.
  const Region* area = find_region(f.region_code);
  bool ok = area && area->level == 3;
  if (!ok && f.region_code.ends_with("00") && !f.region_code.ends_with("0000")) {
    const Region* city = find_region(std::string_view(f.region_code).substr(0, 4));
    ok = city && region_children(city->code).empty();
  }
  if (!ok)
    return fail(Code::validation_failed,
                "region_code " + f.region_code + " is not a county-level area in GB/T 2260",
                "/region_code");
  if (f.detail.empty() || f.detail.size() > limits::address_detail_bytes_max)
    return fail(Code::validation_failed,
                "detail must be 1.." + std::to_string(limits::address_detail_bytes_max) + " bytes",
                "/detail");
  if (f.postal_code && (f.postal_code->size() != 6 || !all_digits(*f.postal_code)))
    return fail(Code::validation_failed, "postal_code has six digits", "/postal_code");
  return f;
}

std::string region_path(std::string_view code) {
  std::string out;
  for (std::size_t n : {2u, 4u, 6u}) {
    if (code.size() < n) break;
    const Region* r = find_region(code.substr(0, n));
    if (!r) continue;
    if (!out.empty()) out += ' ';
    out += r->name;
  }
  return out;
}

Result<Address> create_address(store::Tx& tx, Env& env, UserId user, const AddressFields& fields,
                               bool make_default) {
  JISHI_ASSIGN_OR_RETURN(auto f, validate_address(fields));
  JISHI_ASSIGN_OR_RETURN(auto count,
                         tx.query_one("SELECT COUNT(*) FROM ord_addresses WHERE "
                                      "user_id = $1 AND deleted = 0",
                                      {user.value}, [](const store::Row& r) { return r.i64(0); }));
  if (count.value_or(0) >= static_cast<std::int64_t>(limits::addresses_per_user_max))
    return fail(Code::conflict, "an address book holds at most " +
                                    std::to_string(limits::addresses_per_user_max) + " addresses");
  bool is_default = make_default || count.value_or(0) == 0;
  if (is_default)
    JISHI_TRY(tx.exec("UPDATE ord_addresses SET is_default = 0 WHERE user_id = $1", {user.value}));
  AddressId id{env.ids.next()};
  std::int64_t now = env.clock.now_us();
  JISHI_TRY(tx.exec(
      "INSERT INTO ord_addresses (id, user_id, recipient_enc, phone_enc, region_code, detail_enc, "
      "postal_code, is_default, created_at_us, updated_at_us) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
      {id.value, user.value, env.cipher.encrypt("address.recipient", f.recipient),
       env.cipher.encrypt("address.phone", f.phone), f.region_code,
       env.cipher.encrypt("address.detail", f.detail), f.postal_code, is_default, now}));
  return get_address(tx, env, user, id);
}

Result<Address> update_address(store::Tx& tx, Env& env, UserId user, AddressId id,
                               const AddressFields& fields, std::optional<bool> make_default) {
  JISHI_TRY(get_address(tx, env, user, id));
  JISHI_ASSIGN_OR_RETURN(auto f, validate_address(fields));
  if (make_default.value_or(false))
    JISHI_TRY(tx.exec("UPDATE ord_addresses SET is_default = 0 WHERE user_id = $1", {user.value}));
  JISHI_TRY(tx.exec(
      "UPDATE ord_addresses SET recipient_enc = $2, phone_enc = $3, region_code = $4, "
      "detail_enc = $5, postal_code = $6, is_default = CASE WHEN $7 = 1 THEN 1 ELSE is_default "
      "END, updated_at_us = $8 WHERE id = $1",
      {id.value, env.cipher.encrypt("address.recipient", f.recipient),
       env.cipher.encrypt("address.phone", f.phone), f.region_code,
       env.cipher.encrypt("address.detail", f.detail), f.postal_code, make_default.value_or(false),
       env.clock.now_us()}));
  return get_address(tx, env, user, id);
}

Status delete_address(store::Tx& tx, Env& env, UserId user, AddressId id) {
  JISHI_TRY(get_address(tx, env, user, id));
  JISHI_TRY(tx.exec(
      "UPDATE ord_addresses SET deleted = 1, is_default = 0, updated_at_us = $2 WHERE id = $1",
      {id.value, env.clock.now_us()}));
  return {};
}

Result<Address> get_address(store::Conn& conn, const Env& env, UserId user, AddressId id) {
  std::optional<Result<Address>> out;
  JISHI_TRY(conn.query("SELECT " + std::string(kColumns) +
                           " FROM ord_addresses WHERE id = $1 AND user_id = $2 AND deleted = 0",
                       {id.value, user.value}, [&](const store::Row& r) {
                         out = read_address(r, env);
                         return false;
                       }));
  if (!out) return fail(Code::not_found, "no such address", "/address_id");
  return *out;
}

Result<std::vector<Address>> list_addresses(store::Conn& conn, const Env& env, UserId user) {
  std::vector<Address> out;
  std::optional<Error> err;
  JISHI_TRY(conn.query("SELECT " + std::string(kColumns) +
                           " FROM ord_addresses WHERE user_id = $1 AND deleted = 0 ORDER BY "
                           "is_default DESC, id DESC",
                       {user.value}, [&](const store::Row& r) {
                         auto a = read_address(r, env);
                         if (!a) {
                           err = a.error();
                           return false;
                         }
                         out.push_back(std::move(*a));
                         return true;
                       }));
  if (err) return std::unexpected(*err);
  return out;
}

}  // namespace jishi::order
