// The demo catalog: a category tree and about a thousand products with Chinese names, prices,
// specs and stock, spread over the demo merchants. Deterministic (a fixed seed).
#include <random>

#include "app/seed_catalog.h"
#include "catalog/catalog.h"
#include "inventory/inventory.h"

namespace jishi::app {

namespace {

struct Leaf {
  const char* code;
  const char* name;
  const char* const* items;  // product nouns
  std::size_t n_items;
  std::int64_t price_lo, price_hi;  // yuan
  const char* spec_name;
  const char* const* spec_values;
  std::size_t n_specs;
};

constexpr const char* kShoes[] = {"跑步鞋", "帆布鞋", "板鞋", "登山鞋", "休闲鞋", "凉鞋"};
constexpr const char* kClothes[] = {"纯棉T恤", "羽绒服", "牛仔裤", "卫衣", "衬衫", "连衣裙"};
constexpr const char* kPhones[] = {"5G手机", "智能手机", "老人手机", "游戏手机"};
constexpr const char* kGadgets[] = {"蓝牙耳机", "智能手表", "充电宝", "手机壳", "数据线"};
constexpr const char* kAppliances[] = {"电饭煲", "空气炸锅", "电水壶", "吸尘器", "加湿器"};
constexpr const char* kFood[] = {"龙井茶", "五常大米", "坚果礼盒", "红枣", "蜂蜜", "牛肉干"};
constexpr const char* kBeauty[] = {"洗面奶", "面霜", "口红", "防晒霜", "洗发水"};
constexpr const char* kHome[] = {"四件套", "保温杯", "收纳箱", "枕头", "毛巾"};
constexpr const char* kBaby[] = {"纸尿裤", "积木玩具", "儿童绘本", "婴儿湿巾"};
constexpr const char* kSports[] = {"瑜伽垫", "羽毛球拍", "篮球", "跳绳", "运动水壶"};
constexpr const char* kStationery[] = {"中性笔", "笔记本", "书包", "台灯"};

constexpr const char* kSizes[] = {"38", "39", "40", "41", "42", "43"};
constexpr const char* kClothSizes[] = {"S", "M", "L", "XL", "XXL"};
constexpr const char* kColors[] = {"黑色", "白色", "红色", "蓝色", "灰色"};
constexpr const char* kStorage[] = {"8GB+128GB", "8GB+256GB", "12GB+256GB", "12GB+512GB"};
constexpr const char* kWeights[] = {"250g", "500g", "1kg", "2.5kg"};
constexpr const char* kVolumes[] = {"50ml", "100ml", "200ml"};

constexpr Leaf kLeaves[] = {
    {"shoes", "鞋靴", kShoes, 6, 69, 899, "尺码", kSizes, 6},
    {"clothing", "服装", kClothes, 6, 39, 1299, "尺码", kClothSizes, 5},
    {"phones", "手机", kPhones, 4, 599, 6999, "存储", kStorage, 4},
    {"gadgets", "数码配件", kGadgets, 5, 19, 1599, "颜色", kColors, 5},
    {"appliances", "家用电器", kAppliances, 5, 89, 2999, "颜色", kColors, 3},
    {"food", "食品生鲜", kFood, 6, 19, 399, "规格", kWeights, 4},
    {"beauty", "美妆个护", kBeauty, 5, 29, 699, "容量", kVolumes, 3},
    {"home", "家居日用", kHome, 5, 19, 599, "颜色", kColors, 5},
    {"baby", "母婴玩具", kBaby, 4, 29, 399, "规格", kWeights, 2},
    {"sports", "运动户外", kSports, 5, 19, 899, "颜色", kColors, 4},
    {"stationery", "图书文具", kStationery, 4, 5, 299, "颜色", kColors, 3},
};
constexpr const char* kParents[][2] = {{"fashion", "服饰鞋包"}, {"digital", "手机数码"},
                                       {"living", "家居家电"},  {"grocery", "食品生鲜"},
                                       {"care", "美妆母婴"},    {"leisure", "运动文娱"}};
constexpr int kParentOf[] = {0, 0, 1, 1, 2, 3, 4, 2, 4, 5, 5};
constexpr const char* kBrands[] = {"集市优选", "华夏", "东方", "锦绣",
                                   "长城",     "青松", "白云", "江南"};
constexpr const char* kAdjectives[] = {"新款",   "经典", "轻薄", "加厚",
                                       "升级版", "限定", "简约", "国潮"};

}  // namespace

Status seed_catalog(Runtime& rt, DemoMarket& market) {
  Env env{rt.clock, *rt.ids, *rt.cipher};
  auto cny = currency_from_code("CNY");
  if (!cny) return std::unexpected(cny.error());
  std::mt19937 rng(20261128);
  std::vector<catalog::CategoryId> leaves;
  SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env&) -> Status {
    std::vector<catalog::CategoryId> parents;
    int sort = 0;
    for (const auto& p : kParents) {
      JISHI_ASSIGN_OR_RETURN(
          auto c,
          catalog::create_category(tx, env, catalog::NewCategory{{}, p[0], p[1], {}, sort++}));
      parents.push_back(c.id);
    }
    for (std::size_t i = 0; i < std::size(kLeaves); ++i) {
      JISHI_ASSIGN_OR_RETURN(auto c,
                             catalog::create_category(tx, env,
                                                      catalog::NewCategory{parents[kParentOf[i]],
                                                                           kLeaves[i].code,
                                                                           kLeaves[i].name,
                                                                           {},
                                                                           static_cast<int>(i)}));
      leaves.push_back(c.id);
    }
    return {};
  }));
  // 100 products per merchant, ten per write so one transaction stays small.
  for (std::size_t m = 0; m < market.sellers.size(); ++m) {
    for (int batch = 0; batch < 10; ++batch) {
      SEED_WRITE(write_and_wait(rt, [&](store::Tx& tx, Env&) -> Status {
        for (int k = 0; k < 10; ++k) {
          std::size_t leaf_index =
              (m + static_cast<std::size_t>(batch * 10 + k)) % std::size(kLeaves);
          const Leaf& leaf = kLeaves[leaf_index];
          std::string item = leaf.items[rng() % leaf.n_items];
          std::string title = std::string(kBrands[rng() % std::size(kBrands)]) + " " +
                              kAdjectives[rng() % std::size(kAdjectives)] + item;
          std::int64_t yuan =
              leaf.price_lo + static_cast<std::int64_t>(
                                  rng() % static_cast<unsigned>(leaf.price_hi - leaf.price_lo + 1));
          std::int64_t base = yuan * 100 - (rng() % 2 ? 1 : 0);  // ¥x.99 pricing now and then
          catalog::ProductFields f;
          f.title = title;
          f.subtitle = std::string("正品保障 · ") + leaf.name;
          f.brand = kBrands[rng() % std::size(kBrands)];
          f.category = leaves[leaf_index];
          f.description = {{"text", title + "，" + leaf.name + "精选好物，七天无理由退货。"}};
          std::vector<catalog::NewSku> skus;
          std::size_t n = 1 + rng() % std::min<std::size_t>(3, leaf.n_specs);
          for (std::size_t v = 0; v < n; ++v)
            skus.push_back(catalog::NewSku{{{leaf.spec_name, leaf.spec_values[v]}},
                                           Money{base + static_cast<std::int64_t>(v) * 1000, *cny},
                                           std::nullopt});
          JISHI_ASSIGN_OR_RETURN(auto p,
                                 catalog::create_product(tx, env, market.sellers[m].org, f, skus));
          for (const auto& sku : p.skus) {
            std::int64_t units = rng() % 10 == 0 ? 0 : 20 + static_cast<std::int64_t>(rng() % 480);
            JISHI_ASSIGN_OR_RETURN(
                auto change,
                inventory::set_on_hand(tx, env, sku.id.value, market.sellers[m].org, units,
                                       market.sellers[m].owner, "opening stock"));
            if (change.crossed_zero()) JISHI_TRY(catalog::set_in_stock(tx, sku.id, true));
            if (units > 0)
              market.products.push_back(
                  DemoMarket::Product{sku.id.value, p.id.value, market.sellers[m].org});
          }
          JISHI_TRY(catalog::list_product(tx, env, p.id, market.sellers[m].owner));
        }
        return {};
      }));
    }
  }
  return {};
}

}  // namespace jishi::app
