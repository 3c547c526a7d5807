// The mobile shop: Vant components imported one by one (tree-shaken), zh-CN by default.
import { createApp } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import "vant/lib/index.css";
import App from "./App.vue";
import Home from "./pages/Home.vue";
import Search from "./pages/Search.vue";
import Product from "./pages/Product.vue";
import { i18n } from "../common/i18n.js";

const router = createRouter({
  history: createWebHistory("/"),
  routes: [
    { path: "/", component: Home },
    { path: "/search", component: Search },
    { path: "/products/:id", component: Product, props: true },
  ],
});

createApp(App).use(router).use(i18n).mount("#app");
