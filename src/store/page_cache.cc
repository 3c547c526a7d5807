#include "store/page_cache.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>

namespace jishi::store {

namespace {

// SQLite's default page cache (pcache1), read before the layer replaces it.
sqlite3_pcache_methods2 inner{};
std::atomic<std::uint64_t> passed{0}, skipped{0};

// One cache (one per pager). Used only under its connection, as pcache1's own state is.
struct Layer {
  sqlite3_pcache* cache = nullptr;
  // Every page held has a number <= bound, or is one of `moved` (moved there above the bound
  // and not moved away since). When `moved` is full, its numbers are folded into the bound.
  unsigned bound = 0;
  std::array<unsigned, 8> moved{};
  std::size_t moved_count = 0;

  unsigned highest() const {
    unsigned h = bound;
    for (std::size_t i = 0; i < moved_count; ++i) h = std::max(h, moved[i]);
    return h;
  }
  void forget_moved(std::size_t i) { moved[i] = moved[--moved_count]; }
};

Layer* layer(sqlite3_pcache* p) {
  return reinterpret_cast<Layer*>(p);
}

int init(void*) {
  return inner.xInit(inner.pArg);
}
void shutdown(void*) {
  if (inner.xShutdown) inner.xShutdown(inner.pArg);
}

sqlite3_pcache* create(int page_size, int extra_size, int purgeable) {
  auto* l = new (std::nothrow) Layer;
  if (!l) return nullptr;
  l->cache = inner.xCreate(page_size, extra_size, purgeable);
  if (!l->cache) {
    delete l;
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(l);
}

void cachesize(sqlite3_pcache* p, int n) {
  inner.xCachesize(layer(p)->cache, n);
}
int pagecount(sqlite3_pcache* p) {
  return inner.xPagecount(layer(p)->cache);
}

sqlite3_pcache_page* fetch(sqlite3_pcache* p, unsigned key, int create_flag) {
  Layer* l = layer(p);
  sqlite3_pcache_page* page = inner.xFetch(l->cache, key, create_flag);
  if (page && create_flag != 0 && key > l->bound) l->bound = key;
  return page;
}

void unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  inner.xUnpin(layer(p)->cache, page, discard);
}

void rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Layer* l = layer(p);
  inner.xRekey(l->cache, page, old_key, new_key);
  for (std::size_t i = 0; i < l->moved_count; ++i)
    if (l->moved[i] == old_key) {
      l->forget_moved(i);
      break;
    }
  if (new_key <= l->bound) return;
  if (l->moved_count == l->moved.size()) {
    l->bound = l->highest();
    l->moved_count = 0;
  }
  l->moved[l->moved_count++] = new_key;
}

void truncate(sqlite3_pcache* p, unsigned limit) {
  Layer* l = layer(p);
  if (limit > l->highest()) {  // no page held is numbered limit or above
    skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  inner.xTruncate(l->cache, limit);
  passed.fetch_add(1, std::memory_order_relaxed);
  // Every page numbered limit or above is gone.
  if (limit == 0) {
    l->bound = 0;
  } else {
    l->bound = std::min(l->bound, limit - 1);
  }
  for (std::size_t i = 0; i < l->moved_count;)
    if (l->moved[i] >= limit)
      l->forget_moved(i);
    else
      ++i;
}

void destroy(sqlite3_pcache* p) {
  Layer* l = layer(p);
  inner.xDestroy(l->cache);
  delete l;
}

void shrink(sqlite3_pcache* p) {
  if (inner.xShrink) inner.xShrink(layer(p)->cache);
}

bool install() {
  sqlite3_pcache_methods2 defaults{};
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &defaults) != SQLITE_OK || !defaults.xCreate)
    return false;
  inner = defaults;
  // Every method ours, in the struct's order; each passes the call on to `inner`.
  sqlite3_pcache_methods2 methods{defaults.iVersion, nullptr,   init,  shutdown, create,
                                  cachesize,         pagecount, fetch, unpin,    rekey,
                                  truncate,          destroy,   shrink};
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) == SQLITE_OK;
}

}  // namespace

bool install_page_cache_layer() {
  static const bool installed = [] {
    bool ok = install();
    if (!ok)
      spdlog::warn(
          "sqlite: the page-cache layer is not installed (SQLite had started already); "
          "transactions in databases below 1 GiB will end with a scan of the whole cache");
    return ok;
  }();
  return installed;
}

PageCacheTruncations page_cache_truncations() {
  return {passed.load(std::memory_order_relaxed), skipped.load(std::memory_order_relaxed)};
}

}  // namespace jishi::store
