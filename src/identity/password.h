// Password hashing with Argon2id (libsodium). Hashing costs tens of milliseconds by design,
// so callers run it on the CPU pool, never on an I/O thread or inside the writer.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi::identity {

enum class HashCost { min, interactive, moderate };
HashCost parse_hash_cost(std::string_view name);  // "min" | "interactive" | "moderate"

// Checks length (limits.h) and that the password is not trivially weak.
Status validate_password(std::string_view password);
std::string hash_password(std::string_view password, HashCost cost);
bool verify_password(std::string_view encoded_hash, std::string_view password);
// Burns the time of one verification, so unknown accounts take as long as known ones.
void verify_password_dummy(HashCost cost);

}  // namespace jishi::identity
