import { createI18n } from "vue-i18n";

const messages = {
  "zh-CN": {
    app: { name: "集市" },
    search: { placeholder: "搜索商品", button: "搜索", empty: "没有找到相关商品" },
    home: { categories: "分类", recommended: "为你推荐" },
    product: { addToCart: "加入购物车", buyNow: "立即购买", stock: "库存 {n} 件", soldOut: "已售罄", seller: "店铺" },
    state: { loading: "加载中…", retry: "重试" },
    errors: {
      network: "网络不可用，请稍后重试",
      not_found: "没有找到",
      unauthenticated: "请先登录",
      validation_failed: "填写的内容有误",
      rate_limited: "操作太频繁，请稍后再试",
      unavailable: "服务暂不可用",
      default: "出错了，请稍后再试",
    },
  },
  "en-US": {
    app: { name: "jishi" },
    search: { placeholder: "Search products", button: "Search", empty: "No products found" },
    home: { categories: "Categories", recommended: "Recommended" },
    product: { addToCart: "Add to cart", buyNow: "Buy now", stock: "{n} in stock", soldOut: "Sold out", seller: "Shop" },
    state: { loading: "Loading…", retry: "Retry" },
    errors: {
      network: "The network is unavailable; try again later",
      not_found: "Not found",
      unauthenticated: "Please sign in first",
      validation_failed: "Some of the input is not valid",
      rate_limited: "Too many requests; try again in a moment",
      unavailable: "The service is unavailable",
      default: "Something went wrong; try again later",
    },
  },
};

export const i18n = createI18n({
  legacy: false,
  locale: localStorage.getItem("jishi.locale") || (navigator.language.startsWith("zh") ? "zh-CN" : "en-US"),
  fallbackLocale: "zh-CN",
  messages,
});

// A problem's stable code in plain words in the user's language.
export function errorText(t, e) {
  const key = `errors.${e?.code || "default"}`;
  const text = t(key);
  return text === key ? t("errors.default") : text;
}
