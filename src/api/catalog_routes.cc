// The catalog: categories (operators), sellers' products and SKUs, images, moderation
// (operators and regulators), public product pages and search.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "api/common.h"
#include "api/routes.h"
#include "api/trade_json.h"
#include "catalog/catalog.h"
#include "catalog/search.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/money.h"
#include "identity/orgs.h"
#include "inventory/inventory.h"

namespace jishi::api {

namespace json = boost::json;
using http::Method;
using http::Reply;
using http::Request;
using http::Response;
using identity::Principal;

namespace {

json::object category_json(const catalog::Category& c) {
  json::object o;
  o["id"] = std::to_string(c.id.value);
  o["parent_id"] = c.parent ? json::value(std::to_string(c.parent->value)) : json::value(nullptr);
  o["code"] = c.code;
  o["name"] = c.name;
  o["name_en"] = json_or_null(c.name_en);
  o["sort"] = c.sort;
  o["depth"] = c.depth;
  return o;
}

json::value rating_value(std::int64_t sum, std::int64_t count) {
  if (count == 0) return nullptr;
  return static_cast<double>(sum * 100 / count) / 100.0;
}

json::object sku_json(const catalog::Sku& s, std::optional<std::int64_t> available) {
  json::object o;
  o["id"] = std::to_string(s.id.value);
  json::object spec;
  for (const auto& [k, v] : s.spec) spec[k] = v;
  o["spec"] = std::move(spec);
  o["spec_text"] = s.spec_text;
  o["price"] = to_json(s.price);
  o["code"] = json_or_null(s.code);
  o["status"] = s.status;
  o["in_stock"] = s.in_stock;
  if (available) o["available"] = *available;
  return o;
}

json::object product_json(const catalog::Product& p,
                          const std::map<std::int64_t, std::int64_t>* stock) {
  json::object o;
  o["id"] = std::to_string(p.id.value);
  o["seller_org_id"] = std::to_string(p.seller.value);
  o["category_id"] = std::to_string(p.category.value);
  o["category_code"] = p.category_code;
  o["category_name"] = p.category_name;
  o["title"] = p.title;
  o["subtitle"] = json_or_null(p.subtitle);
  o["brand"] = json_or_null(p.brand);
  json::array blocks;
  for (const auto& b : p.description) {
    json::object x;
    x["type"] = b.type;
    x[b.type == "image" ? "image_id" : "text"] = b.text;
    blocks.push_back(std::move(x));
  }
  o["description"] = std::move(blocks);
  o["status"] = p.status;
  o["takedown_reason"] = json_or_null(p.takedown_reason);
  o["price_min"] = to_json(Money{p.price_min, p.currency});
  o["price_max"] = to_json(Money{p.price_max, p.currency});
  o["sales"] = p.sales;
  o["rating"] = rating_value(p.rating_sum, p.rating_count);
  o["rating_count"] = p.rating_count;
  o["in_stock"] = p.in_stock;
  json::array skus;
  for (const auto& s : p.skus) {
    std::optional<std::int64_t> avail;
    if (stock) {
      auto it = stock->find(s.id.value);
      avail = it == stock->end() ? 0 : it->second;
    }
    skus.push_back(sku_json(s, avail));
  }
  o["skus"] = std::move(skus);
  json::array images;
  for (const auto& i : p.images) {
    json::object x;
    x["id"] = std::to_string(i.id);
    x["url"] = "/media/" + i.file_name();
    x["content_type"] = i.content_type;
    x["bytes"] = i.bytes;
    images.push_back(std::move(x));
  }
  o["images"] = std::move(images);
  o["created_at"] = time_json(p.created_at_us);
  o["updated_at"] = time_json(p.updated_at_us);
  o["listed_at"] = p.listed_at_us ? json::value(time_json(*p.listed_at_us)) : json::value(nullptr);
  return o;
}

Result<std::map<std::string, std::string>> read_spec(const json::value* v, const std::string& at) {
  std::map<std::string, std::string> spec;
  if (!v) return spec;
  if (!v->is_object())
    return fail(Code::validation_failed, "spec is an object of name: value strings", at);
  for (const auto& [k, x] : v->as_object()) {
    if (!x.is_string())
      return fail(Code::validation_failed, "spec values are strings", at + "/" + std::string(k));
    spec[std::string(k)] = std::string(x.as_string());
  }
  return spec;
}

Result<catalog::NewSku> read_sku(const json::value& v, const std::string& at) {
  if (!v.is_object()) return fail(Code::validation_failed, "a SKU is an object", at);
  FieldReader f(v, at);
  catalog::NewSku s;
  const auto* price = f.value("price", true);
  JISHI_ASSIGN_OR_RETURN(s.spec, read_spec(f.value("spec", false), at + "/spec"));
  s.code = f.optional_string("code", limits::sku_code_bytes_max);
  JISHI_TRY(f.finish());
  JISHI_ASSIGN_OR_RETURN(s.price, money_from_json(*price, at + "/price"));
  return s;
}

Result<std::vector<catalog::Block>> read_blocks(const json::value* v) {
  std::vector<catalog::Block> out;
  if (!v) return out;
  if (!v->is_array() || v->as_array().size() > limits::description_blocks_max)
    return fail(Code::validation_failed,
                "description is an array of at most " +
                    std::to_string(limits::description_blocks_max) + " blocks",
                "/description");
  std::size_t i = 0;
  for (const auto& b : v->as_array()) {
    std::string at = "/description/" + std::to_string(i++);
    if (!b.is_object()) return fail(Code::validation_failed, "a block is an object", at);
    FieldReader f(b, at);
    catalog::Block block;
    block.type = f.string("type", 8);
    if (block.type == "image")
      block.text = f.string("image_id", 20);
    else
      block.text = f.string("text", limits::description_text_bytes_max);
    JISHI_TRY(f.finish());
    out.push_back(std::move(block));
  }
  return out;
}

Result<catalog::ProductFields> read_product_fields(FieldReader& f) {
  catalog::ProductFields p;
  p.title = f.string("title", limits::product_title_bytes_max);
  p.subtitle = f.optional_string("subtitle", limits::product_subtitle_bytes_max);
  p.brand = f.optional_string("brand", limits::brand_bytes_max);
  auto cat = f.string("category_id", 20);
  JISHI_ASSIGN_OR_RETURN(p.description, read_blocks(f.value("description", false)));
  if (!f.ok()) JISHI_TRY(f.finish());
  auto id = parse_id(cat);
  if (!id) return fail(Code::validation_failed, "category_id is an id", "/category_id");
  p.category = catalog::CategoryId{*id};
  return p;
}

// The product and whether p may manage it (its seller's people or write-scoped API key).
Result<catalog::Product> product_for_seller(Services& s, const Principal& p, std::int64_t id) {
  auto lease = s.store.reads().lease();
  auto product = catalog::get_product(*lease, catalog::ProductId{id});
  if (!product) return fail(Code::not_found, "no such product");
  if (!acts_for_seller(p, product->seller, "write")) {
    if (product->status == "listed" || is_operator(p) || is_regulator(p))
      return fail(Code::forbidden, "the product belongs to another seller");
    return fail(Code::not_found, "no such product");
  }
  return *product;
}

Reply list_categories(Services& s, Request&) {
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto all, catalog::all_categories(*lease));
  json::object out;
  out["items"] = to_array(all, category_json);
  auto r = ok_json(out);
  r.headers.emplace_back("Cache-Control", "public, max-age=60");
  return r;
}

Reply create_category(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("categories are managed by operators");
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  catalog::NewCategory c;
  c.code = f.string("code", limits::category_code_bytes_max);
  c.name = f.string("name", limits::category_name_bytes_max);
  c.name_en = f.optional_string("name_en", limits::category_name_bytes_max);
  c.sort = static_cast<int>(f.optional_integer("sort", -10000, 10000).value_or(0));
  if (auto parent = f.optional_string("parent_id", 20)) {
    auto id = parse_id(*parent);
    if (!id)
      return http::problem(Error(Code::validation_failed, "parent_id is an id", "/parent_id"));
    c.parent = catalog::CategoryId{*id};
  }
  API_CHECK(f.finish());
  return Reply::write([&s, c](store::Tx& tx) -> Response {
    API_ASSIGN(auto created, catalog::create_category(tx, s.env, c));
    return ok_json(category_json(created), 201);
  });
}

Reply patch_category(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("categories are managed by operators");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto name = f.optional_string("name", limits::category_name_bytes_max);
  std::optional<std::optional<std::string>> name_en;
  if (body.is_object() && body.as_object().contains("name_en"))
    name_en = f.optional_string("name_en", limits::category_name_bytes_max);
  std::optional<int> sort;
  if (auto v = f.optional_integer("sort", -10000, 10000)) sort = static_cast<int>(*v);
  API_CHECK(f.finish());
  return Reply::write([&s, id, name, name_en, sort](store::Tx& tx) -> Response {
    API_ASSIGN(auto c,
               catalog::update_category(tx, s.env, catalog::CategoryId{id}, name, name_en, sort));
    return ok_json(category_json(c));
  });
}

Reply create_product(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org_id, path_id(req, "id"));
  OrgId org{org_id};
  if (!acts_for_seller(p, org, "write"))
    return http::problem(Error(Code::not_found, "no such organisation"));
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(auto o, identity::get_org(*lease, org));
    if (!o || !identity::can_sell(*o))
      return http::problem(Error(Code::invalid_state,
                                 "the organisation may not sell: it must be an approved merchant "
                                 "or an individual seller"));
  }
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  API_ASSIGN(auto fields, read_product_fields(f));
  std::vector<catalog::NewSku> skus;
  const auto* list = f.value("skus", true);
  API_CHECK(f.finish());
  if (!list->is_array() || list->as_array().empty() ||
      list->as_array().size() > limits::skus_per_product_max)
    return http::problem(
        Error(Code::validation_failed,
              "skus is an array of 1.." + std::to_string(limits::skus_per_product_max) + " SKUs",
              "/skus"));
  std::size_t i = 0;
  for (const auto& v : list->as_array()) {
    API_ASSIGN(auto sku, read_sku(v, "/skus/" + std::to_string(i++)));
    skus.push_back(std::move(sku));
  }
  return Reply::write([&s, org, fields, skus](store::Tx& tx) -> Response {
    API_ASSIGN(auto created, catalog::create_product(tx, s.env, org, fields, skus));
    return ok_json(product_json(created, nullptr), 201);
  });
}

Reply seller_products(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto org_id, path_id(req, "id"));
  OrgId org{org_id};
  if (!acts_for_seller(p, org, "read") && !is_operator(p) && !is_regulator(p))
    return http::problem(Error(Code::not_found, "no such organisation"));
  catalog::SellerFilter filter;
  filter.seller = org;
  if (auto st = req.query_param("status")) filter.status = std::string(*st);
  API_ASSIGN(auto page, read_page(req));
  filter.before = page.cursor.value_or(0);
  filter.limit = page.limit;
  auto lease = s.store.reads().lease();
  API_ASSIGN(auto list, catalog::seller_products(*lease, filter));
  return ok_json(page_json(
      to_array(list.items, [](const catalog::Product& x) { return product_json(x, nullptr); }),
      list.next_cursor));
}

Reply get_product(Services& s, Request& req) {
  std::optional<Principal> p;
  if (req.header("authorization")) {
    API_ASSIGN(auto who, authenticate(s, req));
    p = who;
  }
  API_ASSIGN(auto id, path_id(req, "id"));
  auto lease = s.store.reads().lease();
  auto product = catalog::get_product(*lease, catalog::ProductId{id});
  if (!product) return http::problem(Error(Code::not_found, "no such product"));
  bool privileged =
      p && (acts_for_seller(*p, product->seller, "read") || is_operator(*p) || is_regulator(*p));
  if (product->status != "listed" && !privileged)
    return http::problem(Error(Code::not_found, "no such product"));
  std::vector<std::int64_t> ids;
  for (const auto& sku : product->skus) ids.push_back(sku.id.value);
  API_ASSIGN(auto stocks, inventory::get_stocks(*lease, ids));
  std::map<std::int64_t, std::int64_t> available;
  for (const auto& st : stocks) available[st.sku_id] = st.available();
  auto o = product_json(*product, &available);
  // The shop's name for the product page (the organisation itself is not public).
  API_ASSIGN(auto seller, identity::get_org(*lease, product->seller));
  o["seller_name"] = seller ? json::value(seller->name) : json::value(nullptr);
  return ok_json(o);
}

Reply patch_product(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto current, product_for_seller(s, p, id));
  API_ASSIGN(auto body, read_json(req));
  // A patch: absent fields keep their values.
  json::object merged;
  merged["title"] = current.title;
  if (current.subtitle) merged["subtitle"] = *current.subtitle;
  if (current.brand) merged["brand"] = *current.brand;
  merged["category_id"] = std::to_string(current.category.value);
  if (!body.is_object())
    return http::problem(Error(Code::validation_failed, "an object is expected"));
  for (const auto& [k, v] : body.as_object()) merged[k] = v;
  if (!body.as_object().contains("description")) {
    json::array blocks;
    for (const auto& b : current.description)
      blocks.push_back(
          json::object{{"type", b.type}, {b.type == "image" ? "image_id" : "text", b.text}});
    merged["description"] = std::move(blocks);
  }
  json::value mv = std::move(merged);
  FieldReader f(mv);
  API_ASSIGN(auto fields, read_product_fields(f));
  API_CHECK(f.finish());
  return Reply::write([&s, id, fields](store::Tx& tx) -> Response {
    API_ASSIGN(auto updated, catalog::update_product(tx, s.env, catalog::ProductId{id}, fields));
    return ok_json(product_json(updated, nullptr));
  });
}

Reply seller_status(Services& s, Request& req, bool list) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_CHECK(product_for_seller(s, p, id));
  return Reply::write([&s, id, list, actor = p.user](store::Tx& tx) -> Response {
    auto r = list ? catalog::list_product(tx, s.env, catalog::ProductId{id}, actor)
                  : catalog::delist_product(tx, s.env, catalog::ProductId{id}, actor);
    if (!r) return http::problem(r.error());
    return ok_json(product_json(*r, nullptr));
  });
}

Reply takedown(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p) && !is_regulator(p))
    return forbidden("takedowns are for operators and regulators");
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  auto reason = f.string("reason", limits::reason_bytes_max);
  API_CHECK(f.finish());
  std::string role = is_operator(p) ? "operator" : "regulator";
  return Reply::write([&s, id, reason, role, actor = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, catalog::take_down(tx, s.env, catalog::ProductId{id}, actor, role, reason));
    return ok_json(product_json(r, nullptr));
  });
}

Reply restore(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p)) return forbidden("restoring a product is for operators");
  API_ASSIGN(auto id, path_id(req, "id"));
  return Reply::write([&s, id, actor = p.user](store::Tx& tx) -> Response {
    API_ASSIGN(auto r, catalog::restore(tx, s.env, catalog::ProductId{id}, actor));
    return ok_json(product_json(r, nullptr));
  });
}

Reply list_takedowns(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  if (!is_operator(p) && !is_regulator(p))
    return forbidden("the takedown history is for operators and regulators");
  return list_response(
      s, req,
      [](store::Conn& c, std::int64_t cursor, std::size_t limit) {
        return catalog::takedowns(c, cursor, limit);
      },
      [](const catalog::Takedown& t) {
        json::object o;
        o["id"] = std::to_string(t.id);
        o["product_id"] = std::to_string(t.product.value);
        o["title"] = t.title;
        o["seller_org_id"] = std::to_string(t.seller.value);
        o["action"] = t.action;
        o["reason"] = t.reason;
        o["actor_id"] = id_or_null(t.actor_id);
        o["actor_role"] = t.actor_role;
        o["at"] = time_json(t.at_us);
        return o;
      });
}

Reply add_sku(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_CHECK(product_for_seller(s, p, id));
  API_ASSIGN(auto body, read_json(req));
  API_ASSIGN(auto sku, read_sku(body, ""));
  return Reply::write([&s, id, sku](store::Tx& tx) -> Response {
    API_ASSIGN(auto created, catalog::add_sku(tx, s.env, catalog::ProductId{id}, sku));
    return ok_json(sku_json(created, std::nullopt), 201);
  });
}

Reply patch_sku(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  std::int64_t product = 0;
  {
    auto lease = s.store.reads().lease();
    API_ASSIGN(auto sku, catalog::get_sku(*lease, catalog::SkuId{id}));
    if (!sku) return http::problem(Error(Code::not_found, "no such SKU"));
    product = sku->product.value;
  }
  API_CHECK(product_for_seller(s, p, product));
  API_ASSIGN(auto body, read_json(req));
  FieldReader f(body);
  catalog::SkuPatch patch;
  if (const auto* price = f.value("price", false)) {
    API_ASSIGN(auto m, money_from_json(*price, "/price"));
    patch.price = m;
  }
  if (const auto* spec = f.value("spec", false)) {
    API_ASSIGN(auto sp, read_spec(spec, "/spec"));
    patch.spec = sp;
  }
  patch.status = f.optional_string("status", 16);
  if (body.is_object() && body.as_object().contains("code"))
    patch.code = f.optional_string("code", limits::sku_code_bytes_max);
  API_CHECK(f.finish());
  return Reply::write([&s, id, patch](store::Tx& tx) -> Response {
    API_ASSIGN(auto sku, catalog::update_sku(tx, s.env, catalog::SkuId{id}, patch));
    return ok_json(sku_json(sku, std::nullopt));
  });
}

std::string media_dir(const Services& s) {
  return s.config.data_dir + "/media";
}

Reply upload_image(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_CHECK(product_for_seller(s, p, id));
  auto declared = req.header("content-type");
  auto sniffed = catalog::sniff_image(req.body);
  if (!declared || !sniffed || declared->substr(0, sniffed->size()) != *sniffed)
    return http::problem(Error(Code::unsupported_media_type,
                               "send the image bytes with Content-Type image/jpeg, image/png or "
                               "image/webp matching the content"));
  std::string sha = crypto::hex(crypto::sha256(req.body));
  std::string ext = *sniffed == "image/png" ? "png" : *sniffed == "image/webp" ? "webp" : "jpg";
  // Content-addressed, so writing before the transaction is safe: a failed transaction leaves at
  // most an unreferenced file, and the same image is stored once.
  std::string dir = media_dir(s);
  ::mkdir(dir.c_str(), 0755);
  std::string path = dir + "/" + sha + "." + ext;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::string tmp = path + ".tmp" + std::to_string(s.env.ids.next());
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
      if (!out) return http::problem(Error(Code::storage_failure, "cannot store the image"));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      return http::problem(Error(Code::storage_failure, "cannot store the image"));
  }
  auto bytes = static_cast<std::int64_t>(req.body.size());
  return Reply::write([&s, id, sha, type = *sniffed, bytes](store::Tx& tx) -> Response {
    API_ASSIGN(auto image, catalog::add_image(tx, s.env, catalog::ProductId{id}, sha, type, bytes));
    json::object o;
    o["id"] = std::to_string(image.id);
    o["url"] = "/media/" + image.file_name();
    o["content_type"] = image.content_type;
    o["bytes"] = image.bytes;
    return ok_json(o, 201);
  });
}

Reply delete_image(Services& s, Request& req) {
  API_ASSIGN(auto p, authenticate(s, req));
  API_ASSIGN(auto id, path_id(req, "id"));
  API_ASSIGN(auto image_id, path_id(req, "image_id"));
  API_CHECK(product_for_seller(s, p, id));
  return Reply::write([&s, id, image_id](store::Tx& tx) -> Response {
    API_CHECK(catalog::remove_image(tx, s.env, catalog::ProductId{id}, image_id));
    Response r;
    r.status = 204;
    return r;
  });
}

Reply media(Services& s, Request& req) {
  std::string name(req.param("name"));
  auto dot = name.find('.');
  bool ok = dot == 64 &&
            (name.substr(65) == "jpg" || name.substr(65) == "png" || name.substr(65) == "webp");
  for (std::size_t i = 0; ok && i < 64; ++i)
    ok = (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f');
  if (!ok) return http::problem(Error(Code::not_found, "no such file"));
  std::string etag = "\"" + name.substr(0, 64) + "\"";
  Response r;
  r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  r.headers.emplace_back("ETag", etag);
  if (auto inm = req.header("if-none-match"); inm && *inm == etag) {
    r.status = 304;
    return r;
  }
  std::ifstream in(media_dir(s) + "/" + name, std::ios::binary);
  if (!in) return http::problem(Error(Code::not_found, "no such file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  r.body = ss.str();
  r.content_type = name.ends_with("png")    ? "image/png"
                   : name.ends_with("webp") ? "image/webp"
                                            : "image/jpeg";
  return r;
}

Reply search(Services& s, Request& req) {
  catalog::SearchQuery q;
  auto bad = [](std::string what, std::string field) {
    return http::problem(Error(Code::validation_failed, std::move(what), std::move(field)));
  };
  if (auto v = req.query_param("q")) {
    if (v->size() > limits::search_query_bytes_max) return bad("q has at most 64 characters", "q");
    q.q = std::string(*v);
  }
  auto lease = s.store.reads().lease();
  if (auto v = req.query_param("category")) {
    auto id = parse_id(*v);
    if (!id) return bad("category is an id", "category");
    API_ASSIGN(q.categories, catalog::category_and_descendants(*lease, catalog::CategoryId{*id}));
  }
  if (auto v = req.query_param("merchant")) {
    auto id = parse_id(*v);
    if (!id) return bad("merchant is an organisation id", "merchant");
    q.seller = OrgId{*id};
  }
  for (auto [name, target] :
       {std::pair{"price_min", &q.price_min}, std::pair{"price_max", &q.price_max}}) {
    if (auto v = req.query_param(name)) {
      auto n = parse_id(*v);
      if (!n && *v != "0") return bad(std::string(name) + " is an amount in minor units", name);
      *target = n.value_or(0);
    }
  }
  if (auto v = req.query_param("in_stock")) {
    if (*v != "true" && *v != "false") return bad("in_stock is true or false", "in_stock");
    q.in_stock_only = *v == "true";
  }
  if (auto v = req.query_param("sort")) {
    auto sort = catalog::parse_sort(*v);
    if (!sort) return bad("sort is relevance, price_asc, price_desc, sales or newest", "sort");
    q.sort = *sort;
  }
  if (auto v = req.query_param("cursor")) q.cursor = std::string(*v);
  if (auto v = req.query_param("limit")) {
    auto n = parse_id(*v);
    if (!n || *n < 1 || *n > static_cast<std::int64_t>(limits::page_size_max))
      return bad("limit is 1..100", "limit");
    q.limit = static_cast<std::size_t>(*n);
  }
  API_ASSIGN(auto page, catalog::search(*lease, q));
  json::array items;
  for (const auto& h : page.items) {
    json::object o;
    o["id"] = std::to_string(h.id.value);
    o["seller_org_id"] = std::to_string(h.seller.value);
    o["title"] = h.title;
    o["subtitle"] = json_or_null(h.subtitle);
    auto c = currency_from_code(h.currency);
    Currency cur = c ? *c : Currency{};
    o["price_min"] = to_json(Money{h.price_min, cur});
    o["price_max"] = to_json(Money{h.price_max, cur});
    o["sales"] = h.sales;
    o["rating"] = rating_value(h.rating_sum, h.rating_count);
    o["rating_count"] = h.rating_count;
    o["in_stock"] = h.in_stock;
    o["image_url"] = h.image ? json::value("/media/" + *h.image) : json::value(nullptr);
    items.push_back(std::move(o));
  }
  json::object out;
  out["items"] = std::move(items);
  out["next_cursor"] = page.next_cursor ? json::value(*page.next_cursor) : json::value(nullptr);
  return ok_json(out);
}

}  // namespace

void add_catalog_routes(http::Router& router, Services& s) {
  router.add(Method::get, "/api/v1/categories", [&s](Request& r) { return list_categories(s, r); });
  router.add(Method::post, "/api/v1/categories",
             [&s](Request& r) { return create_category(s, r); });
  router.add(Method::patch, "/api/v1/categories/{id}",
             [&s](Request& r) { return patch_category(s, r); });
  router.add(Method::get, "/api/v1/products", [&s](Request& r) { return search(s, r); });
  router.add(Method::post, "/api/v1/orgs/{id}/products",
             [&s](Request& r) { return create_product(s, r); });
  router.add(Method::get, "/api/v1/orgs/{id}/products",
             [&s](Request& r) { return seller_products(s, r); });
  router.add(Method::get, "/api/v1/products/{id}", [&s](Request& r) { return get_product(s, r); });
  router.add(Method::patch, "/api/v1/products/{id}",
             [&s](Request& r) { return patch_product(s, r); });
  router.add(Method::post, "/api/v1/products/{id}/list",
             [&s](Request& r) { return seller_status(s, r, true); });
  router.add(Method::post, "/api/v1/products/{id}/delist",
             [&s](Request& r) { return seller_status(s, r, false); });
  router.add(Method::post, "/api/v1/products/{id}/takedown",
             [&s](Request& r) { return takedown(s, r); });
  router.add(Method::post, "/api/v1/products/{id}/restore",
             [&s](Request& r) { return restore(s, r); });
  router.add(Method::get, "/api/v1/takedowns", [&s](Request& r) { return list_takedowns(s, r); });
  router.add(Method::post, "/api/v1/products/{id}/skus",
             [&s](Request& r) { return add_sku(s, r); });
  router.add(Method::patch, "/api/v1/skus/{id}", [&s](Request& r) { return patch_sku(s, r); });
  http::RouteOptions upload;
  upload.body_bytes_max = limits::image_bytes_max;
  router.add(
      Method::post, "/api/v1/products/{id}/images", [&s](Request& r) { return upload_image(s, r); },
      upload);
  router.add(Method::delete_, "/api/v1/products/{id}/images/{image_id}",
             [&s](Request& r) { return delete_image(s, r); });
  router.add(Method::get, "/media/{name}", [&s](Request& r) { return media(s, r); });
}

}  // namespace jishi::api
