// Rows of one table kept in a connection's memory, exact by store::TableWatch (database.h):
// every entry goes when the table's version moves, and an entry is used or kept only while
// the watch is usable(). The writer's payee and webhook caches are made of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "store/database.h"

namespace jishi::store {

template <class K, class V>
class WatchedCache {
 public:
  WatchedCache(const TableWatch* watch, std::size_t entries_max)
      : watch_(watch), version_(watch->version), entries_max_(entries_max) {}

  // Watches `table` (`columns`, see Conn::watch) on conn and attaches a cache under `name`.
  // On an engine that cannot watch, attaches nothing: of() is then nullptr and callers read.
  static Status prepare(Conn& conn, std::string_view name, std::string_view table,
                        std::string_view columns, std::size_t entries_max) {
    JISHI_ASSIGN_OR_RETURN(const TableWatch* watch, conn.watch(table, columns));
    if (watch) conn.attach(name, std::make_shared<WatchedCache>(watch, entries_max));
    return {};
  }
  static WatchedCache* of(const Conn& conn, std::string_view name) {
    return conn.attachment<WatchedCache>(name);
  }

  // The entry for k, when one may be used now; nullptr to read the row. Drops every entry
  // first when the table's version moved.
  const V* find(const K& k) {
    if (!watch_->usable()) return nullptr;
    if (version_ != watch_->version) {
      entries_.clear();
      version_ = watch_->version;
    }
    auto it = entries_.find(k);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Keeps v, just read for k, when a value read now may be kept (and nothing moved since
  // find()). At entries_max it starts again.
  void keep(const K& k, V v) {
    if (!watch_->usable() || version_ != watch_->version) return;
    if (entries_.size() >= entries_max_) entries_.clear();
    entries_.insert_or_assign(k, std::move(v));
  }

 private:
  const TableWatch* watch_;
  std::uint64_t version_;
  std::size_t entries_max_;
  std::unordered_map<K, V> entries_;
};

}  // namespace jishi::store
