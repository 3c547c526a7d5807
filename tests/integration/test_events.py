"""Webhooks and the event pull API over HTTP: a real receiver (Python http.server) checks the
HMAC signature of every delivery; a failing endpoint is retried until it answers 2xx; a slow
endpoint delays neither API requests nor other endpoints; ERPs page through events by cursor."""
import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

from harness import ADMIN_PASSWORD, Server, uscc, wait_until


class Receiver:
    """An HTTP endpoint recording what it receives; `plan` answers per request (status or sleep)."""

    def __init__(self, plan=None, delay_s=0.0):
        self.received = []
        self.plan = list(plan or [])
        self.delay_s = delay_s
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                status = outer.plan.pop(0) if outer.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hooks" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def verify(secret, headers, body):
    t, v1 = (part.split("=", 1)[1] for part in headers["Jishi-Signature"].split(","))
    expected = hmac.new(secret.encode(), (t + ".").encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) < 300


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(settings={"events_worker_interval_ms": "50", "webhook_timeout_ms": "30000"})
        cls.server.admin_create("operator@example.com", "operator")
        cls.server.start()
        op = cls.server.login("operator@example.com", ADMIN_PASSWORD)
        cls.seller, _ = cls.server.register("hooks@example.com")
        r = cls.seller.post("/api/v1/orgs", {"kind": "merchant", "name": "钩子商店", "credit_code": uscc(9101)})
        cls.org = op.post("/api/v1/orgs/%s/approve" % r.json["id"], {"note": "ok"}).json

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def hook(self, url, types=("*",)):
        r = self.seller.post("/api/v1/orgs/%s/webhooks" % self.org["id"], {"url": url, "event_types": list(types)})
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["secret"].startswith("whsec_"))
        return r.json

    def test_signed_delivery_retried_until_accepted_with_every_attempt_logged(self):
        rx = Receiver(plan=[500, 503, 200])
        try:
            w = self.hook(rx.url)
            ping = self.seller.post("/api/v1/orgs/%s/webhooks/%s/test" % (self.org["id"], w["id"]))
            self.assertEqual(ping.status, 202, ping)
            deliveries = "/api/v1/orgs/%s/webhooks/%s/deliveries" % (self.org["id"], w["id"])
            wait_until(lambda: self.seller.get(deliveries).json["items"][0]["attempts"] >= 1, what="first attempt")
            d = self.seller.get(deliveries).json["items"][0]
            self.assertEqual((d["status"], d["last_status_code"]), ("pending", 500))
            # The merchant presses "retry" rather than wait for the backoff, twice.
            for expected in (2, 3):
                r = self.seller.post(deliveries + "/%s/retry" % d["id"])
                self.assertEqual(r.status, 202, r)
                wait_until(lambda: len(rx.received) >= expected, timeout=30, what="attempt %d" % expected)
            final = wait_until(lambda: (lambda x: x if x["status"] == "succeeded" else None)(
                self.seller.get(deliveries).json["items"][0]), timeout=60, what="delivery")
            self.assertEqual([a["status_code"] for a in final["log"]], [500, 503, 200])
            for headers, body in rx.received:
                self.assertTrue(verify(w["secret"], headers, body))
                event = json.loads(body)
                self.assertEqual((event["type"], headers["Jishi-Event-Type"]), ("webhook.ping", "webhook.ping"))
            forged = dict(rx.received[0][0], **{"Jishi-Signature": "t=%d,v1=%s" % (time.time(), "0" * 64)})
            self.assertFalse(verify(w["secret"], forged, rx.received[0][1]))
        finally:
            rx.close()

    def test_a_slow_endpoint_blocks_neither_requests_nor_other_endpoints(self):
        slow, fast = Receiver(delay_s=8), Receiver()
        try:
            ws, wf = self.hook(slow.url), self.hook(fast.url)
            self.seller.post("/api/v1/orgs/%s/webhooks/%s/test" % (self.org["id"], ws["id"]))
            wait_until(lambda: slow.received, what="the slow endpoint to be called")
            started = time.time()
            self.assertEqual(self.seller.get("/api/v1/orgs/%s" % self.org["id"]).status, 200)
            self.assertLess(time.time() - started, 2)
            self.seller.post("/api/v1/orgs/%s/webhooks/%s/test" % (self.org["id"], wf["id"]))
            wait_until(lambda: fast.received, timeout=5, what="the fast endpoint, while the slow one hangs")
        finally:
            slow.close()
            fast.close()

    def test_events_are_pulled_in_order_by_cursor_and_only_by_their_org(self):
        w = self.hook("http://127.0.0.1:9/unreachable")
        for _ in range(5):
            self.seller.post("/api/v1/orgs/%s/webhooks/%s/test" % (self.org["id"], w["id"]))
        seen, cursor = [], None
        while True:
            q = "?limit=2" + ("&after=%s" % cursor if cursor else "")
            page = self.seller.get("/api/v1/orgs/%s/events%s" % (self.org["id"], q)).json
            seen += [e["id"] for e in page["items"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        self.assertGreaterEqual(len(seen), 5)
        self.assertEqual(seen, sorted(seen, key=int))
        self.assertEqual(len(set(seen)), len(seen))
        stranger, _ = self.server.register("stranger@example.com")
        self.assertEqual(stranger.get("/api/v1/orgs/%s/events" % self.org["id"]).status, 404)
        bad = self.seller.post("/api/v1/orgs/%s/webhooks" % self.org["id"], {"url": "ftp://x", "event_types": ["*"]})
        self.assertEqual((bad.status, bad.code), (400, "validation_failed"))


if __name__ == "__main__":
    unittest.main()
