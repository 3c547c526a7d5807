// The seller center (Element Plus, components imported one by one; vue-router under /seller/).
// Its texts live in ./messages.js, merged into the shared i18n instance (zh-CN by default).
import { createApp } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import "element-plus/dist/index.css";
import "../common/element-contrast.css";
import App from "./App.vue";
import { i18n } from "../common/i18n.js";
import { messages } from "./messages.js";
import { routes } from "./routes.js";

for (const [locale, m] of Object.entries(messages)) i18n.global.mergeLocaleMessage(locale, m);

const router = createRouter({ history: createWebHistory("/seller/"), routes });

createApp(App).use(router).use(i18n).mount("#app");
