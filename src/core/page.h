// One page of a list in keyset order, shared by every module's list functions.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace jishi {

// next_cursor is the last key of this page when more follow, else nullopt.
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::int64_t> next_cursor;
};

}  // namespace jishi
