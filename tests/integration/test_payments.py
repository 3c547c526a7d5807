"""Payments end to end: the real server, its built-in channel simulator speaking the signed
gateway protocol over HTTP, a real SQLite file. Money is checked through the API and with
`jishi verify ledger`."""
import datetime
import os
import sqlite3
import subprocess
import time
import unittest
import urllib.parse
import zoneinfo

from harness import ADMIN_PASSWORD, JISHI, Server, uscc, wait_until

CNY = lambda amount: {"amount": amount, "currency": "CNY"}  # noqa: E731
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def today_in_shanghai():
    return datetime.datetime.now(SHANGHAI).date().isoformat()


class PaymentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(settings={
            "pay_worker_interval_ms": "50",
            "simulator_notify_retry_ms": "50",
            "simulator_duplicate_pct": "100",
            "simulator_reorder_pct": "100",
            "simulator_faults": "true",
        })
        cls.server.admin_create("operator@example.com", "operator")
        cls.server.admin_create("regulator@example.com", "regulator")
        cls.server.start()
        cls.op = cls.server.login("operator@example.com", ADMIN_PASSWORD)
        cls.reg = cls.server.login("regulator@example.com", ADMIN_PASSWORD)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def next_n(self):
        type(self).n += 1
        return type(self).n

    def new_user(self, prefix="user"):
        client, _ = self.server.register("%s%d@pay.example.com" % (prefix, self.next_n()))
        return client

    def new_merchant(self, account_no="6222020200001234"):
        seller = self.new_user("seller")
        r = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "商户%d" % self.next_n(),
                                         "credit_code": uscc(5000 + self.next_n())})
        self.assertEqual(r.status, 201, r)
        org = self.op.post("/api/v1/orgs/%s/approve" % r.json["id"], {"note": "ok"}).json
        if account_no:
            a = seller.request("PUT", "/api/v1/orgs/%s/payout-account" % org["id"],
                               {"bank_name": "ICBC", "holder_name": org["name"],
                                "account_no": account_no})
            self.assertEqual(a.status, 200, a)
            self.assertEqual(a.json["account_no_masked"], "****" + account_no[-4:])
        return seller, org

    def intent(self, buyer, splits, purpose="escrow"):
        body = {"amount": CNY(sum(a for _, _, a in splits)), "reference": "chk-%d" % self.next_n(),
                "splits": [{"reference": ref, "payee_org_id": org["id"], "amount": CNY(a)}
                           for ref, org, a in splits]}
        r = buyer.post("/api/v1/payments/intents", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def pay_at_cashier(self, intent, result="success"):
        """What the payer does on the gateway's page: the simulator then notifies us."""
        url = urllib.parse.urlparse(intent["cashier_url"])
        form = {"result": result}
        if intent["channel"] == "card":
            form["card_number"] = "6222020200001111"
        r = self.server.client().request("POST", url.path,
                                         raw=urllib.parse.urlencode(form).encode(),
                                         content_type="application/x-www-form-urlencoded")
        self.assertIn(r.status, (200, 303), r)

    def wait_status(self, client, intent_id, status):
        def check():
            r = client.get("/api/v1/payments/intents/%s" % intent_id)
            return r.json if r.json["status"] == status else None
        return wait_until(check, what="intent %s to be %s" % (intent_id, status))

    def paid_intent(self, buyer, splits, channel="card"):
        i = self.intent(buyer, splits)
        c = buyer.post("/api/v1/payments/intents/%s/confirm" % i["id"], {"channel": channel})
        self.assertEqual((c.status, c.json["status"]), (200, "processing"), c)
        self.assertTrue(c.json["trade_no"])
        self.pay_at_cashier(c.json)
        return self.wait_status(buyer, i["id"], "succeeded")

    def verify_ledger(self):
        out = subprocess.run([JISHI, "verify", "ledger", "--data-dir", self.server.data_dir],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def balances(self, client, org):
        r = client.get("/api/v1/orgs/%s/balances" % org["id"])
        self.assertEqual(r.status, 200, r)
        return {k: r.json[k]["amount"] for k in ("pending", "available", "reserve", "in_transit",
                                                 "receivable")}

    # --- tests -------------------------------------------------------------------------------

    def test_card_payment_is_held_in_escrow_then_released_net_of_commission(self):
        seller_a, shop_a = self.new_merchant()
        seller_b, shop_b = self.new_merchant()
        buyer = self.new_user("buyer")
        i = self.paid_intent(buyer, [("ord-a-%d" % self.n, shop_a, 10000),
                                     ("ord-b-%d" % self.n, shop_b, 2999)])
        ref_a, ref_b = i["splits"][0]["reference"], i["splits"][1]["reference"]
        self.assertGreater(i["fee"]["amount"], 0)  # the channel's fee came with the notification
        self.assertEqual(self.balances(seller_a, shop_a)["pending"], 10000)
        # Each merchant sees its own money only; regulators read, never write.
        self.assertEqual(seller_a.get("/api/v1/orgs/%s/balances" % shop_b["id"]).status, 404)
        self.assertEqual(self.balances(self.reg, shop_b)["pending"], 2999)
        self.assertEqual(self.reg.post("/api/v1/payments/escrows/%s/release" % ref_a).status, 403)
        self.assertEqual(seller_a.post("/api/v1/payments/escrows/%s/release" % ref_a).status, 403)
        # The buyer confirms receipt of shop A's order: 5% commission, half-even to the fen.
        r = buyer.post("/api/v1/payments/escrows/%s/release" % ref_a)
        self.assertEqual((r.status, r.json["status"]), (200, "released"), r)
        self.assertEqual(r.json["commission"]["amount"], 500)
        self.assertEqual(self.balances(seller_a, shop_a),
                         {"pending": 0, "available": 9500, "reserve": 0, "in_transit": 0,
                          "receivable": 0})
        self.assertEqual(buyer.post("/api/v1/payments/escrows/%s/release" % ref_a).code,
                         "invalid_state")
        r = self.op.post("/api/v1/payments/escrows/%s/release" % ref_b)
        self.assertEqual(r.json["commission"]["amount"], 150)  # 149.95 -> 150
        statement = seller_a.get("/api/v1/orgs/%s/statement" % shop_a["id"]).json["items"]
        self.assertIn(("release", 9500), [(e["code"], e["amount"]) for e in statement])
        self.verify_ledger()

    def test_ledger_verification_status_for_the_console(self):
        """GET /api/v1/ledger/verification runs `verify ledger` and `verify stock` on one
        snapshot: green while the books balance, red with the reason once a balance is
        altered behind the ledger's back; buyers may not look."""
        buyer = self.new_user("buyer")
        _, org = self.new_merchant()
        self.paid_intent(buyer, [("v-%d" % self.next_n(), org, 1999)])
        for who in (self.op, self.reg):
            r = who.get("/api/v1/ledger/verification")
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["ledger"]["ok"], r.json["ledger"]["problem"]), (True, None))
            self.assertTrue(r.json["stock"]["ok"], r.json)
            self.assertEqual(r.json["stock"]["problems"], [])
            self.assertRegex(r.json["checked_at"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(buyer.get("/api/v1/ledger/verification").status, 403)
        self.assertEqual(self.server.client().get("/api/v1/ledger/verification").status, 401)
        with sqlite3.connect(self.server.db_path) as db:
            acct = db.execute("SELECT id FROM ledger_accounts WHERE credits_posted > 0 "
                              "ORDER BY id LIMIT 1").fetchone()[0]
            db.execute("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 "
                       "WHERE id = ?", (acct,))
        try:
            r = self.op.get("/api/v1/ledger/verification")
            self.assertEqual(r.status, 200, r)
            self.assertFalse(r.json["ledger"]["ok"])
            self.assertIn("total debits != total credits", r.json["ledger"]["problem"])
        finally:
            with sqlite3.connect(self.server.db_path) as db:
                db.execute("UPDATE ledger_accounts SET credits_posted = credits_posted - 1 "
                           "WHERE id = ?", (acct,))
        self.assertTrue(self.op.get("/api/v1/ledger/verification").json["ledger"]["ok"])

    def test_card_payments_pass_the_risk_rules_before_the_gateway(self):
        """The risk rules apply to card payments as to wallet ones, before any trade exists at
        the gateway: blocked (the default per-transaction limit, ¥50,000) or held for review,
        the payer gets no cashier to pay at; approved, confirming again goes ahead."""
        buyer = self.new_user("buyer")
        _, org = self.new_merchant()
        big = self.intent(buyer, [("big-%d" % self.next_n(), org, 6_000_000)])
        c = buyer.post("/api/v1/payments/intents/%s/confirm" % big["id"], {"channel": "card"})
        self.assertEqual(c.code, "payment_declined", c)
        got = buyer.get("/api/v1/payments/intents/%s" % big["id"]).json
        self.assertEqual(got["status"], "failed", got)
        self.assertFalse(got.get("cashier_url"), got)
        rule = self.op.post("/api/v1/risk/rules", {
            "kind": "per_transaction", "action": "payment", "account_class": "personal",
            "outcome": "review", "max_amount": CNY(100_000), "description": "card review test"})
        self.assertEqual(rule.status, 201, rule)
        try:
            mid = self.intent(buyer, [("mid-%d" % self.next_n(), org, 200_000)])
            c = buyer.post("/api/v1/payments/intents/%s/confirm" % mid["id"], {"channel": "card"})
            self.assertEqual((c.status, c.json["risk"]["outcome"]), (202, "review"), c)
            self.assertFalse(c.json.get("cashier_url"), c)
            review = c.json["risk"]["review_id"]
            ok = self.op.post("/api/v1/risk/reviews/%s/approve" % review, {"reason": "called the buyer"})
            self.assertEqual(ok.status, 200, ok)
            again = buyer.post("/api/v1/payments/intents/%s/confirm" % mid["id"], {"channel": "card"})
            self.assertEqual((again.status, again.json["status"]), (200, "processing"), again)
            self.pay_at_cashier(again.json)
            self.wait_status(buyer, mid["id"], "succeeded")
        finally:
            self.op.request("PATCH", "/api/v1/risk/rules/%s" % rule.json["id"], {"enabled": False})
        self.verify_ledger()

    def test_duplicate_reordered_and_forged_notifications_change_nothing(self):
        _, shop = self.new_merchant()
        buyer = self.new_user("buyer")
        i = self.paid_intent(buyer, [("ord-n-%d" % self.n, shop, 1234)])
        log = lambda: self.op.get("/api/v1/payments/notifications?out_trade_no=%s" % i["id"]).json  # noqa
        # The simulator sends every notification twice and a stale WAIT_BUYER_PAY after the
        # final one: exactly one is applied.
        wait_until(lambda: len([n for n in log()["items"] if n["verdict"] == "duplicate"]) >= 1,
                   what="a duplicate notification")
        wait_until(lambda: "ignored_not_final" in [n["verdict"] for n in log()["items"]],
                   what="the stale WAIT_BUYER_PAY delivered after the final status")
        verdicts = [n["verdict"] for n in log()["items"]]
        self.assertEqual(verdicts.count("applied"), 1, verdicts)
        # A forged notification (bad signature) is refused, logged, and changes nothing.
        forged = urllib.parse.urlencode({
            "notify_id": "forged-1", "trade_no": i["trade_no"], "out_trade_no": i["id"],
            "trade_status": "TRADE_CLOSED", "total_amount": "12.34", "currency": "CNY",
            "sign_type": "SM2", "sign": "AAAA"})
        r = self.server.client().request("POST", "/api/v1/payments/notify/card",
                                         raw=forged.encode(),
                                         content_type="application/x-www-form-urlencoded")
        self.assertEqual((r.status, r.body), (400, "fail"))
        self.assertIn("bad_signature", [n["verdict"] for n in log()["items"]])
        self.assertEqual(buyer.get("/api/v1/payments/intents/%s" % i["id"]).json["status"],
                         "succeeded")
        self.assertEqual(self.balances(self.op, shop)["pending"], 1234)
        self.verify_ledger()

    def test_declined_payment_fails_and_the_reference_can_be_paid_again(self):
        _, shop = self.new_merchant()
        buyer = self.new_user("buyer")
        ref = "ord-d-%d" % self.next_n()
        i = self.intent(buyer, [(ref, shop, 500)])
        c = buyer.post("/api/v1/payments/intents/%s/confirm" % i["id"], {"channel": "netbank"})
        self.pay_at_cashier(c.json, result="fail")
        failed = self.wait_status(buyer, i["id"], "failed")
        self.assertEqual(failed["failure_code"], "channel_closed")
        j = self.paid_intent(buyer, [(ref, shop, 500)], channel="qr")
        self.assertEqual(j["status"], "succeeded")

    def test_refunds_before_and_after_release_never_move_money_twice(self):
        seller, shop = self.new_merchant()
        buyer = self.new_user("buyer")
        ref = "ord-r-%d" % self.next_n()
        self.paid_intent(buyer, [(ref, shop, 10000)])
        url = "/api/v1/payments/escrows/%s/refunds" % ref
        self.assertEqual(buyer.post(url, {"amount": CNY(1), "reason": "x"}).status, 403)
        first = seller.post(url, {"amount": CNY(3000), "reason": "size"}, key="refund-1")
        self.assertEqual(first.status, 201, first)
        again = seller.post(url, {"amount": CNY(3000), "reason": "size"}, key="refund-1")
        self.assertEqual((again.status, again.headers.get("idempotent-replayed")), (201, "true"))
        self.assertEqual(again.json["id"], first.json["id"])
        too_much = seller.post(url, {"amount": CNY(7001), "reason": "all"})
        self.assertEqual(too_much.code, "validation_failed")
        self.assertEqual(self.balances(seller, shop)["pending"], 7000)
        # The worker sends the refund to the channel; the channel confirms it.
        wait_until(lambda: seller.get(url).json["items"][0]["status"] == "succeeded",
                   what="the refund to be confirmed by the channel")
        buyer.post("/api/v1/payments/escrows/%s/release" % ref)
        self.assertEqual(self.balances(seller, shop)["available"], 6650)
        after = self.op.post(url, {"amount": CNY(7000), "reason": "returned"})
        self.assertEqual(after.status, 201, after)
        self.assertEqual(after.json["commission_share"]["amount"], 350)
        self.assertEqual(self.balances(seller, shop)["available"], 0)
        self.verify_ledger()

    def test_wallet_top_up_and_pay_from_the_wallet(self):
        _, shop = self.new_merchant()
        buyer = self.new_user("buyer")
        top = buyer.post("/api/v1/payments/intents", {"purpose": "wallet_topup",
                                                      "amount": CNY(5000),
                                                      "reference": "topup-%d" % self.next_n()})
        self.assertEqual(top.status, 201, top)
        c = buyer.post("/api/v1/payments/intents/%s/confirm" % top.json["id"], {"channel": "qr"})
        self.assertTrue(c.json["qr_code"])
        self.pay_at_cashier(c.json)
        self.wait_status(buyer, top.json["id"], "succeeded")
        self.assertEqual(buyer.get("/api/v1/me/wallet").json["balance"]["amount"], 5000)
        i = self.intent(buyer, [("ord-w-%d" % self.next_n(), shop, 4000)])
        paid = buyer.post("/api/v1/payments/intents/%s/confirm" % i["id"], {"channel": "wallet"})
        self.assertEqual((paid.status, paid.json["status"]), (200, "succeeded"), paid)
        j = self.intent(buyer, [("ord-w-%d" % self.next_n(), shop, 4000)])
        broke = buyer.post("/api/v1/payments/intents/%s/confirm" % j["id"], {"channel": "wallet"})
        self.assertEqual(broke.code, "insufficient_funds")
        self.assertEqual(buyer.get("/api/v1/me/wallet").json["balance"]["amount"], 1000)

    def test_concurrent_confirmations_do_not_wait_on_each_other(self):
        # Confirming calls the gateway from the CPU pool; the built-in gateway must answer
        # without that pool, or concurrent confirmations deadlock until the client timeout.
        import concurrent.futures
        _, shop = self.new_merchant()
        buyers = [self.new_user("buyer") for _ in range(6)]
        intents = [self.intent(b, [("ord-c-%d" % self.next_n(), shop, 100)]) for b in buyers]

        def confirm(k):
            started = time.monotonic()
            r = buyers[k].post("/api/v1/payments/intents/%s/confirm" % intents[k]["id"],
                               {"channel": "card"})
            return r.status, time.monotonic() - started
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            results = list(pool.map(confirm, range(6)))
        self.assertEqual([s for s, _ in results], [200] * 6, results)
        self.assertLess(max(t for _, t in results), 5.0, results)

    def test_intent_validation_and_access(self):
        _, shop = self.new_merchant()
        _, pending_shop = self.new_merchant(account_no=None)
        buyer, other = self.new_user("buyer"), self.new_user("buyer")
        bad = buyer.post("/api/v1/payments/intents", {
            "amount": CNY(100), "reference": "r", "splits": [
                {"reference": "x", "payee_org_id": shop["id"], "amount": CNY(99)}]})
        self.assertEqual((bad.status, bad.json["field"]), (400, "/splits"))
        bad = buyer.post("/api/v1/payments/intents", {"amount": {"amount": 1.5, "currency": "CNY"},
                                                      "reference": "r", "payee_org_id": shop["id"]})
        self.assertEqual(bad.status, 400)
        i = self.intent(buyer, [("ord-v-%d" % self.next_n(), shop, 100)])
        self.assertEqual(other.get("/api/v1/payments/intents/%s" % i["id"]).status, 404)
        self.assertEqual(other.post("/api/v1/payments/intents/%s/confirm" % i["id"],
                                    {"channel": "card"}).status, 404)
        self.assertEqual(buyer.post("/api/v1/payments/intents/%s/cancel" % i["id"]).json["status"],
                         "cancelled")
        self.assertEqual(buyer.post("/api/v1/payments/intents/%s/confirm" % i["id"],
                                    {"channel": "card"}).code, "invalid_state")


class SettlementTest(unittest.TestCase):
    """Settlement and reconciliation need a day to be over: the server runs with its clock,
    then the CLI runs a day later (clock_offset_s)."""

    def test_settle_twice_and_reconcile_a_day_with_every_kind_of_difference(self):
        server = Server(settings={"pay_worker_interval_ms": "50",
                                  "simulator_notify_retry_ms": "50",
                                  "simulator_faults": "true",
                                  "pay_reserve_ppm": "10000", "pay_payout_fee": "200"})
        self.addCleanup(server.cleanup)
        server.admin_create("operator@example.com", "operator")
        server.start()
        helper = PaymentsTest("test_intent_validation_and_access")
        helper.server = server
        helper.op = server.login("operator@example.com", ADMIN_PASSWORD)
        PaymentsTest.n = 100
        seller, shop = helper.new_merchant()
        _, closed_shop = helper.new_merchant(account_no="6228480000000004")
        buyer = helper.new_user("buyer")
        payments = []
        for k in range(5):
            i = helper.paid_intent(buyer, [("ord-s-%d" % k, shop, 10000 + k)])
            payments.append(i)
            buyer.post("/api/v1/payments/escrows/ord-s-%d/release" % k)
        helper.paid_intent(buyer, [("ord-s-closed", closed_shop, 5000)])
        buyer.post("/api/v1/payments/escrows/ord-s-closed/release")
        day = today_in_shanghai()
        # Faults on the channel's statement: one of each kind.
        for fault, intent in (("drop", payments[0]), ("amount", payments[1]),
                              ("fee", payments[2]), ("shift", payments[3]), ("extra", None)):
            body = {"date": day, "kind": fault}
            if intent:
                body["out_trade_no"] = intent["id"]
            if fault == "shift":
                body["direction"] = "next"
            r = server.client().post("/sim/admin/statement-faults", body)
            self.assertIn(r.status, (200, 201), r)
        run = helper.op.post("/api/v1/reconciliations", {"channel": "card", "date": day})
        self.assertEqual(run.status, 201, run)
        counts = run.json["counts"]
        self.assertEqual((counts.get("platform_only"), counts.get("amount_mismatch"),
                          counts.get("fee_mismatch"), counts.get("channel_only")),
                         (1, 1, 1, 1), counts)
        items = helper.op.get("/api/v1/reconciliations/%s/items?kind=differences" %
                              run.json["id"]).json["items"]
        for item in items:
            r = helper.op.post("/api/v1/reconciliations/items/%s/resolve" % item["id"],
                               {"reason": "checked with the channel"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(helper.op.post(
                "/api/v1/reconciliations/items/%s/resolve" % item["id"],
                {"reason": "again"}).code, "invalid_state")
        server.stop()

        def settle():
            return subprocess.run(
                [JISHI, "settle", "--date", day, "--data-dir", server.data_dir,
                 "--set", "clock_offset_s=86400", "--set", "pay_reserve_ppm=10000",
                 "--set", "pay_payout_fee=200"], capture_output=True, text=True)
        out = settle()
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("2 new batches", out.stdout)
        again = settle()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("0 new batches, 2 already settled", again.stdout)
        path = os.path.join(server.data_dir, "settlements", "settlement-%s.csv" % day)
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 3)
        gross = sum(10000 + k for k in range(5)) * 95 // 100  # released net of 5% commission
        with sqlite3.connect(os.path.join(server.data_dir, "jishi.db")) as db:
            statuses = dict(db.execute("SELECT org_id, status FROM pay_payouts").fetchall())
        self.assertEqual(statuses[int(shop["id"])], "paid")
        self.assertEqual(statuses[int(closed_shop["id"])], "bounced")
        out = subprocess.run([JISHI, "verify", "ledger", "--data-dir", server.data_dir],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertGreater(gross, 0)


if __name__ == "__main__":
    unittest.main()
