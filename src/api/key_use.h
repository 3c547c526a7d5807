// Audit of API key use: the first use of each key per UTC day and per remote address goes into
// the audit log (kind identity.api_key_used), written through the writer without delaying the
// request. Remembered in memory, so a restart records the day's first use again.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace jishi::api {

class ApiKeyUseLog {
 public:
  // True once per (key, day, address): the caller then records the use.
  bool first_use(std::int64_t key_id, std::int64_t day, std::string_view address);

 private:
  static constexpr std::size_t kKeysMax = 100'000;
  static constexpr std::size_t kAddressesPerKeyMax = 32;
  struct Seen {
    std::int64_t day = 0;
    std::vector<std::string> addresses;
  };
  std::mutex mutex_;
  std::unordered_map<std::int64_t, Seen> seen_;
};

}  // namespace jishi::api
