// The catalog: an operator-managed category tree; sellers' products with SKUs (spec attributes,
// prices in minor units), images and a block description; moderation (operators and
// regulators take products down with a reason, recorded); and full-text search.
//
//   draft --list--> listed <--delist/list--> delisted;   any --takedown--> taken_down
//   taken_down --restore (operator)--> delisted
//
// Only listed products are in the search index, which changes in the same transaction as the
// product. Functions run inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/money.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::metrics {
class Registry;
}

namespace jishi::catalog {

using CategoryId = Id<struct CategoryTag>;
using ProductId = Id<struct ProductTag>;
using SkuId = Id<struct SkuTag>;

struct Category {
  CategoryId id;
  std::optional<CategoryId> parent;
  std::string code, name;
  std::optional<std::string> name_en;
  int sort = 0, depth = 1;
};
struct NewCategory {
  std::optional<CategoryId> parent;
  std::string code, name;
  std::optional<std::string> name_en;
  int sort = 0;
};
Result<Category> create_category(store::Tx& tx, Env& env, const NewCategory& c);
Result<Category> update_category(store::Tx& tx, Env& env, CategoryId id,
                                 std::optional<std::string> name,
                                 std::optional<std::optional<std::string>> name_en,
                                 std::optional<int> sort);
Result<std::vector<Category>> all_categories(store::Conn& conn);
// The category and every category below it.
Result<std::vector<CategoryId>> category_and_descendants(store::Conn& conn, CategoryId id);

// A description block: {"type":"text","text":...} or {"type":"image","image_id":...}.
struct Block {
  std::string type;
  std::string text;  // text, or the image id
};

struct Sku {
  SkuId id;
  ProductId product;
  std::map<std::string, std::string> spec;
  std::string spec_text;
  Money price;
  std::optional<std::string> code;
  std::string status;  // active | disabled
  bool in_stock = false;
};
struct NewSku {
  std::map<std::string, std::string> spec;
  Money price;
  std::optional<std::string> code;
};

struct Image {
  std::int64_t id = 0;
  std::string sha256, content_type;
  std::int64_t bytes = 0;
  int position = 0;
  std::string file_name() const;  // "<sha256>.<ext>", served at /media/<file_name>
};

struct Product {
  ProductId id;
  OrgId seller;
  CategoryId category;
  std::string category_code, category_name;
  std::string title;
  std::optional<std::string> subtitle, brand, takedown_reason;
  std::vector<Block> description;
  std::string status;
  Currency currency;
  std::int64_t price_min = 0, price_max = 0, sales = 0, rating_sum = 0, rating_count = 0;
  bool in_stock = false;
  std::int64_t created_at_us = 0, updated_at_us = 0;
  std::optional<std::int64_t> listed_at_us;
  std::vector<Sku> skus;
  std::vector<Image> images;
};

struct ProductFields {
  std::string title;
  std::optional<std::string> subtitle, brand;
  CategoryId category;
  std::vector<Block> description;
};

// A draft product with its SKUs (>= 1, distinct specs, one currency).
Result<Product> create_product(store::Tx& tx, Env& env, OrgId seller, const ProductFields& f,
                               const std::vector<NewSku>& skus);
Result<Product> update_product(store::Tx& tx, Env& env, ProductId id, const ProductFields& f);
Result<Product> get_product(store::Conn& conn, ProductId id);
Result<Sku> add_sku(store::Tx& tx, Env& env, ProductId id, const NewSku& s);
struct SkuPatch {
  std::optional<Money> price;
  std::optional<std::map<std::string, std::string>> spec;
  std::optional<std::string> status;
  std::optional<std::optional<std::string>> code;
};
Result<Sku> update_sku(store::Tx& tx, Env& env, SkuId id, const SkuPatch& p);
Result<std::optional<Sku>> get_sku(store::Conn& conn, SkuId id);

// Status changes; `role` is recorded with the actor ("seller", "operator", "regulator").
Result<Product> list_product(store::Tx& tx, Env& env, ProductId id, UserId actor);
Result<Product> delist_product(store::Tx& tx, Env& env, ProductId id, UserId actor);
Result<Product> take_down(store::Tx& tx, Env& env, ProductId id, UserId actor,
                          std::string_view role, std::string_view reason);
Result<Product> restore(store::Tx& tx, Env& env, ProductId id, UserId actor);

struct Takedown {
  std::int64_t id = 0;
  ProductId product;
  std::string action, reason, title;
  OrgId seller;
  std::optional<std::int64_t> actor_id;
  std::string actor_role;
  std::int64_t at_us = 0;
};
Result<Page<Takedown>> takedowns(store::Conn& conn, std::int64_t before, std::size_t limit);

// Images: the caller stores the bytes (under the data dir) named by SHA-256.
Result<Image> add_image(store::Tx& tx, Env& env, ProductId id, std::string_view sha256,
                        std::string_view content_type, std::int64_t bytes);
Status remove_image(store::Tx& tx, Env& env, ProductId id, std::int64_t image_id);
// The content type of a sniffed image (JPEG, PNG, WebP by magic bytes), or nullopt.
std::optional<std::string> sniff_image(std::string_view bytes);

struct SellerFilter {
  OrgId seller;
  std::optional<std::string> status;
  std::int64_t before = 0;
  std::size_t limit = 20;
};
Result<Page<Product>> seller_products(store::Conn& conn, const SellerFilter& f);

// --- what the trading flows need (hot path: one query) -----------------------------------------
struct SkuOffer {
  SkuId sku;
  ProductId product;
  OrgId seller;
  std::string title;
  std::string spec_text;
  Money price;
  std::string category_code;
  bool sellable = false;  // product listed and SKU active
  std::string product_status;
};
// In SKU order of `skus`; a SKU that does not exist is left out.
Result<std::vector<SkuOffer>> offers(store::Conn& conn, std::span<const SkuId> skus);

// The writer's offer cache: on a connection prepared with prepare_offer_cache(), offers() keeps
// what it read in memory and answers the next checkouts of the same SKUs without the
// three-table join (docs/performance.md). It never serves a stale offer:
// - TEMP triggers of that connection give the offers a new random token in a TEMP table
//   whenever a column an offer is made of changes (a SKU's product, spec, price, currency or
//   status; a product's seller, title, category or status; a category's code), a row goes or one is
//   inserted (a REPLACE deletes silently), and log which offers changed with that token;
// - offers() drops just the offers logged since it last looked (a SKU, a product's SKUs), so a
//   merchant's edit leaves everyone else's offers cached; a category's change empties it;
// - the token and the log are TEMP tables, so a rolled-back change (a savepoint, a failed
//   COMMIT) takes both back with the rows; when the last change it applied is gone from the log
//   (or logged again under another token: tokens are random, so none comes back), it empties;
// - PRAGMA data_version tells when another connection (a CLI verb) committed: it empties;
// - the two reads of that check (the token, data_version) are skipped while store::TableWatch
//   says no offer column was written through the connection, no transaction rolled back and
//   no other connection committed since the last check, inside a begin() transaction that has
//   not written them (one checkout after another in the writer's batches).
// prepare_offer_cache() loads the offers of listed products' active SKUs, in SKU order, up to
// three quarters of limits::offer_cache_entries_max (~0.1 s per 100,000 SKUs at the start), so
// that a restarted writer does not read each SKU's offer on its first checkout. At most that
// limit of entries (then it starts again). SQLite only: on another engine this does nothing
// and offers() reads every time.
Status prepare_offer_cache(store::Conn& conn);
struct OfferCacheStats {
  // resets: the whole cache emptied (another connection's commit, a change it could not
  // follow, or the size limit); evictions: entries dropped because their offer changed.
  std::uint64_t hits = 0, misses = 0, resets = 0, evictions = 0;
  // Checks that read nothing: no watch of the offer tables had moved (store::TableWatch).
  std::uint64_t unchanged = 0;
  std::size_t entries = 0;
  std::size_t loaded = 0;  // offers loaded when the cache was prepared
};
// Nullopt on a connection without the cache.
std::optional<OfferCacheStats> offer_cache_stats(const store::Conn& conn);
// The cache's tallies on /metrics (jishi_offer_cache_*), read from the registry's thread; a
// connection without the cache publishes nothing.
void publish_offer_cache_metrics(const store::Conn& conn, metrics::Registry& registry);
Status set_in_stock(store::Tx& tx, SkuId sku, bool in_stock);
Status add_sales(store::Tx& tx, ProductId product, std::int64_t quantity);
Status add_rating(store::Tx& tx, ProductId product, std::int64_t score_sum_delta,
                  std::int64_t count_delta);

}  // namespace jishi::catalog
