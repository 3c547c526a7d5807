// The seller center end to end in Debian's Chromium (headless, 1280×800) against a real
// `jishi demo`: a new user registers and submits the company for review (a mistyped credit code
// is flagged as typed); a demo merchant's admin creates a product with a SKU and a price,
// uploads an image, lists it and sets its stock; handles a buyer's return (reject with a
// reason, approve the next request, receive the parcel: refunded); sees the balances in ¥;
// creates an API key (the token shown once), a webhook (and sends it a test event), and a
// custodial certificate, which it then revokes. State a buyer would make (return requests,
// the parcel sent back) is made through the API. Screenshots go to $JISHI_UI_SHOTS.
//
//   JISHI_URL=http://127.0.0.1:8080 node tests/seller.e2e.mjs
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { deflateSync } from "node:zlib";
import assert from "node:assert/strict";
import { usccCheckChar, USCC_ALPHABET } from "../src/seller/uscc.js";

const base = process.env.JISHI_URL || "http://127.0.0.1:8080";
const shots = process.env.JISHI_UI_SHOTS || "/tmp/jishi-ui-shots";
mkdirSync(shots, { recursive: true });
const PASSWORD = "jishi-demo-2026";
const started = Date.now();

// --- the API, as a buyer or a seller would call it ------------------------------------------
async function call(method, path, token, body) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return data;
}
const login = async (who) => (await call("POST", "/api/v1/auth/login", null, { login: who, password: PASSWORD })).session.token;

// A delivered order with no open after-sales request, and its buyer. The demo seeds its orders
// once the server is up (wait for them); delivery is the last step of a seeded order's story,
// so the seeder no longer touches it.
async function findReturnableOrder() {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    for (let b = 1; b <= 20; b++) {
      const token = await login(`buyer${b}@jishi.demo`);
      const page = await call("GET", "/api/v1/me/orders?status=delivered&limit=100", token);
      for (const o of page.items) {
        const detail = await call("GET", `/api/v1/orders/${o.id}`, token);
        if (!detail.after_sales.some((a) => ["requested", "approved", "returning"].includes(a.status))) {
          return { order: detail, buyerToken: token };
        }
      }
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error("no delivered order in the demo data");
}

async function shopAdminOf(orgId) {
  for (let i = 1; i <= 10; i++) {
    const who = `shop${i}@jishi.demo`;
    const me = await call("GET", "/api/v1/me", await login(who));
    if (me.memberships.some((m) => m.org_id === orgId && m.role === "seller_admin")) return who;
  }
  throw new Error(`no demo shop account runs ${orgId}`);
}

// A valid, unused Unified Social Credit Code: 91 (a company), Hangzhou's region, random body.
function freshUscc() {
  let body = "91330106";
  while (body.length < 17) body += USCC_ALPHABET[Math.floor(Math.random() * USCC_ALPHABET.length)];
  return body + usccCheckChar(body);
}

// A 2×2 red PNG, made here (no fixture file).
function tinyPng() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0); ihdr.writeUInt32BE(2, 4); ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.from([0, 200, 30, 30, 200, 30, 30, 0, 200, 30, 30, 200, 30, 30]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
                        chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];
// A screenshot once loading masks and dialog transitions have settled.
async function shot(page, name) {
  await page.locator(".el-loading-mask:visible").first().waitFor({ state: "detached", timeout: 30000 }).catch(() => {});
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN", acceptDownloads: true });
  context.setDefaultTimeout(30000);
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  return page;
}

try {
  // --- onboarding: a new user registers and submits the company --------------------------------
  const fresh = await newPage();
  await fresh.goto(base + "/seller");
  await fresh.getByRole("button", { name: "注册新账号" }).click();
  await fresh.locator("#reg-email").fill(`e2e-${Date.now()}@example.com`);
  await fresh.locator("#reg-password").fill("e2e-password-1");
  await fresh.getByRole("button", { name: "注册并登录" }).click();
  await fresh.getByRole("heading", { name: "商家入驻" }).waitFor({ timeout: 30000 });
  await fresh.locator("#onboard-name").fill("端到端测试贸易有限公司");
  const uscc = fresh.locator("#onboard-uscc");
  const message = fresh.getByTestId("uscc-message");
  await uscc.pressSequentially("9133O1");
  assert.match(await message.textContent(), /第 5 位“O”不会出现在统一社会信用代码中/, "a letter never used is flagged as typed");
  await uscc.fill("91330106");
  assert.match(await message.textContent(), /还差 10 位/, "the missing length is counted as typed");
  const code = freshUscc();
  const wrong = code.slice(0, 17) + USCC_ALPHABET[(USCC_ALPHABET.indexOf(code[17]) + 1) % 31];
  await uscc.fill(wrong);
  assert.match(await message.textContent(), /校验位（第 18 位）与前 17 位不符/, "a wrong check character is flagged");
  assert.equal(await uscc.getAttribute("aria-invalid"), "true");
  assert.ok(await fresh.getByRole("button", { name: "提交审核" }).isDisabled(), "a wrong code cannot be submitted");
  await shot(fresh, "seller-1-onboarding-wrong-uscc");
  await uscc.fill(code.toLowerCase());
  assert.match(await message.textContent(), /格式和校验位正确/);
  await fresh.getByRole("button", { name: "提交审核" }).click();
  await fresh.getByTestId("org-status").filter({ hasText: "待审核" }).waitFor({ timeout: 30000 });
  assert.match(await fresh.locator(".org-status").textContent(), new RegExp(code));
  await shot(fresh, "seller-2-onboarding-pending");
  // The operator rejects it: the reason shows; corrected and resubmitted, it is pending again.
  const freshToken = await fresh.evaluate(() => localStorage.getItem("jishi.token"));
  const orgId = (await call("GET", "/api/v1/me", freshToken)).memberships[0].org_id;
  await call("POST", `/api/v1/orgs/${orgId}/reject`, await login("operator@jishi.demo"), { reason: "营业执照照片不清晰" });
  await fresh.reload();
  await fresh.getByTestId("org-reject-reason").filter({ hasText: "营业执照照片不清晰" }).waitFor({ timeout: 30000 });
  await fresh.locator("#resubmit-name").fill("端到端测试贸易（杭州）有限公司");
  await shot(fresh, "seller-2b-onboarding-rejected");
  await fresh.getByRole("button", { name: "重新提交审核" }).click();
  await fresh.getByTestId("org-status").filter({ hasText: "待审核" }).waitFor({ timeout: 30000 });
  await fresh.getByText("重新提交", { exact: true }).waitFor(); // in the review history
  await fresh.context().close();

  // --- a demo merchant's admin --------------------------------------------------------------------
  const { order, buyerToken } = await findReturnableOrder();
  const sellerLogin = await shopAdminOf(order.seller_org_id);
  const page = await newPage();
  await page.goto(base + "/seller");
  await page.locator("#seller-login").fill(sellerLogin);
  await page.locator("#seller-password").fill(PASSWORD);
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByRole("link", { name: "商品", exact: true }).click();
  await page.waitForURL(/\/seller\/products$/);

  // A product with one SKU and its price, an image, listed, stock set.
  const title = `端到端测试手机 ${Date.now()}`;
  await page.getByRole("button", { name: "发布商品" }).click();
  await page.locator("#p-title").fill(title);
  await page.locator("#p-brand").fill("集市");
  await page.locator("#p-category").click();
  await page.keyboard.type("手机");
  await page.locator(".el-select-dropdown__item:visible", { hasText: "手机数码 / 手机" }).click();
  await page.locator("#p-sku-0-spec").fill("颜色:曜石黑 存储:256GB");
  await page.locator("#p-sku-0-price").fill("1999.9");
  await page.locator("#p-sku-0-price-msg").filter({ hasText: "¥1,999.90" }).waitFor(); // the price as it will be stored
  await page.locator("#p-sku-0-code").fill("E2E-001");
  await page.getByRole("button", { name: "创建商品（草稿）" }).click();
  const drawer = page.locator(".el-drawer");
  await drawer.getByTestId("detail-status").filter({ hasText: "草稿" }).waitFor({ timeout: 30000 });
  await page.locator("#image-file").setInputFiles({ name: "red.png", mimeType: "image/png", buffer: tinyPng() });
  await drawer.locator(".images img").first().waitFor({ timeout: 30000 });
  assert.match(await drawer.locator(".images img").first().getAttribute("src"), /^\/media\/[0-9a-f]{64}\.png$/);
  await drawer.getByRole("button", { name: "上架" }).click();
  await drawer.getByTestId("detail-status").filter({ hasText: "在售" }).waitFor({ timeout: 30000 });
  assert.match(await drawer.locator(".el-table").textContent(), /¥1,999\.90/, "the SKU's price, from minor units");
  await shot(page, "seller-3-product");
  await drawer.getByRole("button", { name: "管理库存" }).click();
  await page.waitForURL(/\/seller\/stock\?product=\d+/);
  const skuRow = page.locator(".el-table__row", { hasText: "存储:256GB 颜色:曜石黑" });
  await skuRow.getByTestId("on-hand").filter({ hasText: "0" }).waitFor({ timeout: 30000 });
  await skuRow.getByRole("button", { name: "设置库存" }).click();
  await page.locator("#stock-on-hand").fill("25");
  await page.locator("#stock-note").fill("首批到货");
  await page.getByRole("dialog").getByRole("button", { name: "保存" }).click();
  await skuRow.getByTestId("on-hand").filter({ hasText: "25" }).waitFor({ timeout: 30000 });
  await skuRow.getByRole("button", { name: "库存流水" }).click();
  await page.getByRole("dialog").getByText("首批到货").waitFor({ timeout: 30000 });
  await shot(page, "seller-4-stock");
  await page.keyboard.press("Escape");
  await page.getByRole("link", { name: "商品", exact: true }).click();
  const productRow = page.locator(".el-table__row", { hasText: title });
  await productRow.waitFor({ timeout: 30000 });
  assert.match(await productRow.textContent(), /在售/);
  assert.match(await productRow.textContent(), /¥1,999\.90/);
  assert.match(await productRow.textContent(), /有货/);
  await shot(page, "seller-5-products");

  // A return: rejected with a reason, asked again and approved, the parcel received: refunded.
  await call("POST", `/api/v1/orders/${order.id}/returns`, buyerToken, { reason: "颜色和图片不一样" });
  await page.getByRole("link", { name: "退款售后" }).click();
  let request = page.locator(".el-table__row", { hasText: order.id });
  await request.getByTestId("as-status").filter({ hasText: "待审核" }).waitFor({ timeout: 30000 });
  await request.getByRole("button", { name: "拒绝" }).click();
  await page.locator("#reject-reason").fill("商品与描述一致，请核对");
  await page.getByRole("button", { name: "确认拒绝" }).click();
  await request.waitFor({ state: "detached", timeout: 30000 }); // no longer open
  await call("POST", `/api/v1/orders/${order.id}/returns`, buyerToken, { reason: "还是想退" });
  await page.getByRole("button", { name: "刷新" }).click();
  request = page.locator(".el-table__row", { hasText: order.id });
  await request.getByTestId("as-status").filter({ hasText: "待审核" }).waitFor({ timeout: 30000 });
  await request.getByRole("button", { name: "同意" }).click();
  await request.getByTestId("as-status").filter({ hasText: "待买家寄回" }).waitFor({ timeout: 30000 });
  const open = (await call("GET", `/api/v1/orders/${order.id}`, buyerToken)).after_sales.find((a) => a.status === "approved");
  await call("POST", `/api/v1/after-sales/${open.id}/ship-back`, buyerToken, { carrier: "YTO", tracking_no: "YT9988776655" });
  await page.getByRole("button", { name: "刷新" }).click();
  await request.getByTestId("as-status").filter({ hasText: "买家已寄回" }).waitFor({ timeout: 30000 });
  assert.match(await request.textContent(), /YT9988776655/);
  await shot(page, "seller-6-after-sales");
  await request.getByRole("button", { name: "确认收到退货" }).click();
  await page.getByRole("button", { name: "确认收货并退款" }).click();
  await request.waitFor({ state: "detached", timeout: 30000 });
  await page.locator("label.el-radio-button", { hasText: "全部" }).click();
  const rows = page.locator(".el-table__row", { hasText: order.id });
  await rows.filter({ hasText: "已退款" }).waitFor({ timeout: 30000 });
  await rows.filter({ hasText: "已拒绝" }).filter({ hasText: "商品与描述一致，请核对" }).waitFor();
  const refunded = await call("GET", `/api/v1/orders/${order.id}`, buyerToken);
  assert.equal(refunded.refunded.amount, refunded.total.amount, "the buyer got the money back");
  assert.equal(refunded.status, "closed");

  // Money: balances formatted from minor units.
  await page.getByRole("link", { name: "资金与结算" }).click();
  await page.getByTestId("balance-available").filter({ hasText: "¥" }).waitFor({ timeout: 30000 });
  for (const k of ["available", "pending", "reserve", "in_transit", "receivable"]) {
    assert.match(await page.getByTestId(`balance-${k}`).textContent(), /^-?¥[\d,]+\.\d{2}$/, `${k} balance`);
  }
  await page.locator(".el-table__row").first().waitFor({ timeout: 30000 });
  await shot(page, "seller-7-finance");

  // An API key: the token once.
  await page.getByRole("link", { name: "API 密钥" }).click();
  await page.locator("#key-name").fill("ERP 同步");
  await page.locator("label.el-checkbox", { hasText: "写入 write" }).click();
  assert.ok(await page.getByRole("checkbox", { name: "写入 write" }).isChecked());
  await page.getByRole("button", { name: "创建", exact: true }).click();
  const token = await page.locator("#api-key-secret").inputValue({ timeout: 30000 });
  assert.match(token, /^jsk_/);
  await page.getByText("它只显示这一次").waitFor();
  const keyRow = page.locator(".el-table__row", { hasText: "ERP 同步" });
  await keyRow.waitFor();
  assert.ok((await keyRow.textContent()).includes(token.slice(0, 10)), "the list shows the token's prefix");
  await shot(page, "seller-8-api-key");
  await page.reload();
  await keyRow.waitFor({ timeout: 30000 });
  assert.equal(await page.locator("#api-key-secret").count(), 0, "the token is not shown again");
  const me = await call("GET", "/api/v1/me", token);
  assert.equal(me.kind, "api_key", "the token works");

  // A webhook, and a test event in its delivery log.
  await page.getByRole("link", { name: "Webhook 通知" }).click();
  await page.locator("#wh-url").fill("http://127.0.0.1:9/jishi-e2e");
  await page.locator("#wh-desc").fill("端到端测试");
  await page.getByRole("button", { name: "添加", exact: true }).click();
  assert.match(await page.locator("#webhook-secret").inputValue({ timeout: 30000 }), /^whsec_/);
  const hook = page.locator(".el-table__row", { hasText: "http://127.0.0.1:9/jishi-e2e" });
  await hook.getByRole("button", { name: "发送测试" }).click();
  await page.locator(".deliveries .el-table__row", { hasText: "webhook.ping" }).waitFor({ timeout: 30000 });
  await shot(page, "seller-9-webhooks");

  // A certificate with a custodial key, then revoked.
  await page.getByRole("link", { name: "数字证书" }).click();
  await page.getByRole("button", { name: "申请证书（托管密钥）" }).click();
  const issued = await page.getByText(/证书已签发，序列号 [0-9a-f]+/).textContent({ timeout: 30000 });
  const serial = issued.match(/[0-9a-f]{16,}/)[0];
  const cert = page.locator(".el-table__row", { hasText: serial });
  await cert.getByTestId("cert-status").filter({ hasText: "有效" }).waitFor({ timeout: 30000 });
  const [download] = await Promise.all([page.waitForEvent("download"), cert.getByRole("button", { name: "下载" }).click()]);
  assert.equal(download.suggestedFilename(), `${serial}.pem`);
  await cert.getByRole("button", { name: "吊销" }).click();
  await page.getByRole("button", { name: "确认吊销" }).click();
  await cert.getByTestId("cert-status").filter({ hasText: "已吊销" }).waitFor({ timeout: 30000 });
  await shot(page, "seller-10-certificates");

  assert.deepEqual(errors, [], "no script errors");
  console.log(`seller ok in ${Math.round((Date.now() - started) / 1000)} s: onboarding with USCC checks (pending review), a product with an image and stock listed by ${sellerLogin}, a return rejected, approved and refunded, balances in ¥, an API key shown once, a webhook tested, a certificate issued and revoked; screenshots in ${shots}`);
} finally {
  await browser.close();
}
