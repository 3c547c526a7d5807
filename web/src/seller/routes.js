// One route per section of the side menu; `admin` marks what only the shop's seller_admin may
// change (staff see the menu item but not the actions).
import ShipOrders from "./ShipOrders.vue";
import Products from "./Products.vue";
import Stock from "./Stock.vue";
import AfterSales from "./AfterSales.vue";
import Finance from "./Finance.vue";
import Withdrawals from "./Withdrawals.vue";
import Certificates from "./Certificates.vue";
import Webhooks from "./Webhooks.vue";
import ApiKeys from "./ApiKeys.vue";
import Organisation from "./Organisation.vue";

export const sections = [
  { path: "/orders", name: "orders", component: ShipOrders, icon: "📦" },
  { path: "/products", name: "products", component: Products, icon: "🛍" },
  { path: "/stock", name: "stock", component: Stock, icon: "🏷" },
  { path: "/after-sales", name: "afterSales", component: AfterSales, icon: "↩" },
  { path: "/finance", name: "finance", component: Finance, icon: "¥" },
  { path: "/withdrawals", name: "withdrawals", component: Withdrawals, icon: "🏦" },
  { path: "/certificates", name: "certificates", component: Certificates, icon: "🔏" },
  { path: "/webhooks", name: "webhooks", component: Webhooks, icon: "🔔" },
  { path: "/api-keys", name: "apiKeys", component: ApiKeys, icon: "🔑", adminOnly: true },
  { path: "/organisation", name: "organisation", component: Organisation, icon: "🏢" },
];

export const routes = [
  { path: "/", redirect: "/orders" },
  ...sections.map(({ path, name, component }) => ({ path, name, component })),
  { path: "/:rest(.*)*", redirect: "/orders" },
];
