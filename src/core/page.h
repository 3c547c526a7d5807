// One page of a list in keyset order, shared by every module's list functions.
#pragma once

#include <cstddef>
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

// For a page fetched with LIMIT limit + 1: drops the extra row and, when there was one, sets
// next_cursor to key(last item kept).
template <class T, class Key>
void trim_page(Page<T>& page, std::size_t limit, Key key) {
  if (page.items.size() <= limit) return;
  page.items.resize(limit);
  page.next_cursor = key(page.items.back());
}

}  // namespace jishi
