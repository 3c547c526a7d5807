// End to end in Debian's Chromium (headless) against a real `jishi demo`: a buyer on a phone-sized
// viewport opens the shop, searches in Chinese, opens a product and picks a SKU. Screenshots go
// to $JISHI_UI_SHOTS (default /tmp/jishi-ui-shots) for a reviewer.
//
//   JISHI_URL=http://127.0.0.1:8080 node tests/shop.e2e.mjs
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const base = process.env.JISHI_URL || "http://127.0.0.1:8080";
const shots = process.env.JISHI_UI_SHOTS || "/tmp/jishi-ui-shots";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  const started = Date.now();
  await page.goto(base + "/");
  await page.locator(".card").first().waitFor({ timeout: 15000 });
  const firstLoadMs = Date.now() - started;
  assert.ok((await page.locator(".card").count()) >= 4, "the home page lists products");
  await page.screenshot({ path: `${shots}/1-home.png`, fullPage: false });

  await page.getByPlaceholder("搜索商品").fill("手机");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/search\?/);
  await page.locator(".card").first().waitFor({ timeout: 15000 });
  const titles = await page.locator(".card .title").allTextContents();
  assert.ok(titles.length > 0 && titles.every((t) => t.includes("手机")), `search results: ${titles.slice(0, 3)}`);
  await page.screenshot({ path: `${shots}/2-search.png` });

  await page.locator(".card").first().click();
  await page.waitForURL(/\/products\/\d+/);
  await page.locator(".price").first().waitFor();
  const price = await page.locator(".price").first().textContent();
  assert.match(price, /^¥[\d,]+\.\d{2}$/, "money is formatted from minor units");
  const skus = page.getByRole("radio");
  assert.ok((await skus.count()) >= 1, "the SKU picker shows the product's SKUs");
  await skus.last().click();
  assert.equal(await skus.last().getAttribute("aria-checked"), "true");
  await page.screenshot({ path: `${shots}/3-product.png` });

  assert.deepEqual(errors, [], "no script errors");
  console.log(`shop ok: first load ${firstLoadMs} ms, ${titles.length} results for 手机, screenshots in ${shots}`);
} finally {
  await browser.close();
}
