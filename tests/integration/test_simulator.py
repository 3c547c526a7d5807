"""The built-in gateway simulator served by the real jishi binary: its keys and database, the
signed protocol endpoint refusing bad signatures with a signed answer (checked with the openssl
CLI), the cashier page, and the fault-injection switch. The signed happy path (create, pay,
notify, refund, statements with faults) runs in C++ in src/paysim/simulator_test.cc, because
Python's standard library has no SM2 or RSA signing."""
import base64
import datetime
import http.server
import json
import os
import stat
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from harness import JISHI, Server, wait_until


class Receiver(http.server.ThreadingHTTPServer):
    """The platform's notify_url: records every delivery, refuses the first `refuse` ones."""

    def __init__(self, refuse=0):
        self.refuse = refuse
        self.accepted = []
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                with receiver.lock:
                    receiver.requests += 1
                    refuse = receiver.refuse > 0
                    if refuse:
                        receiver.refuse -= 1
                    else:
                        receiver.accepted.append(form)
                answer = b"fail" if refuse else b"success"
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/notify" % self.server_address[1]


def bogus_request(method="trade.query", sign_type="SM2"):
    return urllib.parse.urlencode({
        "app_id": "jishi", "method": method, "charset": "utf-8", "sign_type": sign_type,
        "timestamp": "2026-11-28 12:00:00", "version": "1.0",
        "biz_content": json.dumps({"out_trade_no": "X1"}), "sign": base64.b64encode(b"forged" * 12).decode(),
    }).encode()


class SimulatorTest(unittest.TestCase):
    def start(self, **settings):
        server = Server(settings)
        server.start()
        self.addCleanup(server.cleanup)
        return server

    def test_keys_and_database_are_created_once_and_kept(self):
        server = self.start()
        d = server.data_dir
        platform_key = os.path.join(d, "gateway", "platform_sm2.pem")
        gateway_pub = os.path.join(d, "simulator", "keys", "gateway_sm2.pub.pem")
        self.assertTrue(os.path.exists(os.path.join(d, "simulator", "simulator.db")))
        self.assertEqual(stat.S_IMODE(os.stat(platform_key).st_mode), 0o600)
        with open(gateway_pub) as f:
            before = f.read()
        self.assertIn("BEGIN PUBLIC KEY", before)
        server.stop()
        server.start()
        with open(gateway_pub) as f:
            self.assertEqual(f.read(), before)

    def test_a_forged_request_gets_a_signed_refusal(self):
        server = self.start(pay_sign_type="RSA2")
        r = server.client().request("POST", "/sim/gateway/api", raw=bogus_request("trade.query", "RSA2"),
                                    content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 200)
        answer = r.json["trade_query_response"]
        self.assertEqual(answer["code"], "40002")
        self.assertEqual(answer["sub_code"], "isv.invalid-signature")
        # The sign covers the response object's exact text; stock openssl verifies it.
        prefix = '{"trade_query_response":'
        self.assertTrue(r.body.startswith(prefix))
        signed = r.body[len(prefix):r.body.rindex(',"sign":"')]
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in (("msg", signed.encode()), ("sig", base64.b64decode(r.json["sign"])),
                               ("bad", signed.replace("40002", "10000").encode())):
                with open(os.path.join(tmp, name), "wb") as f:
                    f.write(data)
            pub = os.path.join(server.data_dir, "simulator", "keys", "gateway_rsa2.pub.pem")
            verify = ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", os.path.join(tmp, "sig")]
            self.assertEqual(subprocess.run(verify + [os.path.join(tmp, "msg")], capture_output=True).returncode, 0)
            self.assertNotEqual(subprocess.run(verify + [os.path.join(tmp, "bad")], capture_output=True).returncode, 0)

    def test_wrong_sign_type_unknown_method_and_missing_fields_are_result_codes(self):
        server = self.start()
        c = server.client()
        form = "application/x-www-form-urlencoded"
        r = c.request("POST", "/sim/gateway/api", raw=bogus_request("trade.query", "RSA2"), content_type=form)
        self.assertEqual(r.json["trade_query_response"]["sub_code"], "isv.invalid-signature-type")
        r = c.request("POST", "/sim/gateway/api", raw=bogus_request("trade.pay"), content_type=form)
        self.assertEqual(r.json["error_response"]["sub_code"], "isv.invalid-method")
        r = c.request("POST", "/sim/gateway/api", raw=b"method=trade.create&app_id=jishi", content_type=form)
        self.assertEqual(r.json["trade_create_response"]["code"], "40001")

    def test_cashier_of_an_unknown_trade_is_not_found(self):
        server = self.start()
        c = server.client()
        r = c.get("/sim/cashier/2026112822000000000099")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.code, "not_found")
        r = c.request("POST", "/sim/cashier/2026112822000000000099", raw=b"result=maybe",
                      content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 400)

    def test_statement_faults_only_when_enabled(self):
        off = self.start()
        r = off.client().post("/sim/admin/statement-faults", {"date": "2026-11-28", "kind": "extra"})
        self.assertEqual(r.status, 403)
        on = self.start(simulator_faults="true")
        c = on.client()
        r = c.post("/sim/admin/statement-faults", {"date": "2026-11-28", "kind": "drop", "out_trade_no": "P1"})
        self.assertEqual(r.status, 201, r.body)
        r = c.post("/sim/admin/statement-faults", {"date": "2026-11-28", "kind": "melt", "out_trade_no": "P1"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["field"], "/kind")
        r = c.post("/sim/admin/statement-faults", {"date": "2026-11-28", "kind": "drop", "oops": 1})
        self.assertEqual(r.status, 400)

    def call(self, server, method, **args):
        out = subprocess.run([JISHI, "gateway-call", "--data-dir", server.data_dir, "--url",
                              "http://127.0.0.1:%d" % server.port, method, json.dumps(args)],
                             capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)

    def test_signed_round_trip_with_retried_duplicated_and_reordered_notifications(self):
        server = self.start(simulator_faults="true", simulator_notify_retry_ms="20",
                            simulator_duplicate_pct="100", simulator_reorder_pct="100")
        receiver = Receiver(refuse=2)
        self.addCleanup(receiver.shutdown)
        t = self.call(server, "create", channel="card", out_trade_no="P1", amount=1999,
                      currency="CNY", subject="茶叶", notify_url=receiver.url)
        self.assertTrue(t["ok"], t)
        self.assertEqual(t["status"], "WAIT_BUYER_PAY")
        again = self.call(server, "create", channel="card", out_trade_no="P1", amount=2000,
                          currency="CNY", subject="茶叶", notify_url=receiver.url)
        self.assertEqual(again["code"], "conflict")
        cashier = t["cashier_url"].replace("http://127.0.0.1:%d" % server.port, "")
        page = server.client().get(cashier)
        self.assertIn("19.99", page.body)
        paid = server.client().request("POST", cashier, raw=b"result=success&card_number=6222020000000001",
                                       content_type="application/x-www-form-urlencoded",
                                       headers={"Accept": "application/json"})
        self.assertEqual(paid.json["status"], "TRADE_SUCCESS")
        q = self.call(server, "query", out_trade_no="P1")
        self.assertEqual((q["status"], q["fee"]), ("TRADE_SUCCESS", 12))

        # Two deliveries refused, each retried; every notification duplicated; a stale
        # WAIT_BUYER_PAY after the final one.
        wait_until(lambda: len(receiver.accepted) >= 5, what="5 notifications")
        statuses = [n["trade_status"] for n in receiver.accepted]
        self.assertEqual(sorted(statuses), ["TRADE_SUCCESS"] * 2 + ["WAIT_BUYER_PAY"] * 3)
        self.assertEqual(statuses[-1], "WAIT_BUYER_PAY")
        self.assertEqual(receiver.requests, 7)
        for n in receiver.accepted:
            v = self.call(server, "verify-notification", **n)
            self.assertTrue(v["ok"], v)
        forged = dict(receiver.accepted[0], total_amount="0.01")
        self.assertEqual(self.call(server, "verify-notification", **forged)["code"], "unauthenticated")

        r = self.call(server, "refund", out_trade_no="P1", out_refund_no="P1-R1", amount=500)
        self.assertEqual(r["status"], "REFUND_SUCCESS")
        self.assertEqual(self.call(server, "refund", out_trade_no="P1", out_refund_no="P1-R2",
                                   amount=1500)["code"], "invalid_state")

        today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).strftime("%Y-%m-%d")
        csv = self.call(server, "statement", date=today)["statement"].splitlines()
        self.assertEqual(csv[0], "trade_no,out_trade_no,type,amount,fee,currency,status,finished_at")
        self.assertIn(t["trade_no"] + ",P1,payment,1999,12,CNY,TRADE_SUCCESS,", "\n".join(csv))
        self.assertTrue(any(",P1-R1,refund,500,0,CNY,REFUND_SUCCESS," in line for line in csv))
        c = server.client()
        self.assertEqual(c.post("/sim/admin/statement-faults",
                                {"date": today, "kind": "amount", "out_trade_no": "P1", "delta": 5}).status, 201)
        self.assertEqual(c.post("/sim/admin/statement-faults",
                                {"date": today, "kind": "drop", "out_trade_no": "P1-R1"}).status, 201)
        faulty = self.call(server, "statement", date=today)["statement"]
        self.assertIn(",P1,payment,2004,12,", faulty)
        self.assertNotIn("P1-R1", faulty)
        self.assertTrue(os.path.exists(os.path.join(server.data_dir, "simulator", "statements", today + ".csv")))

    def test_simulator_can_be_switched_off(self):
        server = self.start(simulator="false")
        self.assertEqual(server.client().get("/sim/cashier/1").status, 404)
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "simulator")))


if __name__ == "__main__":
    unittest.main()
