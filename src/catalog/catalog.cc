#include "catalog/catalog.h"

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <set>
#include <unordered_map>

#include "catalog/search.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/metrics.h"

namespace jishi::catalog {

namespace json = boost::json;

namespace {

Currency stored_currency(std::string_view code) {
  auto c = currency_from_code(code);
  return c ? *c : Currency{};
}

std::string spec_json(const std::map<std::string, std::string>& spec) {
  json::object o;
  for (const auto& [k, v] : spec) o[k] = v;  // std::map: keys sorted, so the text is canonical
  return json_to_string(o);
}

std::map<std::string, std::string> parse_spec(std::string_view text) {
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [k, x] : v.as_object())
    if (x.is_string()) out[std::string(k)] = std::string(x.as_string());
  return out;
}

std::string spec_text(const std::map<std::string, std::string>& spec) {
  std::string out;
  for (const auto& [k, v] : spec) out += (out.empty() ? "" : " ") + k + ":" + v;
  return out;
}

std::string blocks_json(const std::vector<Block>& blocks) {
  json::array a;
  for (const auto& b : blocks) {
    json::object o;
    o["type"] = b.type;
    o[b.type == "image" ? "image_id" : "text"] = b.text;
    a.push_back(std::move(o));
  }
  return json_to_string(a);
}

std::vector<Block> parse_blocks(std::string_view text) {
  std::vector<Block> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (!x.is_object()) continue;
    const auto& o = x.as_object();
    Block b;
    if (auto* t = o.if_contains("type"); t && t->is_string()) b.type = std::string(t->as_string());
    auto* body = o.if_contains(b.type == "image" ? "image_id" : "text");
    if (body && body->is_string()) b.text = std::string(body->as_string());
    out.push_back(std::move(b));
  }
  return out;
}

Status check_text(std::string_view v, std::size_t max, std::string_view field, bool required) {
  if ((required && v.empty()) || v.size() > max)
    return fail(Code::validation_failed,
                std::string(field) + " must be " + (required ? "1" : "0") + ".." +
                    std::to_string(max) + " bytes",
                "/" + std::string(field));
  return {};
}

Status check_spec(const std::map<std::string, std::string>& spec, const std::string& at) {
  if (spec.size() > limits::spec_attributes_max)
    return fail(Code::validation_failed,
                "a SKU has at most " + std::to_string(limits::spec_attributes_max) + " attributes",
                at + "/spec");
  for (const auto& [k, v] : spec)
    if (k.empty() || v.empty() || k.size() > limits::spec_part_bytes_max ||
        v.size() > limits::spec_part_bytes_max)
      return fail(
          Code::validation_failed,
          "spec names and values are 1.." + std::to_string(limits::spec_part_bytes_max) + " bytes",
          at + "/spec");
  return {};
}

Status check_price(const Money& m, const std::string& at) {
  if (m.minor <= 0 || m.minor > limits::pay_amount_max)
    return fail(Code::validation_failed, "price must be a positive amount", at + "/price");
  return {};
}

Status check_fields(store::Conn& conn, const ProductFields& f) {
  JISHI_TRY(check_text(f.title, limits::product_title_bytes_max, "title", true));
  if (f.subtitle)
    JISHI_TRY(check_text(*f.subtitle, limits::product_subtitle_bytes_max, "subtitle", false));
  if (f.brand) JISHI_TRY(check_text(*f.brand, limits::brand_bytes_max, "brand", false));
  if (f.description.size() > limits::description_blocks_max)
    return fail(
        Code::validation_failed,
        "description has at most " + std::to_string(limits::description_blocks_max) + " blocks",
        "/description");
  for (std::size_t i = 0; i < f.description.size(); ++i) {
    const auto& b = f.description[i];
    std::string at = "/description/" + std::to_string(i);
    if (b.type != "text" && b.type != "image")
      return fail(Code::validation_failed, "a block's type is text or image", at + "/type");
    if (b.text.empty() || b.text.size() > limits::description_text_bytes_max)
      return fail(Code::validation_failed, "a block needs its text or image_id", at);
  }
  JISHI_ASSIGN_OR_RETURN(
      auto cat, conn.query_one("SELECT id FROM cat_categories WHERE id = $1", {f.category.value},
                               [](const store::Row& r) { return r.i64(0); }));
  if (!cat) return fail(Code::validation_failed, "no such category", "/category_id");
  return {};
}

// Keeps price range and stock flag in step with the active SKUs.
Status recompute(store::Tx& tx, ProductId id, std::int64_t now) {
  JISHI_TRY(tx.exec(
      "UPDATE cat_products SET "
      "price_min = COALESCE((SELECT MIN(price) FROM cat_skus WHERE product_id = $1 AND status = "
      "'active'), price_min), "
      "price_max = COALESCE((SELECT MAX(price) FROM cat_skus WHERE product_id = $1 AND status = "
      "'active'), price_max), "
      "in_stock = EXISTS (SELECT 1 FROM cat_skus WHERE product_id = $1 AND status = 'active' AND "
      "in_stock = 1), updated_at_us = $2 WHERE id = $1",
      {id.value, now}));
  return {};
}

Status log_event(store::Tx& tx, Env& env, ProductId id, std::string_view action,
                 std::optional<std::string> reason, std::optional<std::int64_t> actor,
                 std::string_view role) {
  JISHI_TRY(
      tx.exec("INSERT INTO cat_product_events (id, product_id, action, reason, actor_id, "
              "actor_role, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {env.ids.next(), id.value, action, reason, actor, role, env.clock.now_us()}));
  return {};
}

Result<Sku> insert_sku(store::Tx& tx, Env& env, ProductId product, const Currency& currency,
                       const NewSku& s, const std::string& at) {
  JISHI_TRY(check_spec(s.spec, at));
  JISHI_TRY(check_price(s.price, at));
  if (s.price.currency != currency)
    return fail(Code::validation_failed, "a product's SKUs share one currency", at + "/price");
  if (s.code && s.code->size() > limits::sku_code_bytes_max)
    return fail(Code::validation_failed, "code is too long", at + "/code");
  SkuId id{env.ids.next()};
  std::int64_t now = env.clock.now_us();
  auto r = tx.exec(
      "INSERT INTO cat_skus (id, product_id, spec, spec_text, price, currency, code, "
      "status, in_stock, created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7, 'active', 0, $8, $8)",
      {id.value, product.value, spec_json(s.spec), spec_text(s.spec), s.price.minor,
       currency.code_view(), s.code, now});
  if (!r) {
    if (r.error().code == Code::already_exists)
      return fail(Code::already_exists, "two SKUs of a product have the same spec", at + "/spec");
    return std::unexpected(r.error());
  }
  JISHI_ASSIGN_OR_RETURN(auto sku, get_sku(tx, id));
  return *sku;
}

constexpr std::string_view kSkuColumns =
    "id, product_id, spec, spec_text, price, currency, code, status, in_stock";

Sku read_sku(const store::Row& r) {
  Sku s;
  s.id = SkuId{r.i64(0)};
  s.product = ProductId{r.i64(1)};
  s.spec = parse_spec(r.text(2));
  s.spec_text = r.str(3);
  s.price = Money{r.i64(4), stored_currency(r.text(5))};
  s.code = r.opt_str(6);
  s.status = r.str(7);
  s.in_stock = r.i64(8) != 0;
  return s;
}

constexpr std::string_view kProductColumns =
    "p.id, p.seller_id, p.category_id, c.code, c.name, p.title, p.subtitle, p.brand, "
    "p.takedown_reason, p.description, p.status, p.currency, p.price_min, p.price_max, p.sales, "
    "p.rating_sum, p.rating_count, p.in_stock, p.created_at_us, p.updated_at_us, p.listed_at_us";

Product read_product(const store::Row& r) {
  Product p;
  p.id = ProductId{r.i64(0)};
  p.seller = OrgId{r.i64(1)};
  p.category = CategoryId{r.i64(2)};
  p.category_code = r.str(3);
  p.category_name = r.str(4);
  p.title = r.str(5);
  p.subtitle = r.opt_str(6);
  p.brand = r.opt_str(7);
  p.takedown_reason = r.opt_str(8);
  p.description = parse_blocks(r.text(9));
  p.status = r.str(10);
  p.currency = stored_currency(r.text(11));
  p.price_min = r.i64(12);
  p.price_max = r.i64(13);
  p.sales = r.i64(14);
  p.rating_sum = r.i64(15);
  p.rating_count = r.i64(16);
  p.in_stock = r.i64(17) != 0;
  p.created_at_us = r.i64(18);
  p.updated_at_us = r.i64(19);
  p.listed_at_us = r.opt_i64(20);
  return p;
}

Status load_parts(store::Conn& conn, Product& p) {
  JISHI_TRY(conn.query(
      "SELECT " + std::string(kSkuColumns) + " FROM cat_skus WHERE product_id = $1 ORDER BY id",
      {p.id.value}, [&](const store::Row& r) {
        p.skus.push_back(read_sku(r));
        return true;
      }));
  JISHI_TRY(
      conn.query("SELECT id, sha256, content_type, bytes, position FROM cat_images WHERE "
                 "product_id = $1 ORDER BY position, id",
                 {p.id.value}, [&](const store::Row& r) {
                   p.images.push_back(
                       Image{r.i64(0), r.str(1), r.str(2), r.i64(3), static_cast<int>(r.i64(4))});
                   return true;
                 }));
  return {};
}

Result<Product> set_status(store::Tx& tx, Env& env, ProductId id,
                           std::initializer_list<std::string_view> from, std::string_view to,
                           std::optional<std::string> reason, UserId actor, std::string_view role) {
  JISHI_ASSIGN_OR_RETURN(auto p, get_product(tx, id));
  bool ok = false;
  for (auto f : from) ok = ok || p.status == f;
  if (!ok) return fail(Code::invalid_state, "the product is " + p.status);
  std::int64_t now = env.clock.now_us();
  JISHI_TRY(tx.exec(
      "UPDATE cat_products SET status = $2, takedown_reason = $3, updated_at_us = $4, "
      "listed_at_us = CASE WHEN $2 = 'listed' THEN COALESCE(listed_at_us, $4) ELSE listed_at_us "
      "END WHERE id = $1",
      {id.value, to, to == "taken_down" ? reason : std::optional<std::string>(), now}));
  std::string action = to == "listed"                                 ? "listed"
                       : to == "delisted" && p.status == "taken_down" ? "restored"
                       : to == "delisted"                             ? "delisted"
                                                                      : "taken_down";
  JISHI_TRY(log_event(tx, env, id, action, reason, actor.value, role));
  JISHI_TRY(reindex(tx, id));
  return get_product(tx, id);
}

}  // namespace

std::string Image::file_name() const {
  std::string ext = content_type == "image/png"    ? "png"
                    : content_type == "image/webp" ? "webp"
                                                   : "jpg";
  return sha256 + "." + ext;
}

Result<Category> create_category(store::Tx& tx, Env& env, const NewCategory& c) {
  JISHI_TRY(check_text(c.code, limits::category_code_bytes_max, "code", true));
  for (char ch : c.code)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      return fail(Code::validation_failed, "code has a-z, 0-9, - and _", "/code");
  JISHI_TRY(check_text(c.name, limits::category_name_bytes_max, "name", true));
  if (c.name_en)
    JISHI_TRY(check_text(*c.name_en, limits::category_name_bytes_max, "name_en", false));
  int depth = 1;
  if (c.parent) {
    JISHI_ASSIGN_OR_RETURN(
        auto parent, tx.query_one("SELECT depth FROM cat_categories WHERE id = $1",
                                  {c.parent->value}, [](const store::Row& r) { return r.i64(0); }));
    if (!parent) return fail(Code::validation_failed, "no such parent category", "/parent_id");
    depth = static_cast<int>(*parent) + 1;
    if (depth > limits::category_depth_max)
      return fail(Code::validation_failed, "categories nest at most 3 deep", "/parent_id");
  }
  JISHI_ASSIGN_OR_RETURN(auto n, tx.query_one("SELECT COUNT(*) FROM cat_categories", {},
                                              [](const store::Row& r) { return r.i64(0); }));
  if (n.value_or(0) >= static_cast<std::int64_t>(limits::categories_max))
    return fail(Code::conflict, "the category tree is full");
  CategoryId id{env.ids.next()};
  std::int64_t now = env.clock.now_us();
  std::optional<std::int64_t> parent;
  if (c.parent) parent = c.parent->value;
  auto r = tx.exec(
      "INSERT INTO cat_categories (id, parent_id, code, name, name_en, sort, depth, "
      "created_at_us, updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
      {id.value, parent, c.code, c.name, c.name_en, c.sort, depth, now});
  if (!r && r.error().code == Code::already_exists)
    return fail(Code::already_exists, "a category with this code exists", "/code");
  if (!r) return std::unexpected(r.error());
  return Category{id, c.parent, c.code, c.name, c.name_en, c.sort, depth};
}

Result<Category> update_category(store::Tx& tx, Env& env, CategoryId id,
                                 std::optional<std::string> name,
                                 std::optional<std::optional<std::string>> name_en,
                                 std::optional<int> sort) {
  if (name) JISHI_TRY(check_text(*name, limits::category_name_bytes_max, "name", true));
  if (name_en && *name_en)
    JISHI_TRY(check_text(**name_en, limits::category_name_bytes_max, "name_en", false));
  JISHI_ASSIGN_OR_RETURN(auto all, all_categories(tx));
  std::optional<Category> found;
  for (const auto& c : all)
    if (c.id == id) found = c;
  if (!found) return fail(Code::not_found, "no such category");
  if (name) found->name = *name;
  if (name_en) found->name_en = *name_en;
  if (sort) found->sort = *sort;
  JISHI_TRY(
      tx.exec("UPDATE cat_categories SET name = $2, name_en = $3, sort = $4, updated_at_us "
              "= $5 WHERE id = $1",
              {id.value, found->name, found->name_en, found->sort, env.clock.now_us()}));
  // Product documents carry the names of their category and its ancestors: re-index every
  // listed product filed under this category or below it.
  JISHI_ASSIGN_OR_RETURN(auto below, category_and_descendants(tx, id));
  std::vector<std::int64_t> listed;
  for (auto c : below)
    JISHI_TRY(tx.query("SELECT id FROM cat_products WHERE category_id = $1 AND status = 'listed'",
                       {c.value}, [&](const store::Row& r) {
                         listed.push_back(r.i64(0));
                         return true;
                       }));
  for (auto p : listed) JISHI_TRY(reindex(tx, ProductId{p}));
  return *found;
}

Result<std::vector<Category>> all_categories(store::Conn& conn) {
  std::vector<Category> out;
  JISHI_TRY(
      conn.query("SELECT id, parent_id, code, name, name_en, sort, depth FROM "
                 "cat_categories ORDER BY depth, sort, id",
                 {}, [&](const store::Row& r) {
                   Category c;
                   c.id = CategoryId{r.i64(0)};
                   if (!r.is_null(1)) c.parent = CategoryId{r.i64(1)};
                   c.code = r.str(2);
                   c.name = r.str(3);
                   c.name_en = r.opt_str(4);
                   c.sort = static_cast<int>(r.i64(5));
                   c.depth = static_cast<int>(r.i64(6));
                   out.push_back(std::move(c));
                   return true;
                 }));
  return out;
}

Result<std::vector<CategoryId>> category_and_descendants(store::Conn& conn, CategoryId id) {
  JISHI_ASSIGN_OR_RETURN(auto all, all_categories(conn));
  std::set<std::int64_t> in{id.value};
  bool known = false;
  for (const auto& c : all) known = known || c.id == id;
  if (!known) return fail(Code::validation_failed, "no such category", "category");
  // Sorted by depth: parents come before their children.
  for (const auto& c : all)
    if (c.parent && in.count(c.parent->value)) in.insert(c.id.value);
  std::vector<CategoryId> out;
  for (auto v : in) out.push_back(CategoryId{v});
  return out;
}

Result<Product> create_product(store::Tx& tx, Env& env, OrgId seller, const ProductFields& f,
                               const std::vector<NewSku>& skus) {
  JISHI_TRY(check_fields(tx, f));
  if (skus.empty() || skus.size() > limits::skus_per_product_max)
    return fail(Code::validation_failed,
                "a product has 1.." + std::to_string(limits::skus_per_product_max) + " SKUs",
                "/skus");
  ProductId id{env.ids.next()};
  std::int64_t now = env.clock.now_us();
  Currency currency = skus.front().price.currency;
  JISHI_TRY(tx.exec(
      "INSERT INTO cat_products (id, seller_id, category_id, title, subtitle, brand, description, "
      "status, currency, price_min, price_max, created_at_us, updated_at_us) VALUES ($1, $2, $3, "
      "$4, $5, $6, $7, 'draft', $8, $9, $9, $10, $10)",
      {id.value, seller.value, f.category.value, f.title, f.subtitle, f.brand,
       blocks_json(f.description), currency.code_view(), skus.front().price.minor, now}));
  for (std::size_t i = 0; i < skus.size(); ++i)
    JISHI_TRY(insert_sku(tx, env, id, currency, skus[i], "/skus/" + std::to_string(i)));
  JISHI_TRY(recompute(tx, id, now));
  JISHI_TRY(log_event(tx, env, id, "created", std::nullopt, std::nullopt, "seller"));
  return get_product(tx, id);
}

Result<Product> update_product(store::Tx& tx, Env& env, ProductId id, const ProductFields& f) {
  JISHI_TRY(get_product(tx, id));
  JISHI_TRY(check_fields(tx, f));
  JISHI_TRY(
      tx.exec("UPDATE cat_products SET title = $2, subtitle = $3, brand = $4, category_id = "
              "$5, description = $6, updated_at_us = $7 WHERE id = $1",
              {id.value, f.title, f.subtitle, f.brand, f.category.value, blocks_json(f.description),
               env.clock.now_us()}));
  JISHI_TRY(reindex(tx, id));
  return get_product(tx, id);
}

Result<Product> get_product(store::Conn& conn, ProductId id) {
  JISHI_ASSIGN_OR_RETURN(auto p, conn.query_one("SELECT " + std::string(kProductColumns) +
                                                    " FROM cat_products p JOIN cat_categories c "
                                                    "ON c.id = p.category_id WHERE p.id = $1",
                                                {id.value}, read_product));
  if (!p) return fail(Code::not_found, "no such product");
  JISHI_TRY(load_parts(conn, *p));
  return *p;
}

Result<Sku> add_sku(store::Tx& tx, Env& env, ProductId id, const NewSku& s) {
  JISHI_ASSIGN_OR_RETURN(auto p, get_product(tx, id));
  if (p.skus.size() >= limits::skus_per_product_max)
    return fail(Code::conflict, "the product has the most SKUs it may have");
  JISHI_ASSIGN_OR_RETURN(auto sku, insert_sku(tx, env, id, p.currency, s, ""));
  JISHI_TRY(recompute(tx, id, env.clock.now_us()));
  JISHI_TRY(reindex(tx, id));
  return sku;
}

Result<Sku> update_sku(store::Tx& tx, Env& env, SkuId id, const SkuPatch& patch) {
  JISHI_ASSIGN_OR_RETURN(auto current, get_sku(tx, id));
  if (!current) return fail(Code::not_found, "no such SKU");
  Sku s = *current;
  if (patch.price) {
    JISHI_TRY(check_price(*patch.price, ""));
    if (patch.price->currency != s.price.currency)
      return fail(Code::validation_failed, "a product's SKUs share one currency", "/price");
    s.price = *patch.price;
  }
  if (patch.spec) {
    JISHI_TRY(check_spec(*patch.spec, ""));
    s.spec = *patch.spec;
  }
  if (patch.status) {
    if (*patch.status != "active" && *patch.status != "disabled")
      return fail(Code::validation_failed, "status is active or disabled", "/status");
    s.status = *patch.status;
  }
  if (patch.code) {
    if (*patch.code && (*patch.code)->size() > limits::sku_code_bytes_max)
      return fail(Code::validation_failed, "code is too long", "/code");
    s.code = *patch.code;
  }
  auto r = tx.exec(
      "UPDATE cat_skus SET spec = $2, spec_text = $3, price = $4, status = $5, code "
      "= $6, updated_at_us = $7 WHERE id = $1",
      {id.value, spec_json(s.spec), spec_text(s.spec), s.price.minor, s.status, s.code,
       env.clock.now_us()});
  if (!r && r.error().code == Code::already_exists)
    return fail(Code::already_exists, "two SKUs of a product have the same spec", "/spec");
  if (!r) return std::unexpected(r.error());
  JISHI_TRY(recompute(tx, s.product, env.clock.now_us()));
  // A listed product needs an active SKU: disabling its last one delists it (recorded).
  JISHI_ASSIGN_OR_RETURN(auto product, get_product(tx, s.product));
  bool active = false;
  for (const auto& x : product.skus) active = active || x.status == "active";
  if (!active && product.status == "listed") {
    JISHI_TRY(
        tx.exec("UPDATE cat_products SET status = 'delisted', updated_at_us = $2 WHERE id = $1",
                {s.product.value, env.clock.now_us()}));
    JISHI_TRY(log_event(tx, env, s.product, "delisted",
                        std::string("its last active SKU was disabled"), std::nullopt, "system"));
  }
  JISHI_TRY(reindex(tx, s.product));
  JISHI_ASSIGN_OR_RETURN(auto after, get_sku(tx, id));
  return *after;
}

Result<std::optional<Sku>> get_sku(store::Conn& conn, SkuId id) {
  return conn.query_one("SELECT " + std::string(kSkuColumns) + " FROM cat_skus WHERE id = $1",
                        {id.value}, read_sku);
}

Result<Product> list_product(store::Tx& tx, Env& env, ProductId id, UserId actor) {
  JISHI_ASSIGN_OR_RETURN(auto p, get_product(tx, id));
  bool active = false;
  for (const auto& s : p.skus) active = active || s.status == "active";
  if (!active) return fail(Code::invalid_state, "a listed product needs an active SKU");
  if (p.status == "taken_down")
    return fail(Code::invalid_state,
                "the product was taken down: " + p.takedown_reason.value_or("") +
                    "; an operator must restore it first");
  return set_status(tx, env, id, {"draft", "delisted"}, "listed", std::nullopt, actor, "seller");
}

Result<Product> delist_product(store::Tx& tx, Env& env, ProductId id, UserId actor) {
  return set_status(tx, env, id, {"listed"}, "delisted", std::nullopt, actor, "seller");
}

Result<Product> take_down(store::Tx& tx, Env& env, ProductId id, UserId actor,
                          std::string_view role, std::string_view reason) {
  if (reason.empty() || reason.size() > limits::reason_bytes_max)
    return fail(Code::validation_failed, "a takedown needs a reason", "/reason");
  return set_status(tx, env, id, {"draft", "listed", "delisted"}, "taken_down", std::string(reason),
                    actor, role);
}

Result<Product> restore(store::Tx& tx, Env& env, ProductId id, UserId actor) {
  return set_status(tx, env, id, {"taken_down"}, "delisted", std::nullopt, actor, "operator");
}

Result<Page<Takedown>> takedowns(store::Conn& conn, std::int64_t before, std::size_t limit) {
  Page<Takedown> page;
  JISHI_TRY(conn.query(
      "SELECT e.id, e.product_id, e.action, COALESCE(e.reason, ''), p.title, p.seller_id, "
      "e.actor_id, COALESCE(e.actor_role, ''), e.at_us FROM cat_product_events e JOIN "
      "cat_products p ON p.id = e.product_id WHERE e.action IN ('taken_down', 'restored') AND "
      "e.id < $1 ORDER BY e.id DESC LIMIT $2",
      {before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back(Takedown{r.i64(0), ProductId{r.i64(1)}, r.str(2), r.str(3), r.str(4),
                                      OrgId{r.i64(5)}, r.opt_i64(6), r.str(7), r.i64(8)});
        return true;
      }));
  trim_page(page, limit, [](const Takedown& t) { return t.id; });
  return page;
}

std::optional<std::string> sniff_image(std::string_view b) {
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF &&
      static_cast<unsigned char>(b[1]) == 0xD8 && static_cast<unsigned char>(b[2]) == 0xFF)
    return "image/jpeg";
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
    return "image/png";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "image/webp";
  return std::nullopt;
}

Result<Image> add_image(store::Tx& tx, Env& env, ProductId id, std::string_view sha256,
                        std::string_view content_type, std::int64_t bytes) {
  JISHI_ASSIGN_OR_RETURN(auto p, get_product(tx, id));
  if (p.images.size() >= limits::images_per_product_max)
    return fail(Code::conflict, "a product has at most " +
                                    std::to_string(limits::images_per_product_max) + " images");
  int position = p.images.empty() ? 0 : p.images.back().position + 1;
  std::int64_t image_id = env.ids.next();
  JISHI_TRY(
      tx.exec("INSERT INTO cat_images (id, product_id, sha256, content_type, bytes, "
              "position, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {image_id, id.value, sha256, content_type, bytes, position, env.clock.now_us()}));
  return Image{image_id, std::string(sha256), std::string(content_type), bytes, position};
}

Status remove_image(store::Tx& tx, Env& env, ProductId id, std::int64_t image_id) {
  JISHI_ASSIGN_OR_RETURN(auto n, tx.exec("DELETE FROM cat_images WHERE id = $1 AND product_id = $2",
                                         {image_id, id.value}));
  if (n != 1) return fail(Code::not_found, "no such image");
  JISHI_TRY(tx.exec("UPDATE cat_products SET updated_at_us = $2 WHERE id = $1",
                    {id.value, env.clock.now_us()}));
  return {};
}

Result<Page<Product>> seller_products(store::Conn& conn, const SellerFilter& f) {
  Page<Product> page;
  std::string sql = "SELECT " + std::string(kProductColumns) +
                    " FROM cat_products p JOIN cat_categories c ON c.id = p.category_id WHERE "
                    "p.seller_id = $1 AND p.id < $2" +
                    (f.status ? " AND p.status = $4" : "") + " ORDER BY p.id DESC LIMIT $3";
  auto on_row = [&](const store::Row& r) {
    page.items.push_back(read_product(r));
    return true;
  };
  std::int64_t before = f.before > 0 ? f.before : INT64_MAX;
  auto lim = static_cast<std::int64_t>(f.limit + 1);
  if (f.status)
    JISHI_TRY(conn.query(sql, {f.seller.value, before, lim, *f.status}, on_row));
  else
    JISHI_TRY(conn.query(sql, {f.seller.value, before, lim}, on_row));
  trim_page(page, f.limit, [](const Product& p) { return p.id.value; });
  for (auto& p : page.items) JISHI_TRY(load_parts(conn, p));
  return page;
}

namespace {

// The cache's tallies, atomic so that /metrics can read them while the writer counts
// (publish_offer_cache_metrics); each is relaxed, a tally on its own.
struct OfferCacheCounters {
  metrics::Counter hits, misses, resets, evictions, unchanged;
  std::atomic<std::size_t> entries{0};
};

struct OfferCache {
  bool valid = false;
  std::int64_t token = 0;         // temp.cat_offer_token when the entries were last brought up
  std::int64_t seq = 0;           // the last change (temp.cat_offer_changes) applied then; 0: none
  std::int64_t data_version = 0;  // PRAGMA data_version then
  std::unordered_map<std::int64_t, SkuOffer> entries;
  std::shared_ptr<OfferCacheCounters> counters = std::make_shared<OfferCacheCounters>();
  std::size_t loaded = 0;  // offers loaded when the cache was prepared
  void counted() { counters->entries.store(entries.size(), std::memory_order_relaxed); }
  // The offer tables' watches (store::TableWatch) and their versions at the last check: while
  // none moved, and inside a transaction that has not written them, nothing an offer is made
  // of can have changed, and the check's two statements are skipped.
  std::vector<const store::TableWatch*> watches;
  std::vector<std::uint64_t> versions;
};

constexpr std::string_view kOfferCache = "catalog.offer_cache";

// An offer's columns, from its SKU, product and category; read_offer() makes it from them.
constexpr std::string_view kOfferSelect =
    "SELECT s.id, s.product_id, p.seller_id, p.title, s.spec_text, s.price, s.currency, c.code, "
    "s.status, p.status FROM cat_skus s JOIN cat_products p ON p.id = s.product_id JOIN "
    "cat_categories c ON c.id = p.category_id";

SkuOffer read_offer(const store::Row& r) {
  SkuOffer o;
  o.sku = SkuId{r.i64(0)};
  o.product = ProductId{r.i64(1)};
  o.seller = OrgId{r.i64(2)};
  o.title = r.str(3);
  o.spec_text = r.str(4);
  o.price = Money{r.i64(5), stored_currency(r.text(6))};
  o.category_code = r.str(7);
  o.product_status = r.str(9);
  o.sellable = r.text(8) == "active" && o.product_status == "listed";
  if (r.text(8) != "active" && o.product_status == "listed") o.product_status = "sku disabled";
  return o;
}

// More product or category changes than this at once empty the cache rather than scan it for
// each product's SKUs.
constexpr std::size_t kScansMax = 16;

// Every column an offer is made of, per table (see catalog.h), and `spec`. Each table gets three
// TEMP triggers: an update of one of these columns, a deletion, and an insertion. Each gives the
// offers a new random token and logs which offers changed, with that token: a SKU ('s'), a
// product's SKUs ('p') or a category's ('c', which empties the cache).
// A REPLACE (INSERT OR REPLACE, UPDATE OR REPLACE) deletes the rows its new values conflict
// with, and fires no DELETE trigger while recursive_triggers is off. They conflict on the key
// or on another unique column: UNIQUE (product_id, spec) of a SKU, a category's code. So an
// inserted SKU logs itself and its product, and an updated one its new product when its
// product or spec changed; a product has no other unique column; a category empties it all.
// The triggers keep the log's last kLogRowsMax rows: a cache that has not applied a row dropped
// from it empties (the last change it applied is gone), so a long run of catalog writes without
// a checkout costs memory only up to that bound, and reading the offers never writes.
struct Logged {
  char kind;
  std::string_view id;          // the expression of the changed row's id, in the trigger
  std::string_view when = "1";  // logged only when this holds
};
struct WatchedTable {
  std::string_view table, columns;
  std::vector<Logged> on_update, on_insert, on_delete;
};

constexpr std::int64_t kLogRowsMax = 1'000;

const std::vector<WatchedTable>& offer_tables() {
  static const std::vector<WatchedTable> tables{
      {"cat_skus",
       "id, product_id, spec, spec_text, price, currency, status",
       {{'s', "OLD.id"},
        {'s', "NEW.id"},
        {'p', "NEW.product_id",
         "OLD.product_id IS NOT NEW.product_id OR OLD.spec IS NOT NEW.spec"}},
       {{'s', "NEW.id"}, {'p', "NEW.product_id"}},
       {{'s', "OLD.id"}}},
      {"cat_products",
       "id, seller_id, title, category_id, status",
       {{'p', "OLD.id"}, {'p', "NEW.id"}},
       {{'p', "NEW.id"}},
       {{'p', "OLD.id"}}},
      {"cat_categories", "id, code", {{'c', "NEW.id"}}, {{'c', "NEW.id"}}, {{'c', "OLD.id"}}},
  };
  return tables;
}

std::string offer_cache_sql() {
  std::string sql =
      "CREATE TEMP TABLE IF NOT EXISTS cat_offer_token (n INTEGER NOT NULL);"
      "INSERT INTO temp.cat_offer_token SELECT random() WHERE NOT EXISTS "
      "(SELECT 1 FROM temp.cat_offer_token);"
      "CREATE TEMP TABLE IF NOT EXISTS cat_offer_changes (seq INTEGER PRIMARY KEY, token "
      "INTEGER NOT NULL, kind TEXT NOT NULL, id INTEGER NOT NULL);";
  for (const auto& w : offer_tables()) {
    auto trigger = [&](std::string_view name, const std::string& event,
                       const std::vector<Logged>& logged) {
      sql += "CREATE TEMP TRIGGER IF NOT EXISTS " + std::string(w.table) + "_offer_" +
             std::string(name) + " AFTER " + event + " ON main." + std::string(w.table) +
             " BEGIN UPDATE cat_offer_token SET n = random();";
      for (const auto& l : logged)
        sql += "INSERT INTO cat_offer_changes (token, kind, id) SELECT n, '" +
               std::string(1, l.kind) + "', " + std::string(l.id) + " FROM cat_offer_token WHERE " +
               std::string(l.when) + ";";
      sql +=
          "DELETE FROM cat_offer_changes WHERE seq <= (SELECT MAX(seq) FROM "
          "cat_offer_changes) - " +
          std::to_string(kLogRowsMax) + "; END;";
    };
    trigger("update", "UPDATE OF " + std::string(w.columns), w.on_update);
    trigger("insert", "INSERT", w.on_insert);
    trigger("delete", "DELETE", w.on_delete);
  }
  return sql;
}

void empty(OfferCache& cache) {
  if (cache.valid) cache.counters->resets.add();
  cache.entries.clear();  // its one caller then sets the entries' gauge
}

// Brings the cache up to date with the offers' token and the database's data version:
// - no watch of the offer tables moved since the last check, inside a transaction that has
//   not written them (store::TableWatch): nothing to do, and nothing read;
// - both as its entries were read: nothing to do (two statements per call);
// - another connection committed (data_version): empty it;
// - the token moved: the change log says which offers changed since the last change applied,
//   and only those go. The log and the token are TEMP tables, so a rollback takes back both
//   together; when the last change applied is no longer in the log with its token, a rollback
//   undid what the entries may have been read under, and the cache empties. Tokens are random,
//   so a change logged again at the same place after a rollback never looks like the old one.
Status check_offer_cache(store::Conn& conn, OfferCache& cache) {
  bool unchanged = cache.valid && !cache.watches.empty();
  for (std::size_t i = 0; unchanged && i < cache.watches.size(); ++i)
    unchanged = cache.watches[i]->usable() && cache.watches[i]->version == cache.versions[i];
  if (unchanged) {
    cache.counters->unchanged.add();
    return {};
  }
  std::vector<std::uint64_t> versions;  // kept once the check below has succeeded
  for (const auto* w : cache.watches) versions.push_back(w->version);
  std::int64_t token = 0, version = 0;
  // Two statements: the pragma's table-valued form would prepare the pragma again per call.
  JISHI_TRY(conn.query("SELECT n FROM temp.cat_offer_token", {}, [&](const store::Row& r) {
    token = r.i64(0);
    return false;
  }));
  JISHI_TRY(conn.query("PRAGMA data_version", {}, [&](const store::Row& r) {
    version = r.i64(0);
    return false;
  }));
  if (cache.valid && token == cache.token && version == cache.data_version) {
    cache.versions = std::move(versions);  // up to date now: the next check may skip again
    return {};
  }
  bool whole = !cache.valid || version != cache.data_version;
  if (!whole && cache.seq > 0) {
    JISHI_ASSIGN_OR_RETURN(
        auto logged, conn.query_one("SELECT token FROM temp.cat_offer_changes WHERE seq = $1",
                                    {cache.seq}, [](const store::Row& r) { return r.i64(0); }));
    whole = !logged || *logged != cache.token;
  }
  std::int64_t seq = cache.seq, last_token = cache.token;
  std::vector<std::pair<char, std::int64_t>> changed;
  if (whole) {
    JISHI_ASSIGN_OR_RETURN(
        auto last, conn.query_one("SELECT COALESCE(MAX(seq), 0) FROM temp.cat_offer_changes", {},
                                  [](const store::Row& r) { return r.i64(0); }));
    seq = last.value_or(0);
  } else {
    JISHI_TRY(conn.query(
        "SELECT seq, token, kind, id FROM temp.cat_offer_changes WHERE seq > $1 ORDER BY seq",
        {cache.seq}, [&](const store::Row& r) {
          seq = r.i64(0);
          last_token = r.i64(1);
          changed.emplace_back(r.text(2).front(), r.i64(3));
          return true;
        }));
  }
  // The last change logged carries the token now (the log is empty: nothing changed since).
  if (!whole && last_token != token) whole = true;
  std::size_t scans = 0;
  for (const auto& [kind, id] : changed) {
    if (whole) break;
    if (kind == 's') {
      cache.counters->evictions.add(cache.entries.erase(id));
    } else if (kind == 'p' && ++scans <= kScansMax) {
      cache.counters->evictions.add(std::erase_if(
          cache.entries, [id = id](const auto& kv) { return kv.second.product.value == id; }));
    } else {
      whole = true;  // a category's offers, or too many products to scan for
    }
  }
  if (whole) empty(cache);
  cache.counted();
  cache.valid = true;
  cache.token = token;
  cache.seq = seq;
  cache.data_version = version;
  cache.versions = std::move(versions);
  return {};
}

}  // namespace

Status prepare_offer_cache(store::Conn& conn) {
  if (conn.engine() != store::Engine::sqlite) return {};
  JISHI_TRY(conn.exec_script(offer_cache_sql()));
  auto cache = std::make_shared<OfferCache>();
  for (const auto& t : offer_tables()) {
    JISHI_ASSIGN_OR_RETURN(const store::TableWatch* watch, conn.watch(t.table, t.columns));
    if (!watch) {
      cache->watches.clear();  // every check reads the token and the data version
      break;
    }
    cache->watches.push_back(watch);
    cache->versions.push_back(watch->version);
  }
  // Loaded with the offers of listed products' active SKUs, up to three quarters of the limit
  // (the rest for offers read later), in one transaction: the check first makes the cache
  // valid at the token, change log and data version of that transaction's snapshot, which no
  // other connection can commit into.
  Status loaded = store::run_in_transaction(conn, [&]() -> Status {
    JISHI_TRY(check_offer_cache(conn, *cache));
    std::size_t wanted = limits::offer_cache_entries_max / 4 * 3;
    return conn.query(std::string(kOfferSelect) +
                          " WHERE p.status = 'listed' AND s.status = 'active' ORDER BY s.id "
                          "LIMIT $1",
                      {static_cast<std::int64_t>(wanted)}, [&](const store::Row& r) {
                        SkuOffer o = read_offer(r);
                        cache->entries.emplace(o.sku.value, std::move(o));
                        return true;
                      });
  });
  if (!loaded) return loaded;
  cache->loaded = cache->entries.size();
  cache->counted();
  conn.attach(kOfferCache, std::move(cache));
  return {};
}

std::optional<OfferCacheStats> offer_cache_stats(const store::Conn& conn) {
  const auto* cache = conn.attachment<OfferCache>(kOfferCache);
  if (!cache) return std::nullopt;
  const OfferCacheCounters& c = *cache->counters;
  OfferCacheStats s;
  s.hits = c.hits.value();
  s.misses = c.misses.value();
  s.resets = c.resets.value();
  s.evictions = c.evictions.value();
  s.unchanged = c.unchanged.value();
  s.entries = cache->entries.size();
  s.loaded = cache->loaded;
  return s;
}

void publish_offer_cache_metrics(const store::Conn& conn, metrics::Registry& registry) {
  const auto* cache = conn.attachment<OfferCache>(kOfferCache);
  if (!cache) return;
  std::shared_ptr<const OfferCacheCounters> c = cache->counters;  // outlives the connection
  registry.counter_read("jishi_offer_cache_lookups_total",
                        "SKU offers the checkout looked for in the writer's offer cache",
                        "result=\"hit\"", [c] { return c->hits.value(); });
  registry.counter_read("jishi_offer_cache_lookups_total", "", "result=\"miss\"",
                        [c] { return c->misses.value(); });
  registry.counter_read("jishi_offer_cache_resets_total",
                        "Times the offer cache was emptied (another connection committed, a "
                        "change it could not follow, or its size limit)",
                        "", [c] { return c->resets.value(); });
  registry.counter_read("jishi_offer_cache_evictions_total",
                        "Offers dropped from the cache because they changed", "",
                        [c] { return c->evictions.value(); });
  registry.gauge("jishi_offer_cache_entries", "Offers in the writer's offer cache", "",
                 [c] { return static_cast<double>(c->entries.load(std::memory_order_relaxed)); });
}

Result<std::vector<SkuOffer>> offers(store::Conn& conn, std::span<const SkuId> skus) {
  std::vector<SkuOffer> out;
  out.reserve(skus.size());
  auto* cache = conn.attachment<OfferCache>(kOfferCache);
  if (cache) JISHI_TRY(check_offer_cache(conn, *cache));
  // One primary-key lookup per SKU with one prepared statement: an IN list would cost SQLite
  // an ephemeral table per call, more than the few extra steps (a checkout has a few lines).
  for (SkuId sku : skus) {
    if (cache) {
      if (auto hit = cache->entries.find(sku.value); hit != cache->entries.end()) {
        cache->counters->hits.add();
        out.push_back(hit->second);
        continue;
      }
      cache->counters->misses.add();
    }
    std::size_t before = out.size();
    JISHI_TRY(conn.query(std::string(kOfferSelect) + " WHERE s.id = $1", {sku.value},
                         [&](const store::Row& r) {
                           out.push_back(read_offer(r));
                           return false;
                         }));
    if (cache && out.size() > before) {
      if (cache->entries.size() >= limits::offer_cache_entries_max) {
        cache->entries.clear();  // at the limit it starts again
        cache->counters->resets.add();
      }
      cache->entries.emplace(sku.value, out.back());
      cache->counted();
    }
  }
  return out;
}

Status set_in_stock(store::Tx& tx, SkuId sku, bool in_stock) {
  JISHI_ASSIGN_OR_RETURN(auto product, tx.query_one("UPDATE cat_skus SET in_stock = $2 WHERE id = "
                                                    "$1 RETURNING product_id",
                                                    {sku.value, in_stock},
                                                    [](const store::Row& r) { return r.i64(0); }));
  if (!product) return fail(Code::not_found, "no such SKU");
  JISHI_TRY(
      tx.exec("UPDATE cat_products SET in_stock = EXISTS (SELECT 1 FROM cat_skus WHERE "
              "product_id = $1 AND status = 'active' AND in_stock = 1) WHERE id = $1",
              {*product}));
  return {};
}

Status add_sales(store::Tx& tx, ProductId product, std::int64_t quantity) {
  JISHI_TRY(tx.exec("UPDATE cat_products SET sales = sales + $2 WHERE id = $1",
                    {product.value, quantity}));
  return {};
}

Status add_rating(store::Tx& tx, ProductId product, std::int64_t score_sum_delta,
                  std::int64_t count_delta) {
  JISHI_TRY(
      tx.exec("UPDATE cat_products SET rating_sum = rating_sum + $2, rating_count = "
              "rating_count + $3 WHERE id = $1",
              {product.value, score_sum_delta, count_delta}));
  return {};
}

}  // namespace jishi::catalog
