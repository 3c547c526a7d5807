// End to end in Debian's Chromium (headless) against a real `jishi demo`: the console's tabs for
// operators and regulators beyond those of shop.e2e.mjs — ledger status, merchants, takedowns,
// and the GMV export as XLSX. Screenshots go to $JISHI_UI_SHOTS.
//
//   JISHI_URL=http://127.0.0.1:8080 node tests/admin.e2e.mjs
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import assert from "node:assert/strict";

const base = process.env.JISHI_URL || "http://127.0.0.1:8080";
const shots = process.env.JISHI_UI_SHOTS || "/tmp/jishi-ui-shots";
mkdirSync(shots, { recursive: true });
const PASSWORD = "jishi-demo-2026";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const errors = [];

// A partner's self-signed P-256 CA certificate, made with the system openssl.
function partnerCaPem(name) {
  const dir = mkdtempSync(`${tmpdir()}/jishi-xca-`);
  execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${dir}/key.pem`]);
  execFileSync("openssl", ["req", "-x509", "-new", "-key", `${dir}/key.pem`, "-subj", `/C=CN/O=${name}/CN=Partner Root`, "-days", "30",
                           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                           "-out", `${dir}/ca.pem`]);
  return readFileSync(`${dir}/ca.pem`, "utf8");
}

async function signIn(login) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", acceptDownloads: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/admin");
  await page.locator("#admin-login").fill(login);
  await page.locator("#admin-password").fill(PASSWORD);
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByRole("tab").first().waitFor({ timeout: 15000 });
  return { context, page };
}

try {
  // --- the operator ---------------------------------------------------------------------------
  const { context: opContext, page: op } = await signIn("operator@jishi.demo");
  // Ledger status: both checks green, as `jishi verify` would say.
  await op.getByRole("tab", { name: "账本核验" }).click();
  await op.getByTestId("ledger-check").filter({ hasText: "借贷平衡" }).waitFor({ timeout: 30000 });
  assert.match(await op.getByTestId("stock-check").textContent(), /一致：\d+ 个 SKU/);
  assert.equal(await op.locator(".check.bad").count(), 0, "nothing is inconsistent in the demo");
  await op.screenshot({ path: `${shots}/admin-1-ledger.png` });

  // Takedowns: a listed product taken down with a reason, gone from the shop, then restored.
  const product = await op.evaluate(async () => {
    const r = await fetch("/api/v1/products?q=%E6%89%8B%E6%9C%BA&limit=1").then((x) => x.json());
    return r.items[0];
  });
  await op.getByRole("tab", { name: "商品下架" }).click();
  await op.locator("#takedown-product").fill(product.id);
  await op.locator("#takedown-reason").fill("涉嫌虚假宣传");
  await op.getByRole("button", { name: "下架", exact: true }).click();
  const entry = op.locator(".el-table__row", { hasText: "涉嫌虚假宣传" });
  await entry.waitFor({ timeout: 15000 });
  assert.match(await entry.textContent(), new RegExp(product.id));
  const gone = await op.evaluate((id) => fetch(`/api/v1/products/${id}`).then((r) => r.status), product.id);
  assert.equal(gone, 404, "a product taken down is gone from the shop");
  await op.screenshot({ path: `${shots}/admin-2-takedowns.png` });
  await entry.getByRole("button", { name: "恢复上架" }).click();
  await op.locator(".el-message-box").getByRole("button", { name: "恢复" }).click();
  // The newest entry is the restore.
  await op.getByTestId("takedown-action").first().filter({ hasText: /^\s*恢复\s*$/ }).waitFor({ timeout: 15000 });
  const status = await op.evaluate(async (id) => {
    const token = localStorage.getItem("jishi.token");
    return fetch(`/api/v1/products/${id}`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
  }, product.id);
  assert.equal(status.status, "delisted", "restored: the seller may list it again");
  // Risk review: a rule that holds every payment over ¥1 for review, a buyer's payment
  // held by it, approved by the operator with a reason.
  const held = await op.evaluate(async () => {
    const opToken = localStorage.getItem("jishi.token");
    const call = async (method, path, token, body) => {
      const r = await fetch(path, { method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
                                    body: body && JSON.stringify(body) });
      return { status: r.status, json: await r.json().catch(() => null) };
    };
    const rule = await call("POST", "/api/v1/risk/rules", opToken, { kind: "per_transaction", action: "payment", account_class: "personal",
                                                        outcome: "review", max_amount: { amount: 100, currency: "CNY" }, description: "e2e" });
    const buyer = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
                                                     body: JSON.stringify({ login: "buyer2@jishi.demo", password: "jishi-demo-2026" }) }).then((r) => r.json());
    const seller = (await fetch("/api/v1/products?limit=1").then((r) => r.json())).items[0].seller_org_id;
    const ref = `e2e-risk-${Date.now()}`;
    const intent = await call("POST", "/api/v1/payments/intents", buyer.session.token, {
      amount: { amount: 12345, currency: "CNY" }, reference: ref,
      splits: [{ reference: ref + "-1", payee_org_id: seller, amount: { amount: 12345, currency: "CNY" } }] });
    const confirm = await call("POST", `/api/v1/payments/intents/${intent.json.id}/confirm`, buyer.session.token, { channel: "wallet" });
    return { rule: rule.status, ruleProblem: rule.json?.detail || null, intent: intent.status, confirm: confirm.status };
  });
  assert.deepEqual(held, { rule: 201, ruleProblem: null, intent: 201, confirm: 202 }, "the payment is held for review");
  await op.getByRole("tab", { name: "风控审核" }).click();
  const review = op.locator(".review-row", { hasText: "¥123.45" });
  await review.waitFor({ timeout: 15000 });
  await review.locator(".el-table__expand-icon").click();
  await op.getByText("人工审核").first().waitFor({ timeout: 15000 });
  await op.screenshot({ path: `${shots}/admin-1a-risk.png` });
  await review.getByRole("button", { name: "放行" }).click();
  await op.locator(".el-message-box input").fill("电话核实为本人操作");
  await op.locator(".el-message-box").getByRole("button", { name: "确定" }).click();
  await review.waitFor({ state: "detached", timeout: 15000 });
  await op.locator("label.el-radio-button", { hasText: "已放行" }).click();
  await op.locator(".review-row", { hasText: "电话核实为本人操作" }).waitFor({ timeout: 15000 });

  // Settlement and reconciliation of yesterday (its cut-off has passed): the result and the
  // batches shown are what the API has; a reconciliation run appears with its counts.
  await op.getByRole("tab", { name: "结算对账" }).click();
  await op.getByRole("button", { name: "执行结算" }).click();
  await op.getByTestId("settle-result").waitFor({ timeout: 30000 });
  const day = await op.locator("#settle-date").inputValue();
  const batches = await op.evaluate(async (d) => {
    const token = localStorage.getItem("jishi.token");
    return (await fetch(`/api/v1/settlements?date=${d}&limit=100`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json())).items.length;
  }, day);
  await op.waitForTimeout(300);
  assert.equal(await op.getByTestId("batches").locator("tbody tr").count(), batches, "the batches of the date");
  await op.getByRole("button", { name: `对账 ${day}` }).click();
  const runRow = op.getByTestId("recon-runs").locator("tbody tr", { hasText: day }).first();
  await runRow.waitFor({ timeout: 30000 });
  await op.getByText(`差异明细（card ${day}）`).waitFor({ timeout: 15000 });
  await op.screenshot({ path: `${shots}/admin-1b-settlement.png`, fullPage: true });

  // Categories: a new sub-category under the first top-level one, then renamed.
  await op.getByRole("tab", { name: "商品分类" }).click();
  const top = op.locator(".el-tree > .el-tree-node").first();
  await top.waitFor({ timeout: 15000 });
  await top.locator(".node").first().getByRole("button", { name: "新增子分类" }).click();
  await op.locator("#category-code").fill("Bad Code");
  await op.getByText("只能用小写字母、数字、- 和 _").waitFor();
  const code = `e2e-${Date.now()}`;
  await op.locator("#category-code").fill(code);
  await op.locator("#category-name").fill("智能手表");
  await op.getByRole("dialog").getByRole("button", { name: "保存" }).click();
  const node = op.getByTestId(`category-${code}`);
  await node.waitFor({ timeout: 15000 });
  assert.equal(await top.getByTestId(`category-${code}`).count(), 1, "filed under its parent");
  await node.getByRole("button", { name: "编辑" }).click();
  await op.locator("#category-name").fill("智能手表与手环");
  await op.getByRole("dialog").getByRole("button", { name: "保存" }).click();
  await node.filter({ hasText: "智能手表与手环" }).waitFor({ timeout: 15000 });
  await op.screenshot({ path: `${shots}/admin-2a-categories.png` });
  await opContext.close();

  // --- the regulator (read only) --------------------------------------------------------------
  const { context: regContext, page: reg } = await signIn("regulator@jishi.demo");
  await reg.getByRole("tab", { name: "商家" }).click();
  await reg.getByTestId("org-status").first().waitFor({ timeout: 15000 });
  await reg.locator("label.el-radio-button", { hasText: "已开通" }).click();
  await reg.waitForTimeout(300);
  const statuses = await reg.getByTestId("org-status").allTextContents();
  assert.ok(statuses.length > 0 && statuses.every((s) => s.trim() === "已开通"), `approved only: ${statuses}`);
  await reg.screenshot({ path: `${shots}/admin-3-merchants.png` });
  await reg.getByRole("tab", { name: "商品下架" }).click();
  await reg.getByTestId("takedown-action").first().waitFor({ timeout: 15000 });
  assert.equal(await reg.locator("#takedown-product").count(), 0, "regulators see no takedown form");
  assert.equal(await reg.getByRole("button", { name: "恢复上架" }).count(), 0, "nor restore buttons");
  await reg.getByRole("tab", { name: "交易统计" }).click();
  await reg.getByTestId("gmv").waitFor({ timeout: 15000 });
  const [download] = await Promise.all([reg.waitForEvent("download"), reg.getByRole("button", { name: "导出 Excel" }).click()]);
  assert.match(download.suggestedFilename(), /^gmv-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx$/);
  const xlsx = readFileSync(await download.path());
  assert.equal(xlsx.subarray(0, 2).toString(), "PK", "a ZIP");
  const text = xlsx.toString("utf8");
  for (const part of ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"])
    assert.ok(text.includes(part), `the workbook has ${part}`);
  const gmv = await reg.evaluate(async () => {
    const token = localStorage.getItem("jishi.token");
    return fetch("/api/v1/stats/gmv", { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
  });
  const busiest = gmv.by_day.reduce((a, d) => (d.gmv.amount > a.gmv.amount ? d : a), gmv.by_day[0]);
  const amount = `${Math.floor(busiest.gmv.amount / 100)}.${String(busiest.gmv.amount % 100).padStart(2, "0")}`;
  assert.ok(text.includes(`<v>${amount}</v>`), `the busiest day's GMV ${amount} is a numeric cell`);
  await regContext.close();

  // --- the CA officer: a partner CA imported and cross-certified; the audit log's heads -----
  const { context: caContext, page: ca } = await signIn("officer@jishi.demo");
  const partner = `Partner ${Date.now()}`;
  await ca.getByRole("tab", { name: "证书认证中心" }).click();
  await ca.locator("#xca-name").fill(partner);
  await ca.locator("#xca-pem").fill(partnerCaPem(partner));
  await ca.getByRole("button", { name: "导入外部 CA" }).click();
  const ext = ca.getByTestId("external-cas").locator(".el-table__row", { hasText: partner });
  await ext.waitFor({ timeout: 15000 });
  // A wrong root passphrase is refused in plain words; the right one issues the cross-certificate.
  await ext.getByRole("button", { name: "交叉认证" }).click();
  await ca.waitForFunction(() => document.activeElement?.id === "xca-pass");
  await ca.keyboard.type("not-the-passphrase");
  await ca.keyboard.press("Enter");
  await ca.getByText("根密钥口令不对").waitFor({ timeout: 60000 });
  const passphrase = readFileSync(`${process.env.JISHI_DATA_DIR}/ca-root-passphrase.txt`, "utf8").trim();
  await ca.locator("#xca-pass").fill(passphrase);
  await ca.keyboard.press("Enter");
  await ext.locator('a[href^="/pki/certs/"]').waitFor({ timeout: 60000 });
  await ca.screenshot({ path: `${shots}/admin-4-cross-certified.png` });
  // The audit log: a consistency proof between two signed heads, checked in the browser.
  await ca.getByRole("tab", { name: "审计日志" }).click();
  await ca.getByTestId("tree-size").waitFor({ timeout: 15000 });
  await ca.locator("#cons-first").waitFor({ timeout: 15000 }); // two signed heads (one every 2 s)
  let consistency = "";
  {
    await ca.locator(".el-card", { hasText: "一致性证明" }).getByRole("button", { name: "验证" }).click();
    consistency = (await ca.getByTestId("consistency-result").textContent()).trim();
    assert.match(consistency, /已验证/);
  }
  await ca.screenshot({ path: `${shots}/admin-5-audit.png` });
  await caContext.close();

  assert.deepEqual(errors, [], "no script errors");
  console.log(`admin ok: ledger status green, a held payment approved, a date settled and reconciled, a product taken down and restored, a category created and renamed, merchants filtered by status, ` +
              `regulator read only, GMV exported as XLSX, a partner CA cross-certified, consistency: ${consistency}; screenshots in ${shots}`);
} finally {
  await browser.close();
}
