// End to end in Debian's Chromium (headless) against a real `jishi demo`: a buyer on a phone-sized
// viewport opens the shop, searches in Chinese, opens a product and picks a SKU; then signs in,
// puts phones from two merchants in the cart, checks out, pays at the simulator's cashier and
// sees both orders paid. Screenshots go
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
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const page = await context.newPage();
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
  // Filters: a price range typed in yuan goes to the API in fen, and every result is within it.
  await page.getByRole("button", { name: "筛选" }).click();
  await page.locator("#price-min").fill("1000");
  await page.locator("#price-max").fill("3000.5");
  await page.getByRole("switch", { name: "仅看有货" }).click();
  await page.screenshot({ path: `${shots}/2a-filters.png` });
  await page.getByRole("button", { name: "确定" }).click();
  await page.waitForURL(/price_min=100000&price_max=300050&in_stock=true/);
  await page.locator(".card").first().waitFor({ timeout: 15000 });
  const filtered = await page.evaluate(async () => {
    const r = await fetch(`/api/v1/products?${new URL(location.href).searchParams}&limit=50`).then((x) => x.json());
    return r.items.map((p) => [p.price_min.amount, p.price_max.amount]);
  });
  assert.ok(filtered.length > 0 && filtered.every(([lo, hi]) => hi >= 100000 && lo <= 300050), `in the range: ${filtered}`);
  assert.equal(await page.locator(".card").count(), Math.min(filtered.length, 40), "the page shows what the API found");

  await page.locator(".card").first().click();
  await page.waitForURL(/\/products\/\d+/);
  await page.locator(".price").first().waitFor();
  const price = await page.locator(".price").first().textContent();
  assert.match(price, /^¥[\d,]+\.\d{2}$/, "money is formatted from minor units");
  const skus = page.getByRole("radio");
  assert.ok((await skus.count()) >= 1, "the SKU picker shows the product's SKUs");
  await skus.last().click();
  assert.equal(await skus.last().getAttribute("aria-checked"), "true");
  // The shop: its name and its ratings (or that it has none yet).
  const shopBox = page.getByRole("region", { name: "店铺" });
  assert.ok((await shopBox.locator(".shop-name").textContent()).trim().length > 0, "the shop's name");
  assert.match(await shopBox.textContent(), /条评价|暂无评价/);
  await page.screenshot({ path: `${shots}/3-product.png` });

  // A demo buyer signs in, buys from two merchants, pays through the simulator's cashier and
  // sees both orders paid.
  await page.goto(base + "/login?redirect=/");
  await page.locator('input[name="login"]').fill("buyer1@jishi.demo");
  await page.locator('input[name="password"]').fill("jishi-demo-2026");
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(base + "/");

  // 我的 → the address book: a new default address, picked province → city → county.
  await page.locator(".van-tabbar-item", { hasText: /^\s*我的\s*$/ }).click();
  await page.waitForURL(/\/me$/);
  await page.getByText("收货地址").click();
  await page.waitForURL(/\/addresses$/);
  // Counted once the book has loaded (its list or its empty state), not while it loads.
  await page.locator('[data-testid^="address-"], .van-empty').first().waitFor();
  const before = await page.locator('[data-testid^="address-"]').count();
  await page.getByRole("button", { name: "新增收货地址" }).click();
  await page.locator("#book-recipient").fill("李小龙");
  await page.locator("#book-phone").fill("13912345678");
  await page.locator("#book-region").click();
  for (let level = 0; level < 3; level++) {
    const popup = page.locator(".van-popup .van-cascader");
    if (!(await popup.isVisible())) break;
    // The newest level is the last list (each level loads when its parent is picked).
    const options = popup.locator(".van-cascader__options").last().locator(".van-cascader__option");
    await options.first().waitFor();
    await options.first().click();
    await page.waitForTimeout(300);
  }
  const region = await page.locator("#book-region").inputValue();
  assert.ok(region.split(" ").length >= 2, `a region picked down the levels: ${region}`);
  await page.locator("#book-detail").fill("文三路 90 号 2 幢 301");
  await page.getByRole("switch").click();
  await page.screenshot({ path: `${shots}/3a-address-form.png` });
  await page.getByRole("button", { name: "保存地址" }).click();
  const saved = page.locator('[data-testid^="address-"]', { hasText: "李小龙" });
  await saved.waitFor({ timeout: 15000 });
  assert.equal(await page.locator('[data-testid^="address-"]').count(), before + 1);
  assert.match(await saved.textContent(), /默认/, "the new address is the default");
  assert.match(await saved.textContent(), /\+8613912345678/, "the phone, normalised to E.164");
  await page.screenshot({ path: `${shots}/3b-addresses.png` });
  // A second one, then deleted again: the book is back to what it was plus the default.
  await page.getByRole("button", { name: "新增收货地址" }).click();
  await page.locator("#book-recipient").fill("临时地址");
  await page.locator("#book-phone").fill("13700000000");
  await page.locator("#book-region").click();
  for (let level = 0; level < 3; level++) {
    const popup = page.locator(".van-popup .van-cascader");
    if (!(await popup.isVisible())) break;
    const options = popup.locator(".van-cascader__options").last().locator(".van-cascader__option");
    await options.first().waitFor();
    await options.nth((await options.count()) > 1 ? 1 : 0).click();
    await page.waitForTimeout(300);
  }
  await page.locator("#book-detail").fill("一号路 1 号");
  await page.getByRole("button", { name: "保存地址" }).click();
  const temp = page.locator('[data-testid^="address-"]', { hasText: "临时地址" });
  await temp.waitFor({ timeout: 15000 });
  await temp.click();
  await page.getByRole("button", { name: "删除" }).click();
  await page.locator(".van-dialog").getByRole("button", { name: "删除" }).click();
  await temp.waitFor({ state: "detached", timeout: 15000 });
  assert.match(await saved.textContent(), /默认/, "still the default");

  const picks = await page.evaluate(async () => {
    const r = await fetch("/api/v1/products?q=%E6%89%8B%E6%9C%BA&in_stock=true&limit=50").then((x) => x.json());
    const bySeller = new Map();
    for (const p of r.items) if (!bySeller.has(p.seller_org_id)) bySeller.set(p.seller_org_id, p.id);
    return [...bySeller.values()].slice(0, 2);
  });
  assert.equal(picks.length, 2, "two merchants sell phones");
  for (const id of picks) {
    await page.goto(`${base}/products/${id}`);
    await page.getByRole("button", { name: "加入购物车" }).click();
    await page.getByText("已加入购物车").waitFor();
  }
  await page.goto(base + "/cart");
  await page.locator(".group").nth(1).waitFor();
  assert.equal(await page.locator(".group").count(), 2, "the cart groups lines by merchant");
  await page.screenshot({ path: `${shots}/4-cart.png` });
  await page.getByRole("button", { name: "去结算" }).click();
  await page.waitForURL(/\/checkout$/);
  await page.getByRole("button", { name: "提交订单" }).waitFor();
  assert.equal(await page.getByRole("radio", { name: "李小龙" }).getAttribute("aria-checked"), "true",
               "checkout starts with the default address");
  await page.screenshot({ path: `${shots}/5-checkout.png` });
  await page.getByRole("button", { name: "提交订单" }).click();
  await page.waitForURL(/\/pay\/\d+/);
  await page.getByText("银行卡支付").click();
  await page.getByRole("button", { name: "确认支付" }).click();
  const sim = page.getByRole("link", { name: "用模拟器完成支付" });
  await sim.waitFor();
  await page.screenshot({ path: `${shots}/6-pay.png` });
  const cashier = await context.newPage();
  await cashier.goto(await sim.getAttribute("href"));
  await cashier.getByRole("button", { name: /支付 Pay/ }).click();
  await cashier.waitForLoadState();
  await cashier.close();
  await page.getByText("支付成功").waitFor({ timeout: 30000 });
  await page.goto(base + "/orders");
  await page.getByRole("tab", { name: "待发货" }).click();
  await page.locator('.order[data-status="paid"]').nth(1).waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${shots}/7-orders.png` });
  // The order's detail: status, amounts, the timeline so far.
  await page.locator('.order[data-status="paid"]').first().click();
  await page.waitForURL(/\/orders\/\d+$/);
  await page.getByRole("status").filter({ hasText: "已付款" }).waitFor();
  const steps = await page.locator(".van-step").allTextContents();
  assert.ok(steps.some((s) => s.includes("下单")) && steps.some((s) => s.includes("已付款")), `timeline: ${steps}`);
  await page.screenshot({ path: `${shots}/8-order.png` });

  // The seller ships it from the seller center (its own browser context: its own session).
  const orderId = page.url().split("/").pop();
  const sellerOrg = await page.evaluate(async (id) => {
    const token = localStorage.getItem("jishi.token");
    const o = await fetch(`/api/v1/orders/${id}`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
    return o.seller_org_id;
  }, orderId);
  const sellerLogin = await page.evaluate(async (org) => {
    for (let i = 1; i <= 10; i++) {
      const login = `shop${i}@jishi.demo`;
      const r = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
                                                  body: JSON.stringify({ login, password: "jishi-demo-2026" }) }).then((x) => x.json());
      const me = await fetch("/api/v1/me", { headers: { Authorization: `Bearer ${r.session.token}` } }).then((x) => x.json());
      if (me.memberships.some((m) => m.org_id === org)) return login;
    }
    return null;
  }, sellerOrg);
  assert.ok(sellerLogin, "a demo shop account runs the order's merchant");
  const sellerContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  const seller = await sellerContext.newPage();
  seller.on("pageerror", (e) => errors.push(String(e)));
  await seller.goto(base + "/seller");
  await seller.locator("#seller-login").fill(sellerLogin);
  await seller.locator("#seller-password").fill("jishi-demo-2026");
  await seller.getByRole("button", { name: "登录" }).click();
  const row = seller.locator("tr", { hasText: orderId });
  await row.waitFor({ timeout: 15000 });
  await seller.screenshot({ path: `${shots}/9-seller-orders.png` });
  await row.getByRole("button", { name: "发货" }).click();
  await seller.locator("#ship-tracking").fill("SF1234567890");
  await seller.getByRole("button", { name: "确认发货" }).click();
  await row.waitFor({ state: "detached", timeout: 15000 });
  await sellerContext.close();

  // The buyer sees the tracking number, confirms receipt and rates the order.
  await page.reload();
  await page.getByText("SF1234567890").waitFor({ timeout: 15000 });
  await page.getByRole("button", { name: "确认收货" }).click();
  await page.getByRole("status").filter({ hasText: "已完成" }).waitFor({ timeout: 15000 });
  await page.getByRole("button", { name: "提交评价" }).click();
  await page.getByText("感谢评价").waitFor();
  await page.screenshot({ path: `${shots}/10-completed.png` });

  // The operator approves the merchant awaiting review; the regulator's dashboard shows the GMV.
  const opContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  const op = await opContext.newPage();
  op.on("pageerror", (e) => errors.push(String(e)));
  await op.goto(base + "/admin");
  await op.locator("#admin-login").fill("operator@jishi.demo");
  await op.locator("#admin-password").fill("jishi-demo-2026");
  await op.getByRole("button", { name: "登录" }).click();
  const pending = op.locator("tr", { hasText: "深圳新店贸易有限公司" });
  await pending.waitFor({ timeout: 15000 });
  await op.screenshot({ path: `${shots}/11-onboarding.png` });
  await pending.getByRole("button", { name: "通过" }).click();
  await pending.waitFor({ state: "detached", timeout: 15000 });
  await opContext.close();

  const regContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const reg = await regContext.newPage();
  reg.on("pageerror", (e) => errors.push(String(e)));
  await reg.goto(base + "/admin");
  await reg.locator("#admin-login").fill("regulator@jishi.demo");
  await reg.locator("#admin-password").fill("jishi-demo-2026");
  await reg.getByRole("button", { name: "登录" }).click();
  await reg.getByTestId("gmv").waitFor({ timeout: 15000 });
  const shown = await reg.getByTestId("gmv").textContent();
  const api = await reg.evaluate(async () => {
    const token = localStorage.getItem("jishi.token");
    return fetch("/api/v1/stats/gmv", { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
  });
  const bought = await page.evaluate(async () => {
    const token = localStorage.getItem("jishi.token");
    const r = await fetch("/api/v1/me/orders?limit=100", { headers: { Authorization: `Bearer ${token}` } }).then((x) => x.json());
    return r.items.filter((o) => o.paid_at).reduce((sum, o) => sum + o.total.amount, 0);
  });
  assert.ok(api.gmv.amount >= bought && bought > 0, `GMV ${api.gmv.amount} includes this buyer's ${bought}`);
  assert.match(shown, /^¥[\d,]+\.\d{2}$/);
  assert.ok(await reg.locator("canvas").count() >= 2, "the charts are drawn");
  await reg.waitForTimeout(500);
  await reg.screenshot({ path: `${shots}/12-dashboard.png` });
  // The audit log: an entry's inclusion in the signed tree, checked in the browser.
  await reg.getByRole("tab", { name: "审计日志" }).click();
  await reg.getByTestId("tree-size").waitFor({ timeout: 90000 });
  await reg.getByRole("button", { name: "验证" }).first().click();
  await reg.getByText("已验证").first().waitFor({ timeout: 15000 });
  await reg.screenshot({ path: `${shots}/13-audit.png` });
  await regContext.close();

  // The CA officer issues a TLS server certificate and revokes it; the register shows both.
  const caContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const officer = await caContext.newPage();
  officer.on("pageerror", (e) => errors.push(String(e)));
  await officer.goto(base + "/admin");
  await officer.locator("#admin-login").fill("officer@jishi.demo");
  await officer.locator("#admin-password").fill("jishi-demo-2026");
  await officer.getByRole("button", { name: "登录" }).click();
  await officer.getByTestId("ca-algorithm").waitFor({ timeout: 15000 });
  assert.equal(await officer.getByTestId("ca-algorithm").textContent(), "sm2");
  await officer.locator("#ca-cn").fill("shop.e2e.example");
  await officer.getByRole("button", { name: /签发（平台托管密钥）/ }).click();
  const issued = officer.locator("tr", { hasText: "CN=shop.e2e.example" });
  await issued.waitFor({ timeout: 15000 });
  await issued.getByRole("button", { name: "吊销" }).click();
  await officer.getByRole("button", { name: /OK|确定/ }).click();
  await issued.getByText("revoked").waitFor({ timeout: 15000 });
  await officer.screenshot({ path: `${shots}/14-ca.png` });
  await caContext.close();

  assert.deepEqual(errors, [], "no script errors");
  console.log(`shop ok: first load ${firstLoadMs} ms, ${titles.length} results for 手机, bought from 2 merchants, paid, shipped, confirmed and rated, a merchant approved, GMV on the dashboard, an audit proof verified, a certificate issued and revoked; screenshots in ${shots}`);
} finally {
  await browser.close();
}
