"""The built-in gateway simulator served by the real jishi binary: its keys and database, the
signed protocol endpoint refusing bad signatures with a signed answer (checked with the openssl
CLI), the cashier page, and the fault-injection switch. The signed happy path (create, pay,
notify, refund, statements with faults) runs in C++ in src/paysim/simulator_test.cc, because
Python's standard library has no SM2 or RSA signing."""
import base64
import json
import os
import stat
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import Server


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

    def test_simulator_can_be_switched_off(self):
        server = self.start(simulator="false")
        self.assertEqual(server.client().get("/sim/cashier/1").status, 404)
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "simulator")))


if __name__ == "__main__":
    unittest.main()
