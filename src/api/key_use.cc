#include "api/key_use.h"

#include <algorithm>

namespace jishi::api {

bool ApiKeyUseLog::first_use(std::int64_t key_id, std::int64_t day, std::string_view address) {
  std::lock_guard lock(mutex_);
  if (seen_.size() >= kKeysMax && !seen_.contains(key_id)) seen_.clear();  // a new day's worth
  Seen& s = seen_[key_id];
  if (s.day != day) {
    s.day = day;
    s.addresses.clear();
  }
  if (std::find(s.addresses.begin(), s.addresses.end(), address) != s.addresses.end()) return false;
  if (s.addresses.size() >= kAddressesPerKeyMax) return false;  // enough said for one day
  s.addresses.emplace_back(address);
  return true;
}

}  // namespace jishi::api
