// Checks of the built web/dist (run after `npm run build`; CTest web_bundle):
// - nothing is fetched from a CDN: no external url() in the CSS, no CDN host anywhere;
// - the shop's JavaScript stays within the budget (250 KB gzipped);
// - every Vant component the shop uses has its stylesheet in src/shop/vant-styles.js (styles
//   are imported one by one, so a forgotten one would render unstyled).
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import assert from "node:assert/strict";

const web = new URL("..", import.meta.url).pathname;
const assets = join(web, "dist", "assets");
const files = readdirSync(assets);
const cdnHosts = /alicdn\.com|jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com/;
for (const f of files) {
  const text = readFileSync(join(assets, f), "utf8");
  assert.ok(!cdnHosts.test(text), `${f} refers to a CDN`);
  if (f.endsWith(".css")) assert.ok(!/url\((["']?)(https?:)?\/\//.test(text), `${f} loads something from another host`);
}

// The shop's own chunk and every chunk its page loads (index.html's module and preloads).
const html = readFileSync(join(web, "dist", "index.html"), "utf8");
const shopJs = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
assert.ok(shopJs.length > 0, "index.html loads the shop's scripts");
const gz = shopJs.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f))).length, 0);
assert.ok(gz <= 250 * 1024, `shop JavaScript is ${Math.round(gz / 1024)} KB gzipped (budget 250 KB)`);

const styles = readFileSync(join(web, "src", "shop", "vant-styles.js"), "utf8");
const imported = new Set([...styles.matchAll(/vant\/es\/([a-z-]+)\/style/g)].map((m) => m[1]));
const used = new Set();
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(vue|js)$/.test(e.name)) {
      const src = readFileSync(p, "utf8");
      for (const m of src.matchAll(/<van-([a-z-]+)/g)) used.add(m[1]);
      for (const m of src.matchAll(/\bshow(Toast|ConfirmDialog|Dialog|Notify|ImagePreview)\b/g))
        used.add({ Toast: "toast", ConfirmDialog: "dialog", Dialog: "dialog", Notify: "notify", ImagePreview: "image-preview" }[m[1]]);
    }
  }
};
walk(join(web, "src", "shop"));
const missing = [...used].filter((c) => !imported.has(c));
assert.deepEqual(missing, [], `Vant components without their stylesheet in vant-styles.js: ${missing}`);
console.log(`bundle ok: shop JavaScript ${Math.round(gz / 1024)} KB gzipped, ${used.size} Vant components styled, no CDN`);

// Every problem code the server can answer (src/core/error.h) has plain words in both languages.
const errorH = readFileSync(join(web, "..", "src", "core", "error.h"), "utf8");
const codes = [...errorH.slice(errorH.indexOf("enum class Code")).split("};")[0].matchAll(/^\s+([a-z_]+),?/gm)].map((m) => m[1]);
assert.ok(codes.length > 20, `codes read from error.h: ${codes}`);
const i18nSrc = readFileSync(join(web, "src", "common", "i18n.js"), "utf8");
const errorBlocks = [...i18nSrc.matchAll(/errors: \{([^}]*)\}/g)].map((m) => m[1]);
assert.equal(errorBlocks.length, 2, "one errors table per language");
for (const block of errorBlocks) {
  const missing = codes.filter((c) => !new RegExp(`\\b${c}:`).test(block));
  assert.deepEqual(missing, [], `problem codes without words: ${missing}`);
}
console.log(`i18n ok: ${codes.length} problem codes in zh-CN and en-US`);
