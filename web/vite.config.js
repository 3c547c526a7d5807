// The shop (/) and the seller center (/seller) are built to dist/; the console will be another entry.
import { resolve } from "node:path";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  plugins: [vue()],
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
