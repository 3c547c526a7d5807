// Product search over SQLite FTS5. FTS5's trigram tokenizer cannot match queries shorter than
// three characters, yet most Chinese queries are one or two (鞋, 手机). So text is segmented here
// before it reaches FTS5: runs of CJK characters become their unigrams and bigrams, Latin and
// digit runs become lower-cased words; the unicode61 tokenizer then splits on the spaces. A
// query is segmented the same way: a one-character CJK run matches its unigram, a longer run
// all of its bigrams (so 手机 finds 华为手机 but not 手表), Latin words match as prefixes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace jishi::catalog {

// The index terms of a text, space-separated.
std::string search_terms(std::string_view text);
// The FTS5 MATCH expression for a user query (every term quoted: user text never reaches FTS5
// syntax), or nullopt when the query has no searchable term.
std::optional<std::string> match_expression(std::string_view query);

// Puts a listed product's terms in the index, or takes any other product out (same transaction).
Status reindex(store::Tx& tx, ProductId id);

enum class Sort { relevance, price_asc, price_desc, sales, newest };
std::optional<Sort> parse_sort(std::string_view s);

struct SearchQuery {
  std::string q{};
  std::vector<CategoryId> categories{};  // any of these (a category and its descendants)
  std::optional<OrgId> seller{};
  std::optional<std::int64_t> price_min{}, price_max{};
  bool in_stock_only = false;
  Sort sort = Sort::relevance;
  std::string cursor{};  // opaque, from the previous page
  std::size_t limit = 20;
};

struct SearchHit {
  ProductId id;
  OrgId seller;
  std::string title;
  std::optional<std::string> subtitle;
  std::string currency;
  std::int64_t price_min = 0, price_max = 0, sales = 0, rating_sum = 0, rating_count = 0;
  bool in_stock = false;
  std::optional<std::string> image;  // file name of the first image
  std::int64_t listed_at_us = 0;
};
struct SearchPage {
  std::vector<SearchHit> items;
  std::optional<std::string> next_cursor;
};
// Listed products only. validation_failed for a malformed cursor.
Result<SearchPage> search(store::Conn& conn, const SearchQuery& q);

}  // namespace jishi::catalog
