// A thin layer over SQLite's own page cache that spares every COMMIT a scan of the whole cache.
//
// Why: at the end of each transaction SQLite drops the cached pages beyond the database's size
// (pager_end_transaction → xTruncate). Its page cache (pcache1) knows only the largest page
// number it has ever held, and when a B-tree split leaves new sibling pages out of order,
// SQLite 3.40's balance_nonroot swaps their numbers through a temporary one: the lock-byte
// page's, 1 GiB into the file. In a database smaller than that, every transaction with such a
// split (most, under random index inserts) then ends with pcache1 walking every hash bucket
// and every cached page (16,384 of each with the writer's 64 MiB cache), though none is beyond
// the size. Measured under checkout load: ~11% of the writer thread's samples.
//
// What: the layer passes every call to SQLite's default page cache, and keeps per cache an
// upper bound of the page numbers it holds: the largest created, plus the numbers a page was
// moved to above that bound while it has not been moved away again (the temporary one). A
// truncation at or below the bound goes through; one above it would drop nothing, and is
// skipped. The bound only ever over-estimates, so nothing that must be dropped is kept.
#pragma once

#include <cstdint>

namespace jishi::store {

// Installs the layer. Only possible before SQLite initialises (open_sqlite calls it first);
// returns false otherwise, and SQLite keeps its own cache as it is. Idempotent.
bool install_page_cache_layer();

// Truncations passed to SQLite's cache and skipped, since the start of the process.
struct PageCacheTruncations {
  std::uint64_t passed = 0, skipped = 0;
};
PageCacheTruncations page_cache_truncations();

}  // namespace jishi::store
