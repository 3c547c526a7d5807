// A buyer's address book. Recipient, phone and street detail are personal data: encrypted at
// rest (core/field_cipher.h). The region is a GB/T 2260 county-level code checked against the
// embedded table, so every order ships to a place that exists.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::order {

using AddressId = Id<struct AddressTag>;

struct AddressFields {
  std::string recipient;
  std::string phone;        // normalised E.164
  std::string region_code;  // six digits: a county-level area (or a city without counties)
  std::string detail;       // street, building, room
  std::optional<std::string> postal_code;
};

struct Address : AddressFields {
  AddressId id;
  UserId user;
  bool is_default = false;
  std::int64_t created_at_us = 0, updated_at_us = 0;
};

// Validates and normalises the fields (phone to E.164, region against the table); the error
// names the field. Used by create/update and by checkout for an inline address.
Result<AddressFields> validate_address(AddressFields fields);
// "浙江省 杭州市 西湖区" for a valid region code.
std::string region_path(std::string_view region_code);

Result<Address> create_address(store::Tx& tx, Env& env, UserId user, const AddressFields& fields,
                               bool make_default);
Result<Address> update_address(store::Tx& tx, Env& env, UserId user, AddressId id,
                               const AddressFields& fields, std::optional<bool> make_default);
Status delete_address(store::Tx& tx, Env& env, UserId user, AddressId id);
// The user's own address (not_found for anyone else's or a deleted one).
Result<Address> get_address(store::Conn& conn, const Env& env, UserId user, AddressId id);
Result<std::vector<Address>> list_addresses(store::Conn& conn, const Env& env, UserId user);

}  // namespace jishi::order
