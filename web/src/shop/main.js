// The mobile shop: Vant components imported one by one (tree-shaken), zh-CN by default.
import { createApp } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import "./vant-styles.js";
import App from "./App.vue";
import Home from "./pages/Home.vue";
import Search from "./pages/Search.vue";
import Product from "./pages/Product.vue";
import Login from "./pages/Login.vue";
import Cart from "./pages/Cart.vue";
import Checkout from "./pages/Checkout.vue";
import Pay from "./pages/Pay.vue";
import Orders from "./pages/Orders.vue";
import OrderDetail from "./pages/OrderDetail.vue";
import Me from "./pages/Me.vue";
import Addresses from "./pages/Addresses.vue";
import { i18n } from "../common/i18n.js";

const router = createRouter({
  history: createWebHistory("/"),
  routes: [
    { path: "/", component: Home, meta: { tabbar: true } },
    { path: "/search", component: Search, meta: { tabbar: true } },
    { path: "/products/:id", component: Product, props: true },
    { path: "/login", component: Login },
    { path: "/cart", component: Cart, meta: { tabbar: true } },
    { path: "/checkout", component: Checkout },
    { path: "/pay/:id", component: Pay, props: true },
    { path: "/orders", component: Orders, meta: { tabbar: true } },
    { path: "/orders/:id", component: OrderDetail, props: true },
    { path: "/me", component: Me, meta: { tabbar: true } },
    { path: "/addresses", component: Addresses },
  ],
});

createApp(App).use(router).use(i18n).mount("#app");
