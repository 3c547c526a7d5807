// A process-wide table of values (functions, mostly) by name: filled once at start by the
// module that owns them, read from any thread. Reads copy the value out under a shared lock,
// so a reader never holds the lock while it calls what it found.
#pragma once

#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jishi {

template <class V>
class NamedRegistry {
 public:
  // Registers or replaces the value under `name`.
  void set(const std::string& name, V value) {
    std::unique_lock lock(mu_);
    by_name_[name] = std::move(value);
  }
  std::optional<V> find(std::string_view name) const {
    std::shared_lock lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }
  // Every entry, in name order.
  std::vector<std::pair<std::string, V>> all() const {
    std::shared_lock lock(mu_);
    return {by_name_.begin(), by_name_.end()};
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, V, std::less<>> by_name_;
};

}  // namespace jishi
