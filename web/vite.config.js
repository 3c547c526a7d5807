// The shop (/) and the seller center (/seller) are built to dist/; the console will be another entry.
import { resolve } from "node:path";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// Vant's icon font falls back to a CDN copy (at.alicdn.com) for browsers without WOFF2. Every
// browser we support has WOFF2 (the font is inlined), and nothing may come from a CDN at run
// time: the fallback is dropped (web/tests/bundle.test.mjs checks the built CSS).
const noCdnFont = {
  name: "jishi-no-cdn-font",
  enforce: "pre",
  transform(code, id) {
    if (!id.includes("vant") || !id.endsWith(".css") || !code.includes("at.alicdn.com")) return null;
    return { code: code.replace(/,url\(\/\/at\.alicdn\.com[^)]*\) format\("woff"\)/g, ""), map: null };
  },
};

export default defineConfig({
  plugins: [noCdnFont, vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    // One page per section: the shop at /, the seller center at /seller (jishi's static handler
    // falls back to each section's index.html for client-side routes).
    rollupOptions: { input: { shop: resolve(__dirname, "index.html"), seller: resolve(__dirname, "seller/index.html"), admin: resolve(__dirname, "admin/index.html") } },
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080", "/media": "http://127.0.0.1:8080" } },
});
