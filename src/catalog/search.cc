#include "catalog/search.h"

#include <charconv>

#include "core/limits.h"

namespace jishi::catalog {

namespace {

// Decodes one UTF-8 code point at s[i], advancing i; invalid bytes decode as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 0x2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += n;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF) ||
         (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}

// Full-width Latin letters and digits (ＡＢＣ１２３) are the ASCII ones.
char32_t fold(char32_t c) {
  if (c >= 0xFF10 && c <= 0xFF19) return c - 0xFF10 + '0';
  if (c >= 0xFF21 && c <= 0xFF3A) return c - 0xFF21 + 'a';
  if (c >= 0xFF41 && c <= 0xFF5A) return c - 0xFF41 + 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 'a';
  return c;
}

bool is_word(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  // Other scripts' letters (é, ü, кириллица) join words; symbols and punctuation split them.
  bool punctuation = (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
                     (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFFEF) || c == 0xFFFD ||
                     (c >= 0x80 && c <= 0xBF);
  return !punctuation && !is_cjk(c);
}

struct Token {
  enum Kind { word, cjk_run } kind;
  std::vector<char32_t> chars;
};

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> out;
  bool broken = true;  // a separator (or the start) ends the current token
  std::size_t i = 0;
  while (i < text.size()) {
    char32_t c = fold(next_code_point(text, i));
    Token::Kind kind;
    if (is_cjk(c)) {
      kind = Token::cjk_run;
    } else if (is_word(c)) {
      kind = Token::word;
    } else {
      broken = true;
      continue;
    }
    if (broken || out.back().kind != kind) out.push_back(Token{kind, {}});
    out.back().chars.push_back(c);
    broken = false;
  }
  return out;
}

std::string text_of(const std::vector<char32_t>& chars, std::size_t from, std::size_t n) {
  std::string s;
  for (std::size_t k = from; k < from + n; ++k) append_utf8(s, chars[k]);
  return s;
}

}  // namespace

std::string search_terms(std::string_view text) {
  std::string out;
  auto add = [&](const std::string& t) {
    if (!out.empty()) out += ' ';
    out += t;
  };
  for (const auto& t : tokenize(text)) {
    if (t.kind == Token::word) {
      add(text_of(t.chars, 0, t.chars.size()));
      continue;
    }
    for (std::size_t k = 0; k < t.chars.size(); ++k) {
      add(text_of(t.chars, k, 1));
      if (k + 1 < t.chars.size()) add(text_of(t.chars, k, 2));
    }
  }
  return out;
}

std::optional<std::string> match_expression(std::string_view query) {
  std::string out;
  auto add = [&](const std::string& term, bool prefix) {
    if (!out.empty()) out += ' ';
    out += '"' + term + '"';  // terms hold no quotes: quotes are separators
    if (prefix) out += '*';
  };
  for (const auto& t : tokenize(query)) {
    if (t.kind == Token::word) {
      add(text_of(t.chars, 0, t.chars.size()), true);
    } else if (t.chars.size() == 1) {
      add(text_of(t.chars, 0, 1), false);
    } else {
      for (std::size_t k = 0; k + 1 < t.chars.size(); ++k) add(text_of(t.chars, k, 2), false);
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Status reindex(store::Tx& tx, ProductId id) {
  JISHI_TRY(tx.exec("DELETE FROM cat_search WHERE rowid = $1", {id.value}));
  JISHI_ASSIGN_OR_RETURN(auto p, get_product(tx, id));
  if (p.status != "listed") return {};
  std::string body;
  auto add = [&](std::string_view s) {
    body += ' ';
    body += s;
  };
  if (p.subtitle) add(*p.subtitle);
  if (p.brand) add(*p.brand);
  // The category and its ancestors: 鞋靴 finds what is filed under 鞋靴 > 运动鞋.
  std::optional<std::int64_t> cat = p.category.value;
  for (int depth = 0; cat && depth < limits::category_depth_max; ++depth) {
    JISHI_ASSIGN_OR_RETURN(
        auto row,
        tx.query_one("SELECT name, parent_id FROM cat_categories WHERE id = $1", {*cat},
                     [](const store::Row& r) { return std::pair(r.str(0), r.opt_i64(1)); }));
    if (!row) break;
    add(row->first);
    cat = row->second;
  }
  for (const auto& s : p.skus)
    if (s.status == "active") add(s.spec_text);
  for (const auto& b : p.description)
    if (b.type == "text") add(b.text);
  JISHI_TRY(tx.exec("INSERT INTO cat_search (rowid, title, body) VALUES ($1, $2, $3)",
                    {id.value, search_terms(p.title), search_terms(body)}));
  return {};
}

std::optional<Sort> parse_sort(std::string_view s) {
  if (s == "relevance") return Sort::relevance;
  if (s == "price_asc") return Sort::price_asc;
  if (s == "price_desc") return Sort::price_desc;
  if (s == "sales") return Sort::sales;
  if (s == "newest") return Sort::newest;
  return std::nullopt;
}

namespace {

bool parse_i64(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

// Cursor forms: "o<offset>" (relevance), "<value>_<id>" (price, sales), "<id>" (newest).
struct Cursor {
  std::int64_t offset = 0, value = 0, id = 0;
  bool set = false;
};

Result<Cursor> parse_cursor(std::string_view text, Sort sort, bool relevance) {
  Cursor c;
  if (text.empty()) return c;
  c.set = true;
  auto bad = [] { return fail(Code::validation_failed, "malformed cursor", "cursor"); };
  if (relevance) {
    if (text.front() != 'o' || !parse_i64(text.substr(1), c.offset) || c.offset < 0 ||
        c.offset > static_cast<std::int64_t>(limits::search_offset_max))
      return bad();
    return c;
  }
  if (sort == Sort::newest) {
    if (!parse_i64(text, c.id)) return bad();
    return c;
  }
  auto us = text.find('_');
  if (us == std::string_view::npos || !parse_i64(text.substr(0, us), c.value) ||
      !parse_i64(text.substr(us + 1), c.id))
    return bad();
  return c;
}

}  // namespace

Result<SearchPage> search(store::Conn& conn, const SearchQuery& q) {
  std::optional<std::string> match;
  if (!q.q.empty()) {
    match = match_expression(q.q);
    if (!match) return SearchPage{};  // only punctuation: nothing can match
  }
  Sort sort = q.sort;
  bool relevance = sort == Sort::relevance && match.has_value();
  if (sort == Sort::relevance && !match) sort = Sort::newest;
  JISHI_ASSIGN_OR_RETURN(auto cur, parse_cursor(q.cursor, sort, relevance));

  std::vector<store::Param> params;
  auto param = [&](store::Param p) {
    params.push_back(p);
    return "$" + std::to_string(params.size());
  };
  std::string sql =
      "SELECT p.id, p.seller_id, p.title, p.subtitle, p.currency, p.price_min, p.price_max, "
      "p.sales, p.rating_sum, p.rating_count, p.in_stock, (SELECT i.sha256 || '.' || CASE "
      "i.content_type WHEN 'image/png' THEN 'png' WHEN 'image/webp' THEN 'webp' ELSE 'jpg' END "
      "FROM cat_images i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1), "
      "COALESCE(p.listed_at_us, p.created_at_us)";
  std::string match_param;
  if (match) {
    match_param = param(*match);
    sql +=
        ", bm25(cat_search, 10.0, 1.0) AS rank FROM cat_search JOIN cat_products p ON p.id = "
        "cat_search.rowid WHERE cat_search MATCH " +
        match_param + " AND p.status = 'listed'";
  } else {
    sql += " FROM cat_products p WHERE p.status = 'listed'";
  }
  if (!q.categories.empty()) {
    sql += " AND p.category_id IN (";
    for (std::size_t i = 0; i < q.categories.size(); ++i)
      sql += (i ? ", " : "") + param(q.categories[i].value);
    sql += ")";
  }
  if (q.seller) sql += " AND p.seller_id = " + param(q.seller->value);
  if (q.price_min) sql += " AND p.price_max >= " + param(*q.price_min);
  if (q.price_max) sql += " AND p.price_min <= " + param(*q.price_max);
  if (q.in_stock_only) sql += " AND p.in_stock = 1";
  if (cur.set && !relevance) {
    if (sort == Sort::newest) {
      sql += " AND p.id < " + param(cur.id);
    } else {
      std::string col = sort == Sort::sales ? "p.sales" : "p.price_min";
      bool asc = sort == Sort::price_asc;
      std::string v = param(cur.value), id = param(cur.id);
      sql += " AND (" + col + (asc ? " > " : " < ") + v + " OR (" + col + " = " + v + " AND p.id" +
             (asc ? " > " : " < ") + id + "))";
    }
  }
  switch (sort) {
    case Sort::relevance:
      sql += " ORDER BY rank, p.id";
      break;
    case Sort::price_asc:
      sql += " ORDER BY p.price_min, p.id";
      break;
    case Sort::price_desc:
      sql += " ORDER BY p.price_min DESC, p.id DESC";
      break;
    case Sort::sales:
      sql += " ORDER BY p.sales DESC, p.id DESC";
      break;
    case Sort::newest:
      sql += " ORDER BY p.id DESC";
      break;
  }
  sql += " LIMIT " + param(static_cast<std::int64_t>(q.limit + 1));
  if (relevance) sql += " OFFSET " + param(cur.offset);

  SearchPage page;
  JISHI_TRY(conn.query(sql, params, [&](const store::Row& r) {
    SearchHit h;
    h.id = ProductId{r.i64(0)};
    h.seller = OrgId{r.i64(1)};
    h.title = r.str(2);
    h.subtitle = r.opt_str(3);
    h.currency = r.str(4);
    h.price_min = r.i64(5);
    h.price_max = r.i64(6);
    h.sales = r.i64(7);
    h.rating_sum = r.i64(8);
    h.rating_count = r.i64(9);
    h.in_stock = r.i64(10) != 0;
    h.image = r.opt_str(11);
    h.listed_at_us = r.i64(12);
    page.items.push_back(std::move(h));
    return true;
  }));
  if (page.items.size() > q.limit) {
    page.items.resize(q.limit);
    const auto& last = page.items.back();
    if (relevance) {
      std::int64_t next = cur.offset + static_cast<std::int64_t>(q.limit);
      if (next <= static_cast<std::int64_t>(limits::search_offset_max))
        page.next_cursor = "o" + std::to_string(next);
    } else if (sort == Sort::newest) {
      page.next_cursor = std::to_string(last.id.value);
    } else {
      std::int64_t v = sort == Sort::sales ? last.sales : last.price_min;
      page.next_cursor = std::to_string(v) + "_" + std::to_string(last.id.value);
    }
  }
  return page;
}

}  // namespace jishi::catalog
