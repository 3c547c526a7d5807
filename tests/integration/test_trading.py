"""Trading end to end over HTTP: catalog → cart → checkout across merchants → payment through the
channel simulator → shipment → receipt → escrow released net of commission → rating; stock under
200 concurrent buyers; the unpaid timeout and auto-confirmation as durable jobs across a restart
with the clock moved; bad input that changes nothing. `jishi verify ledger` and `jishi verify
stock` must pass afterwards."""
import concurrent.futures
import json
import subprocess
import threading
import time
import unittest
import urllib.parse
import uuid

from harness import ADMIN_PASSWORD, JISHI, Server, resident_id, uscc, wait_until
from test_events import Receiver, verify

CNY = lambda amount: {"amount": amount, "currency": "CNY"}  # noqa: E731
FREIGHT = 800
ADDRESS = {"recipient": "李雷", "phone": "13800138000", "region_code": "330106",
           "detail": "文三路 90 号 5 幢 302 室", "postal_code": "310012"}


def token():
    return uuid.uuid4().hex


class Market:
    """Shared set-up: operators, merchants with products, buyers — all through the public API."""

    def __init__(self, server):
        self.server = server
        self.n = 0
        self.op = server.login("operator@example.com", ADMIN_PASSWORD)
        self.category = None

    def next_n(self):
        self.n += 1
        return self.n

    def user(self, prefix="buyer"):
        client, user = self.server.register("%s%d-%s@trade.example.com" % (prefix, self.next_n(),
                                                                          uuid.uuid4().hex[:6]))
        return client, user

    def merchant(self):
        seller, _ = self.user("seller")
        r = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "商户%d" % self.next_n(),
                                         "credit_code": uscc(7000 + self.next_n())})
        assert r.status == 201, r
        org = self.op.post("/api/v1/orgs/%s/approve" % r.json["id"], {"note": "ok"}).json
        return seller, org

    # --- catalog ------------------------------------------------------------------------------
    def ensure_category(self):
        if self.category is None:
            r = self.op.post("/api/v1/categories", {"code": "shoes-%d" % self.next_n(),
                                                    "name": "运动鞋"})
            assert r.status == 201, r
            self.category = r.json
        return self.category

    def product(self, seller, org, title, price, stock, specs=None):
        """A listed product with one SKU per spec and `stock` units each; returns the SKU ids."""
        cat = self.ensure_category()
        specs = specs or [{"颜色": "白色"}]
        body = {"title": title, "category_id": cat["id"],
                "skus": [{"spec": s, "price": CNY(price)} for s in specs]}
        r = seller.post("/api/v1/orgs/%s/products" % org["id"], body)
        assert r.status == 201, r
        product = r.json
        skus = [s["id"] for s in product["skus"]]
        for sku in skus:
            s = seller.request("PUT", "/api/v1/skus/%s/stock" % sku, {"on_hand": stock})
            assert s.status == 200, s
        listed = seller.post("/api/v1/products/%s/list" % product["id"])
        assert listed.status == 200, listed
        # The product page, for anyone: the shop's name comes with it.
        page = self.server.client().get("/api/v1/products/%s" % product["id"])
        assert (page.status, page.json["seller_name"]) == (200, org["name"]), page
        return product, skus

    def set_price(self, seller, sku, price):
        r = seller.request("PATCH", "/api/v1/skus/%s" % sku, {"price": CNY(price)})
        assert r.status == 200, r

    def take_down(self, product):
        r = self.op.post("/api/v1/products/%s/takedown" % product["id"], {"reason": "假冒商品"})
        assert r.status == 200, r

    # --- payment ------------------------------------------------------------------------------
    def pay_by_card(self, buyer, checkout):
        intent = checkout["payment_intent"]
        c = buyer.post("/api/v1/payments/intents/%s/confirm" % intent["id"], {"channel": "card"})
        assert (c.status, c.json["status"]) == (200, "processing"), c
        url = urllib.parse.urlparse(c.json["cashier_url"])
        form = {"result": "success", "card_number": "6222020200001111"}
        r = self.server.client().request("POST", url.path, raw=urllib.parse.urlencode(form).encode(),
                                         content_type="application/x-www-form-urlencoded")
        assert r.status in (200, 303), r

    def wait_order(self, client, order_id, status):
        def check():
            r = client.get("/api/v1/orders/%s" % order_id)
            return r.json if r.json["status"] == status else None
        return wait_until(check, what="order %s to be %s" % (order_id, status))

    def stock(self, seller, sku):
        r = seller.get("/api/v1/skus/%s/stock" % sku)
        assert r.status == 200, r
        return r.json

    def settled_stock(self, seller, sku, want, timeout=5.0):
        """The SKU's stock once (on_hand, reserved, available) == want. Under load the server
        defers reservations and folds them into the stock row about once a second, and within
        0.1 s once idle (docs/trading.md), so a reader may see them that much later."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stock(seller, sku)
            if (st["on_hand"], st["reserved"], st["available"]) == want or time.monotonic() > deadline:
                return st
            time.sleep(0.02)

    def verify(self, what):
        out = subprocess.run([JISHI, "verify", what, "--data-dir", self.server.data_dir],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout


class TradingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(settings={"pay_worker_interval_ms": "50",
                                      "simulator_notify_retry_ms": "50",
                                      "events_worker_interval_ms": "50"})
        cls.server.admin_create("operator@example.com", "operator")
        cls.server.admin_create("regulator@example.com", "regulator")
        cls.server.start()
        cls.m = Market(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_a_second_server_on_the_same_database_refuses_to_start(self):
        # The running server's writer holds reservations that another could not see.
        out = subprocess.run([JISHI, "serve", "--data-dir", self.server.data_dir,
                              "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("another jishi server is running", out.stderr + out.stdout)
        # The first is unaffected, and the read-only verbs still run beside it.
        self.assertEqual(self.server.client(None).get("/healthz").status, 200)
        self.m.verify("stock")

    def test_checkout_over_three_merchants_pay_ship_confirm_release_rate(self):
        m = self.m
        shops = [m.merchant() for _ in range(3)]
        skus = []
        for i, (seller, org) in enumerate(shops):
            _, s = m.product(seller, org, "跑步鞋 款%d" % i, 10000 + i * 1000, 10)
            skus.append(s[0])
        buyer, user = m.user()
        a = buyer.post("/api/v1/me/addresses", ADDRESS)
        self.assertEqual(a.status, 201, a)
        self.assertEqual(a.json["region"], "浙江省 杭州市 西湖区")
        for sku in skus:
            self.assertEqual(buyer.post("/api/v1/cart/items", {"sku_id": sku, "quantity": 2}).status, 201)
        self.assertEqual(buyer.post("/api/v1/cart/items", {"sku_id": skus[0], "quantity": 1}).status, 201)
        cart = buyer.get("/api/v1/cart").json
        self.assertEqual(len(cart["groups"]), 3)
        self.assertEqual(cart["items_total"], CNY(3 * 10000 + 2 * 11000 + 2 * 12000))

        body = {"checkout_token": token(), "address_id": a.json["id"], "from_cart": True}
        r = buyer.post("/api/v1/checkouts", body)
        self.assertEqual(r.status, 201, r)
        checkout = r.json
        self.assertEqual(len(checkout["orders"]), 3)
        totals = [o["total"]["amount"] for o in checkout["orders"]]
        self.assertEqual(totals, [30000 + FREIGHT, 22000 + FREIGHT, 24000 + FREIGHT])
        self.assertEqual(checkout["payment_intent"]["amount"], CNY(sum(totals)))
        self.assertEqual([s["reference"] for s in checkout["payment_intent"]["splits"]],
                         [o["id"] for o in checkout["orders"]])
        self.assertEqual(buyer.get("/api/v1/cart").json["line_count"], 0)
        # The intent stores no split rows: read back, its splits are made from the orders.
        read = buyer.get("/api/v1/payments/intents/%s" % checkout["payment_intent"]["id"])
        self.assertEqual(read.status, 200, read)
        self.assertEqual(read.json["splits"], checkout["payment_intent"]["splits"])
        self.assertEqual(sorted((s["reference"], s["payee_org_id"], s["amount"]["amount"]) for s in read.json["splits"]),
                         sorted((o["id"], o["seller_org_id"], o["total"]["amount"]) for o in checkout["orders"]))
        # While the checkout's intent is open, no other intent may take one of its orders.
        o = checkout["orders"][0]
        other = buyer.post("/api/v1/payments/intents", {
            "amount": CNY(100), "reference": "erp-%s" % token(),
            "splits": [{"reference": o["id"], "payee_org_id": o["seller_org_id"], "amount": CNY(100)}]})
        self.assertEqual((other.status, other.code), (409, "conflict"), other)
        # A double submit makes no second set of orders.
        again = buyer.post("/api/v1/checkouts", body)
        self.assertEqual((again.status, again.json["id"]), (200, checkout["id"]))
        self.assertEqual(m.stock(shops[0][0], skus[0])["reserved"], 3)

        m.pay_by_card(buyer, checkout)
        for o in checkout["orders"]:
            m.wait_order(buyer, o["id"], "paid")
        st = m.stock(shops[0][0], skus[0])
        self.assertEqual((st["on_hand"], st["reserved"]), (7, 0))

        for (seller, org), o in zip(shops, checkout["orders"]):
            self.assertEqual(seller.get("/api/v1/orgs/%s/orders?status=paid" % org["id"]).json["items"][0]["id"], o["id"])
            s = seller.post("/api/v1/orders/%s/ship" % o["id"], {"carrier": "SF", "tracking_no": "SF1234567890"})
            self.assertEqual((s.status, s.json["status"]), (200, "shipped"), s)
            # The buyer's receipt confirms and releases escrow net of 5% commission.
            c = buyer.post("/api/v1/orders/%s/confirm" % o["id"])
            self.assertEqual((c.status, c.json["status"]), (200, "completed"), c)
            bal = seller.get("/api/v1/orgs/%s/balances" % org["id"]).json
            total = o["total"]["amount"]
            self.assertEqual(bal["available"]["amount"], total - total * 5 // 100)
            self.assertEqual(bal["pending"]["amount"], 0)
        detail = buyer.get("/api/v1/orders/%s" % checkout["orders"][0]["id"]).json
        self.assertEqual([e["type"] for e in detail["timeline"]],
                         ["created", "paid", "shipped", "completed"])
        # The creation is the order row itself: by the buyer, at the order's creation.
        created = detail["timeline"][0]
        self.assertEqual((created["actor_id"], created["at"]), (detail["buyer_id"], detail["created_at"]))

        # Rate: once per order, editable; aggregated on the seller.
        rate = buyer.post("/api/v1/orders/%s/rating" % checkout["orders"][0]["id"],
                          {"described": 5, "service": 4, "shipping": 3, "text": "鞋很舒服"})
        self.assertEqual(rate.status, 201, rate)
        edit = buyer.post("/api/v1/orders/%s/rating" % checkout["orders"][0]["id"],
                          {"described": 4, "service": 4, "shipping": 4, "text": "改一下"})
        self.assertEqual(edit.status, 200, edit)
        summary = m.server.client().get("/api/v1/orgs/%s/ratings" % shops[0][1]["id"]).json
        self.assertEqual(summary["summary"]["count"], 1)
        self.assertEqual(summary["summary"]["described"], 4)
        other, _ = m.user()
        self.assertEqual(other.post("/api/v1/orders/%s/rating" % checkout["orders"][1]["id"],
                                    {"described": 1, "service": 1, "shipping": 1}).status, 404)
        m.verify("ledger")
        m.verify("stock")

    def test_a_checkout_under_an_idempotency_key_replays_the_reply_it_stored(self):
        # The checkout's reply is rendered after the write is durable, on an I/O thread; under an
        # Idempotency-Key it must be rendered in the write instead, since it is stored there.
        m = self.m
        seller, org = m.merchant()
        _, skus = m.product(seller, org, "保温杯", 8800, 10)
        buyer, _ = m.user()
        body = {"checkout_token": token(), "address": ADDRESS,
                "lines": [{"sku_id": skus[0], "quantity": 2}]}
        key = "checkout-" + token()
        first = buyer.post("/api/v1/checkouts", body, key=key)
        self.assertEqual(first.status, 201, first)
        self.assertEqual(first.json["orders"][0]["total"]["amount"], 2 * 8800 + FREIGHT)
        again = buyer.post("/api/v1/checkouts", body, key=key)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json, first.json)
        self.assertEqual(m.stock(seller, skus[0])["reserved"], 2)
        # Without the key the same token answers 200 with the same checkout, rendered afresh.
        plain = buyer.post("/api/v1/checkouts", body)
        self.assertEqual((plain.status, plain.json["id"]), (200, first.json["id"]))
        self.assertEqual(plain.json["orders"], first.json["orders"])

    def test_the_seller_pulls_order_created_with_the_order_as_created(self):
        # order.created stores nothing: the order row is the event (its id the order's), its
        # data made from the order when read, as the order was when created, also after the
        # order moved on. The seller's webhook receives it, signed.
        m = self.m
        seller, org = m.merchant()
        _, skus = m.product(seller, org, "茶杯", 1200, 10)
        rx = Receiver()
        self.addCleanup(rx.close)
        hook = seller.post("/api/v1/orgs/%s/webhooks" % org["id"], {"url": rx.url, "event_types": ["order.created"]})
        self.assertEqual(hook.status, 201, hook)
        buyer, _ = m.user()
        r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                             "lines": [{"sku_id": skus[0], "quantity": 3}]})
        self.assertEqual(r.status, 201, r)
        order = r.json["orders"][0]

        def created():
            page = seller.get("/api/v1/orgs/%s/events?type=order.created" % org["id"])
            self.assertEqual(page.status, 200, page)
            [event] = page.json["items"]
            self.assertEqual((event["id"], event["subject"]), (order["id"], order["id"]))
            return event["data"]

        expected = {"order_id": order["id"], "checkout_id": r.json["id"],
                    "status": "pending_payment", "payment_status": "unpaid",
                    "fulfillment_status": "unfulfilled",
                    "total": {"amount": 3 * 1200 + FREIGHT, "currency": "CNY"},
                    "refunded": {"amount": 0, "currency": "CNY"},
                    "lines": [{"sku_id": skus[0], "quantity": 3}]}
        self.assertEqual(created(), expected)
        wait_until(lambda: rx.received, timeout=30, what="the order.created delivery")
        headers, body = rx.received[0]
        self.assertTrue(verify(hook.json["secret"], headers, body))
        delivered = json.loads(body)
        self.assertEqual((delivered["type"], delivered["id"], delivered["org_id"]), ("order.created", order["id"], org["id"]))
        self.assertEqual(delivered["data"], expected)
        cancel = buyer.post("/api/v1/orders/%s/cancel" % order["id"], {"reason": "changed_mind"})
        self.assertEqual(cancel.status, 200, cancel)
        self.assertEqual(created(), expected)

    def test_two_hundred_buyers_race_for_fifty_units(self):
        m = self.m
        seller, org = m.merchant()
        _, skus = m.product(seller, org, "秒杀 手机", 99900, 50)
        buyers = [m.user()[0] for _ in range(200)]
        barrier = threading.Barrier(len(buyers))

        def buy(client):
            barrier.wait()
            r = client.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                                  "lines": [{"sku_id": skus[0], "quantity": 1}]})
            return r.status, r.code
        with concurrent.futures.ThreadPoolExecutor(len(buyers)) as pool:
            results = list(pool.map(buy, [m.server.client(b.token) for b in buyers]))
        self.assertEqual(sum(1 for s, _ in results if s == 201), 50, results)
        self.assertEqual(sum(1 for s, c in results if s == 409 and c == "insufficient_stock"), 150, results)
        st = m.settled_stock(seller, skus[0], (50, 50, 0))
        self.assertEqual((st["on_hand"], st["reserved"], st["available"]), (50, 50, 0))
        self.assertEqual(len(seller.get("/api/v1/orgs/%s/orders?limit=100" % org["id"]).json["items"]), 50)
        m.verify("stock")

    def test_bad_input_is_refused_and_writes_nothing(self):
        m = self.m
        seller, org = m.merchant()
        product, skus = m.product(seller, org, "帆布鞋", 5000, 5)
        gone, gone_skus = m.product(seller, org, "仿冒鞋", 5000, 5)
        m.take_down(gone)
        buyer, _ = m.user()

        def checkout(lines, address=ADDRESS, tok=None):
            return buyer.post("/api/v1/checkouts", {"checkout_token": tok or token(),
                                                    "address": address, "lines": lines})
        cases = [
            (checkout([{"sku_id": "999999999", "quantity": 1}]), 404, "not_found", "/lines/0/sku_id"),
            (checkout([{"sku_id": skus[0], "quantity": -1}]), 400, "validation_failed", "/lines/0/quantity"),
            (checkout([{"sku_id": skus[0], "quantity": 6}]), 409, "insufficient_stock", None),
            (checkout([{"sku_id": skus[0], "quantity": 1, "unit_price": CNY(4000)}]), 409, "price_changed", "/lines/0/sku_id"),
            (checkout([{"sku_id": skus[0], "quantity": 1}], dict(ADDRESS, region_code="339999")), 400, "validation_failed", "/address/region_code"),
            (checkout([{"sku_id": gone_skus[0], "quantity": 1}]), 409, "invalid_state", "/lines/0/sku_id"),
            (checkout([{"sku_id": skus[0], "quantity": 1}], tok="short"), 400, "validation_failed", "/checkout_token"),
        ]
        for r, status, code, field in cases:
            self.assertEqual((r.status, r.code), (status, code), r)
            if field:
                self.assertEqual(r.json.get("field"), field, r)
        # Another merchant may not touch this seller's stock or ship its orders.
        other, _ = m.merchant()
        self.assertEqual(other.request("PUT", "/api/v1/skus/%s/stock" % skus[0], {"on_hand": 0}).status, 403)
        # A price change after carting is caught at checkout.
        self.assertEqual(buyer.post("/api/v1/cart/items", {"sku_id": skus[0], "quantity": 1}).status, 201)
        m.set_price(seller, skus[0], 5500)
        r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS, "from_cart": True})
        self.assertEqual((r.status, r.code), (409, "price_changed"), r)
        self.assertTrue(buyer.get("/api/v1/cart").json["groups"][0]["lines"][0]["price_changed"])
        # Nothing was written: no orders, nothing reserved.
        self.assertEqual(buyer.get("/api/v1/me/orders").json["items"], [])
        self.assertEqual(m.stock(seller, skus[0])["reserved"], 0)
        # Seeing the new price (PUT refreshes it) makes the checkout go through.
        self.assertEqual(buyer.request("PUT", "/api/v1/cart/items/%s" % skus[0], {"quantity": 1}).status, 200)
        r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS, "from_cart": True})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["orders"][0]["items_total"], CNY(5500))
        # A takedown after checkouts of the SKU is seen by the next one (the writer keeps offers
        # in memory; the change empties its cache).
        m.take_down(product)
        r = checkout([{"sku_id": skus[0], "quantity": 1}])
        self.assertEqual((r.status, r.code), (409, "invalid_state"), r)
        m.verify("stock")

    def test_refund_before_shipment_and_return_after(self):
        m = self.m
        seller, org = m.merchant()
        _, skus = m.product(seller, org, "登山鞋", 20000, 10)
        buyer, _ = m.user()
        orders = []
        for _ in range(2):
            r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                                 "lines": [{"sku_id": skus[0], "quantity": 2}]})
            self.assertEqual(r.status, 201, r)
            m.pay_by_card(buyer, r.json)
            orders.append(m.wait_order(buyer, r.json["orders"][0]["id"], "paid"))
        self.assertEqual(m.stock(seller, skus[0])["on_hand"], 6)
        # Before shipment: refunded at once, restocked, closed.
        r = buyer.post("/api/v1/orders/%s/refund" % orders[0]["id"], {"reason": "不想要了"})
        self.assertEqual((r.status, r.json["status"], r.json["payment_status"]), (200, "closed", "refunded"), r)
        self.assertEqual(m.stock(seller, skus[0])["on_hand"], 8)
        # After shipment: return requested, approved, shipped back, received → refunded.
        seller.post("/api/v1/orders/%s/ship" % orders[1]["id"], {"carrier": "YTO", "tracking_no": "YT100"})
        self.assertEqual(buyer.post("/api/v1/orders/%s/refund" % orders[1]["id"]).code, "invalid_state")
        ret = buyer.post("/api/v1/orders/%s/returns" % orders[1]["id"], {"reason": "尺码不合适"})
        self.assertEqual(ret.status, 201, ret)
        self.assertEqual(buyer.post("/api/v1/orders/%s/confirm" % orders[1]["id"]).code, "invalid_state")
        rid = ret.json["id"]
        self.assertEqual(buyer.post("/api/v1/after-sales/%s/approve" % rid).status, 404)
        # The seller center's queue: the open request, with the order's status; others see 404.
        queue = seller.get("/api/v1/orgs/%s/after-sales?status=open" % org["id"])
        self.assertEqual(queue.status, 200, queue)
        self.assertEqual([(a["id"], a["status"], a["order_status"], a["amount"]["amount"])
                          for a in queue.json["items"]],
                         [(rid, "requested", "shipped", orders[1]["total"]["amount"])])
        self.assertEqual(buyer.get("/api/v1/orgs/%s/after-sales" % org["id"]).status, 404)
        self.assertEqual(seller.get("/api/v1/orgs/%s/after-sales?status=bogus" % org["id"]).code,
                         "validation_failed")
        self.assertEqual(seller.post("/api/v1/after-sales/%s/approve" % rid).json["status"], "approved")
        back = buyer.post("/api/v1/after-sales/%s/ship-back" % rid, {"carrier": "SF", "tracking_no": "SF777"})
        self.assertEqual(back.json["status"], "returning", back)
        got = seller.post("/api/v1/after-sales/%s/receive" % rid)
        self.assertEqual(got.json["status"], "refunded", got)
        self.assertEqual(seller.get("/api/v1/orgs/%s/after-sales?status=open" % org["id"]).json["items"], [])
        done = seller.get("/api/v1/orgs/%s/after-sales?limit=1" % org["id"]).json
        self.assertEqual([a["status"] for a in done["items"]], ["refunded"])
        o = buyer.get("/api/v1/orders/%s" % orders[1]["id"]).json
        self.assertEqual((o["status"], o["fulfillment_status"], o["refunded"]["amount"]),
                         ("closed", "returned", o["total"]["amount"]))
        self.assertEqual(m.stock(seller, skus[0])["on_hand"], 10)
        bal = seller.get("/api/v1/orgs/%s/balances" % org["id"]).json
        self.assertEqual((bal["pending"]["amount"], bal["available"]["amount"]), (0, 0))
        m.verify("ledger")
        m.verify("stock")

    def test_cancelling_one_order_of_a_checkout_leaves_the_other_payable(self):
        m = self.m
        (s1, o1), (s2, o2) = m.merchant(), m.merchant()
        _, a = m.product(s1, o1, "拖鞋", 1500, 3)
        _, b = m.product(s2, o2, "袜子", 900, 3)
        buyer, _ = m.user()
        r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                             "lines": [{"sku_id": a[0], "quantity": 1},
                                                       {"sku_id": b[0], "quantity": 1}]})
        self.assertEqual(r.status, 201, r)
        first, second = r.json["orders"]
        c = buyer.post("/api/v1/orders/%s/cancel" % first["id"], {"reason": "买错了"})
        self.assertEqual(c.json["status"], "cancelled", c)
        self.assertEqual(m.stock(s1, a[0])["available"], 3)
        checkout = buyer.get("/api/v1/checkouts/%s" % r.json["id"]).json
        self.assertNotEqual(checkout["payment_intent"]["id"], r.json["payment_intent"]["id"])
        self.assertEqual(checkout["payment_intent"]["amount"], second["total"])
        m.pay_by_card(buyer, checkout)
        m.wait_order(buyer, second["id"], "paid")
        self.assertEqual(buyer.get("/api/v1/orders/%s" % first["id"]).json["status"], "cancelled")
        m.verify("ledger")

    def test_an_individual_seller_sells_after_real_name_verification(self):
        m = self.m
        person, _ = m.user("c2c")
        r = person.post("/api/v1/orgs", {"kind": "individual", "name": "小王的二手店"})
        self.assertEqual((r.status, r.code), (403, "forbidden"), r)
        v = person.post("/api/v1/me/real-name", {"name": "王小明", "resident_id": resident_id(4242)})
        self.assertEqual(v.status, 200, v)
        r = person.post("/api/v1/orgs", {"kind": "individual", "name": "小王的二手店"})
        self.assertEqual((r.status, r.json["status"]), (201, "approved"), r)
        _, skus = m.product(person, r.json, "二手 自行车", 30000, 1)
        buyer, _ = m.user()
        c = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                             "lines": [{"sku_id": skus[0], "quantity": 1}]})
        self.assertEqual(c.status, 201, c)
        m.pay_by_card(buyer, c.json)
        m.wait_order(buyer, c.json["orders"][0]["id"], "paid")


class TimersTest(unittest.TestCase):
    """Durable timers: jobs survive a restart and run when the (moved) clock says so."""

    def test_unpaid_orders_close_and_shipped_orders_auto_confirm_across_restarts(self):
        server = Server(settings={"pay_worker_interval_ms": "50", "simulator_notify_retry_ms": "50",
                                  "events_worker_interval_ms": "50"})
        try:
            server.admin_create("operator@example.com", "operator")
            server.start()
            m = Market(server)
            seller, org = m.merchant()
            _, skus = m.product(seller, org, "凉鞋", 3000, 5)
            buyer, buyer_user = m.user()
            seller_email = server.client(seller.token).get("/api/v1/me").json["user"]["email"]

            def checkout():
                r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                                     "lines": [{"sku_id": skus[0], "quantity": 2}]})
                self.assertEqual(r.status, 201, r)
                return r.json
            unpaid = checkout()
            paid = checkout()
            m.pay_by_card(buyer, paid)
            m.wait_order(buyer, paid["orders"][0]["id"], "paid")
            s = seller.post("/api/v1/orders/%s/ship" % paid["orders"][0]["id"],
                            {"carrier": "ZTO", "tracking_no": "ZT1"})
            self.assertEqual(s.status, 200, s)
            self.assertEqual(m.stock(seller, skus[0])["available"], 1)
            server.stop()

            # 31 minutes later: the unpaid order is closed and its stock is back.
            server.settings["clock_offset_s"] = str(31 * 60)
            server.start()
            m = Market(server)
            buyer = server.client(buyer.token)
            seller = server.client(seller.token)
            m.wait_order(buyer, unpaid["orders"][0]["id"], "cancelled")
            self.assertEqual(m.stock(seller, skus[0])["available"], 3)
            intent = buyer.get("/api/v1/payments/intents/%s" % unpaid["payment_intent"]["id"]).json
            self.assertEqual(intent["status"], "expired")
            self.assertEqual(buyer.get("/api/v1/orders/%s" % paid["orders"][0]["id"]).json["status"], "shipped")
            server.stop()

            # Eleven days later: receipt is confirmed automatically, escrow released. (The week-long
            # sessions have expired by then: sign in again.)
            server.settings["clock_offset_s"] = str(11 * 86400)
            server.start()
            buyer = server.login(buyer_user["email"], "password-123")
            seller = server.login(seller_email, "password-123")
            o = Market(server).wait_order(buyer, paid["orders"][0]["id"], "completed")
            total = o["total"]["amount"]
            bal = seller.get("/api/v1/orgs/%s/balances" % org["id"]).json
            self.assertEqual(bal["available"]["amount"], total - total * 5 // 100)
            timeline = [e["type"] for e in buyer.get("/api/v1/orders/%s" % o["id"]).json["timeline"]]
            self.assertEqual(timeline.count("completed"), 1)
            m.verify("ledger")
            m.verify("stock")
        finally:
            server.cleanup()

    def test_a_checkout_after_the_clock_went_back_never_takes_a_stored_intents_id(self):
        # A checkout's intent has no row until it changes: it is read under the checkout's id.
        # Were that id one a stored intent already had (the clock set back while jishi was
        # down), the checkout would read another's intent as its own: ids go on above them.
        server = Server(settings={"pay_worker_interval_ms": "50"})
        try:
            server.admin_create("operator@example.com", "operator")
            server.start()
            m = Market(server)
            seller, org = m.merchant()
            _, skus = m.product(seller, org, "雨伞", 2500, 5)
            buyer, buyer_user = m.user()
            other, _ = m.user()
            top = other.post("/api/v1/payments/intents", {"purpose": "wallet_topup",
                                                          "amount": CNY(7000),
                                                          "reference": "topup-late"})
            self.assertEqual(top.status, 201, top)
            server.stop()

            server.settings["clock_offset_s"] = str(-3600)
            server.start()
            buyer = server.login(buyer_user["email"], "password-123")
            r = buyer.post("/api/v1/checkouts", {"checkout_token": token(), "address": ADDRESS,
                                                 "lines": [{"sku_id": skus[0], "quantity": 1}]})
            self.assertEqual(r.status, 201, r)
            self.assertGreater(int(r.json["payment_intent"]["id"]), int(top.json["id"]))
            intent = buyer.get("/api/v1/payments/intents/%s" % r.json["payment_intent"]["id"])
            self.assertEqual(intent.status, 200, intent)
            self.assertEqual(intent.json["amount"], r.json["payment_intent"]["amount"])
            self.assertEqual(intent.json["status"], "requires_payment")
            self.assertEqual(buyer.get("/api/v1/checkouts/%s" % r.json["id"]).json
                             ["payment_intent"]["id"], r.json["payment_intent"]["id"])
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
