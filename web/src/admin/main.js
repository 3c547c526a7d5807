// The operator & regulator console (Element Plus; ECharts for the dashboard).
import { createApp } from "vue";
import "element-plus/dist/index.css";
import "../common/element-contrast.css";
import App from "./App.vue";
import { i18n } from "../common/i18n.js";

createApp(App).use(i18n).mount("#app");
