// pay/risk internals shared by evaluation (risk.cc) and administration (risk_admin.cc): the
// canonical form of list values, their keyed hash and display form, and reading a rule row.
#pragma once

#include <string>
#include <string_view>

#include "core/field_cipher.h"
#include "core/result.h"
#include "pay/risk.h"
#include "store/database.h"

namespace jishi::pay::risk::internal {

// The canonical form a value is hashed in, so "6222 0200 1234 5678" and "6222020012345678"
// match: card digits without spaces or dashes, account upper-cased without spaces, user a
// decimal id, device printable ASCII, ip as inet_ntop prints it. validation_failed otherwise.
Result<std::string> canonical_value(EntryKind kind, std::string_view raw);
// lookup_hash under a field name per kind: equal values of one kind give equal hashes.
std::string value_hash(const FieldCipher& cipher, EntryKind kind, std::string_view canonical);
// ****1234 for card and account numbers; the canonical value for the other kinds.
std::string display_value(EntryKind kind, std::string_view canonical);

#define JISHI_RISK_RULE_COLUMNS                                                            \
  "id, kind, action, account_class, outcome, enabled, currency, max_minor, velocity_key, " \
  "max_count, window_s, description, created_at_us, updated_at_us"
Rule read_rule(const store::Row& r);

}  // namespace jishi::pay::risk::internal
