import { createI18n } from "vue-i18n";

const messages = {
  "zh-CN": {
    app: { name: "集市" },
    nav: { home: "首页", cart: "购物车", orders: "我的订单" },
    login: { title: "登录", login: "账号", loginHint: "邮箱或手机号", password: "密码", submit: "登录", register: "注册新账号",
             required: "必填", wrong: "账号或密码不对" },
    cart: { title: "购物车", empty: "购物车是空的", shop: "去逛逛", checkout: "去结算", total: "合计", remove: "删除",
            quantity: "数量", priceChanged: "价格已变化" },
    checkout: { title: "确认订单", address: "收货地址", newAddress: "新增收货地址", recipient: "收货人", phone: "手机号",
                region: "所在地区", pickRegion: "选择省 / 市 / 区县", detail: "详细地址", saveAddress: "保存地址",
                submit: "提交订单", plusFreight: "（另加运费）" },
    pay: { title: "收银台", amount: "应付金额", channel: "支付方式", qr: "扫码支付", card: "银行卡支付", confirm: "确认支付",
           qrAlt: "支付二维码", simulator: "用模拟器完成支付", waiting: "支付完成后本页自动更新", done: "支付成功",
           status: { requires_payment: "待支付", processing: "支付处理中", succeeded: "已支付", failed: "支付失败",
                     cancelled: "已取消", expired: "已过期", closed: "已关闭" } },
    orders: { title: "我的订单", empty: "还没有订单", no: "订单号", total: "实付",
              tab: { all: "全部", pending_payment: "待付款", paid: "待发货", shipped: "待收货", completed: "已完成" },
              status: { pending_payment: "待付款", paid: "已付款", shipped: "已发货", delivered: "已送达",
                        completed: "已完成", cancelled: "已取消", closed: "已关闭" } },
    search: { placeholder: "搜索商品", button: "搜索", empty: "没有找到相关商品" },
    home: { categories: "分类", recommended: "为你推荐" },
    product: { addToCart: "加入购物车", buyNow: "立即购买", stock: "库存 {n} 件", soldOut: "已售罄", seller: "店铺",
               added: "已加入购物车" },
    state: { loading: "加载中…", retry: "重试" },
    errors: {
      network: "网络不可用，请稍后重试",
      not_found: "没有找到",
      unauthenticated: "请先登录",
      validation_failed: "填写的内容有误",
      rate_limited: "操作太频繁，请稍后再试",
      unavailable: "服务暂不可用",
      insufficient_stock: "库存不足",
      price_changed: "商品价格已变化，请回购物车确认",
      invalid_state: "当前状态下不能这样操作",
      payment_declined: "支付被拒绝",
      default: "出错了，请稍后再试",
    },
  },
  "en-US": {
    app: { name: "jishi" },
    nav: { home: "Home", cart: "Cart", orders: "Orders" },
    login: { title: "Sign in", login: "Account", loginHint: "Email or phone", password: "Password", submit: "Sign in",
             register: "Create an account", required: "Required", wrong: "Wrong account or password" },
    cart: { title: "Cart", empty: "Your cart is empty", shop: "Go shopping", checkout: "Check out", total: "Total",
            remove: "Remove", quantity: "Quantity", priceChanged: "The price changed" },
    checkout: { title: "Confirm order", address: "Shipping address", newAddress: "Add an address", recipient: "Recipient",
                phone: "Phone", region: "Region", pickRegion: "Province / city / county", detail: "Street address",
                saveAddress: "Save address", submit: "Place order", plusFreight: "(plus shipping)" },
    pay: { title: "Checkout", amount: "Amount due", channel: "Payment method", qr: "Scan to pay", card: "Bank card",
           confirm: "Pay", qrAlt: "Payment QR code", simulator: "Pay with the simulator", waiting: "This page updates once paid",
           done: "Paid", status: { requires_payment: "Awaiting payment", processing: "Processing", succeeded: "Paid",
                                  failed: "Failed", cancelled: "Cancelled", expired: "Expired", closed: "Closed" } },
    orders: { title: "My orders", empty: "No orders yet", no: "Order", total: "Total",
              tab: { all: "All", pending_payment: "To pay", paid: "To ship", shipped: "To receive", completed: "Done" },
              status: { pending_payment: "To pay", paid: "Paid", shipped: "Shipped", delivered: "Delivered",
                        completed: "Completed", cancelled: "Cancelled", closed: "Closed" } },
    search: { placeholder: "Search products", button: "Search", empty: "No products found" },
    home: { categories: "Categories", recommended: "Recommended" },
    product: { addToCart: "Add to cart", buyNow: "Buy now", stock: "{n} in stock", soldOut: "Sold out", seller: "Shop",
               added: "Added to the cart" },
    state: { loading: "Loading…", retry: "Retry" },
    errors: {
      network: "The network is unavailable; try again later",
      not_found: "Not found",
      unauthenticated: "Please sign in first",
      validation_failed: "Some of the input is not valid",
      rate_limited: "Too many requests; try again in a moment",
      unavailable: "The service is unavailable",
      insufficient_stock: "Not enough stock",
      price_changed: "A price changed; review your cart",
      invalid_state: "That cannot be done now",
      payment_declined: "The payment was declined",
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
