"""Risk control API against the real server: role checks, rules, list masking, the decision log
and the review queue. Payments do not exist yet, so reviews and decisions are opened the way
pay/risk's evaluate() writes them, straight into the server's SQLite file."""
import os
import sqlite3
import time
import unittest

from harness import ADMIN_PASSWORD, Server

CARD = "6222021234567890123"


class RiskApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.admin_create("operator@example.com", "operator")
        cls.server.admin_create("regulator@example.com", "regulator")
        cls.server.start()
        cls.op = cls.server.login("operator@example.com", ADMIN_PASSWORD)
        cls.reg = cls.server.login("regulator@example.com", ADMIN_PASSWORD)
        cls.buyer, _ = cls.server.register("buyer@example.com")
        cls.next_id = 9_000_000_000_000

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def open_review(self, party=777, amount=200_000_000):
        """A pending review and the decision that opened it, as evaluate() records them."""
        type(self).next_id += 10
        review, decision, subject = self.next_id, self.next_id + 1, self.next_id + 2
        now = int(time.time() * 1e6)
        reason = "amount %d > per-transaction limit 100000000 (rule 4)" % amount
        with sqlite3.connect(self.server.db_path, timeout=10) as db:
            db.execute("INSERT INTO risk_decisions (id, action, account_class, party_id, subject_kind,"
                       " subject_id, amount_minor, currency, outcome, rule_id, list_entry_id, review_id,"
                       " reason, at_us) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (decision, "withdrawal", "merchant", party, "withdrawal", subject, amount, "CNY",
                        "review", 4, None, review, reason, now))
            db.execute("INSERT INTO risk_reviews (id, subject_kind, subject_id, decision_id, action,"
                       " party_id, amount_minor, currency, reason, status, created_at_us) VALUES"
                       " (?,?,?,?,?,?,?,?,?,?,?)",
                       (review, "withdrawal", subject, decision, "withdrawal", party, amount, "CNY",
                        reason, "pending", now))
        return str(review)

    def test_regulators_read_buyers_and_strangers_get_nothing(self):
        rule = self.op.post("/api/v1/risk/rules", {"kind": "per_transaction", "action": "payment",
                                                   "account_class": "personal", "outcome": "review",
                                                   "max_amount": {"amount": 1, "currency": "USD"}})
        self.assertEqual(rule.status, 201, rule)
        rid = rule.json["id"]
        review = self.open_review()
        reads = ["/api/v1/risk/rules", "/api/v1/risk/rules/" + rid, "/api/v1/risk/lists",
                 "/api/v1/risk/decisions", "/api/v1/risk/reviews?status=pending",
                 "/api/v1/risk/reviews/" + review]
        for path in reads:
            self.assertEqual(self.reg.get(path).status, 200, path)
            self.assertEqual(self.buyer.get(path).status, 403, path)
            self.assertEqual(self.server.client().get(path).status, 401, path)
        writes = [("POST", "/api/v1/risk/rules", {"kind": "per_day", "action": "payment",
                                                  "account_class": "personal", "outcome": "review",
                                                  "max_amount": {"amount": 5, "currency": "CNY"}}),
                  ("PATCH", "/api/v1/risk/rules/" + rid, {"enabled": False}),
                  ("POST", "/api/v1/risk/lists", {"list": "block", "kind": "ip", "value": "10.0.0.9"}),
                  ("DELETE", "/api/v1/risk/lists/123", None),
                  ("POST", "/api/v1/risk/reviews/%s/approve" % review, {"reason": "fine"}),
                  ("POST", "/api/v1/risk/reviews/%s/reject" % review, {"reason": "no"})]
        for who, client in (("regulator", self.reg), ("buyer", self.buyer)):
            for method, path, body in writes:
                r = client.request(method, path, body=body)
                self.assertEqual(r.status, 403, (who, method, path, r))
                self.assertEqual(r.code, "forbidden")
        # Nothing the refused writes asked for happened.
        self.assertTrue(self.op.get("/api/v1/risk/rules/" + rid).json["enabled"])
        self.assertEqual(self.op.get("/api/v1/risk/reviews/" + review).json["status"], "pending")

    def test_default_rules_are_seeded(self):
        items = self.reg.get("/api/v1/risk/rules?limit=4").json["items"]
        self.assertEqual([(r["kind"], r["action"], r["account_class"], r["outcome"]) for r in items],
                         [("per_transaction", "payment", "personal", "block"),
                          ("per_day", "payment", "personal", "review"),
                          ("velocity", "payment", "personal", "review"),
                          ("per_transaction", "withdrawal", "merchant", "review")])
        self.assertEqual(items[0]["max_amount"], {"amount": 5000000, "currency": "CNY"})
        self.assertEqual((items[2]["key"], items[2]["max_count"], items[2]["window_s"]), ("user", 10, 60))

    def test_operator_creates_changes_and_disables_a_rule(self):
        r = self.op.post("/api/v1/risk/rules", {"kind": "velocity", "action": "payment",
                                                "account_class": "personal", "outcome": "block",
                                                "key": "device", "max_count": 5, "window_s": 300,
                                                "description": "device storm"}, key="rule-1")
        self.assertEqual(r.status, 201, r)
        rule = r.json
        self.assertEqual((rule["key"], rule["max_count"], rule["window_s"], rule["enabled"]),
                         ("device", 5, 300, True))
        self.assertIsNone(rule["max_amount"])
        p = self.op.request("PATCH", "/api/v1/risk/rules/" + rule["id"],
                            body={"enabled": False, "max_count": 7})
        self.assertEqual(p.status, 200, p)
        self.assertEqual((p.json["enabled"], p.json["max_count"]), (False, 7))
        self.assertEqual(self.reg.get("/api/v1/risk/rules/" + rule["id"]).json["enabled"], False)

        bad = [({"kind": "velocity", "action": "payment", "account_class": "personal", "outcome": "block",
                 "key": "device", "max_count": 5, "window_s": 86401}, "/window_s"),
               ({"kind": "velocity", "action": "payment", "account_class": "personal", "outcome": "block",
                 "max_count": 5, "window_s": 60}, "/key"),
               ({"kind": "per_day", "action": "payment", "account_class": "personal", "outcome": "review",
                 "max_amount": {"amount": 19.99, "currency": "CNY"}}, "/max_amount/amount"),
               ({"kind": "per_day", "action": "payment", "account_class": "personal", "outcome": "allow",
                 "max_amount": {"amount": 1, "currency": "CNY"}}, "/outcome"),
               ({"kind": "per_week", "action": "payment", "account_class": "personal", "outcome": "review"},
                "/kind")]
        for body, field in bad:
            r = self.op.post("/api/v1/risk/rules", body)
            self.assertEqual((r.status, r.code, r.json.get("field")), (400, "validation_failed", field), r)
        # A patch must fit the rule's kind: a velocity rule has no amount.
        r = self.op.request("PATCH", "/api/v1/risk/rules/" + rule["id"],
                            body={"max_amount": {"amount": 1, "currency": "CNY"}})
        self.assertEqual((r.status, r.code), (400, "validation_failed"), r)
        self.assertEqual(self.op.request("PATCH", "/api/v1/risk/rules/" + rule["id"], body={}).status, 400)
        self.assertEqual(self.op.request("PATCH", "/api/v1/risk/rules/99999", body={"enabled": True}).status,
                         404)

    def test_list_entries_show_masked_values_and_never_store_the_number(self):
        r = self.op.post("/api/v1/risk/lists", {"list": "block", "kind": "card",
                                                "value": "6222 0212 3456 7890 123", "note": "stolen"})
        self.assertEqual(r.status, 201, r)
        entry = r.json
        self.assertEqual(entry["value"], "****0123")
        self.assertRegex(entry["hash_prefix"], "^[0-9a-f]{12}$")
        self.assertNotIn(CARD, r.body)
        listed = self.reg.get("/api/v1/risk/lists?list=block")
        self.assertIn(entry["id"], [e["id"] for e in listed.json["items"]])
        self.assertNotIn(CARD, listed.body)
        self.assertNotIn("62220212", listed.body)
        for suffix in ("", "-wal"):
            path = self.server.db_path + suffix
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(CARD.encode(), f.read(), path)

        dup = self.op.post("/api/v1/risk/lists", {"list": "block", "kind": "card", "value": CARD})
        self.assertEqual((dup.status, dup.code), (409, "already_exists"), dup)
        bad = self.op.post("/api/v1/risk/lists", {"list": "block", "kind": "card", "value": "1234"})
        self.assertEqual((bad.status, bad.code, bad.json["field"]), (400, "validation_failed", "/value"))
        ip = self.op.post("/api/v1/risk/lists", {"list": "allow", "kind": "ip", "value": "2001:DB8:0::1"})
        self.assertEqual((ip.status, ip.json["value"]), (201, "2001:db8::1"), ip)
        self.assertNotIn(entry["id"], [e["id"] for e in self.reg.get("/api/v1/risk/lists?list=allow").json["items"]])

        everything = [e["id"] for e in self.reg.get("/api/v1/risk/lists?limit=100").json["items"]]
        self.assertIn(entry["id"], everything)
        self.assertIn(ip.json["id"], everything)
        self.assertEqual(self.op.delete("/api/v1/risk/lists/" + entry["id"]).status, 204)
        self.assertEqual(self.op.delete("/api/v1/risk/lists/" + entry["id"]).status, 404)
        self.assertNotIn(entry["id"], [e["id"] for e in self.reg.get("/api/v1/risk/lists").json["items"]])

    def test_review_queue_approve_and_reject_each_once(self):
        first, second = self.open_review(party=501), self.open_review(party=502)
        queue = self.reg.get("/api/v1/risk/reviews?status=pending&limit=100").json["items"]
        ids = [r["id"] for r in queue]
        self.assertLess(ids.index(first), ids.index(second))  # oldest first
        shown = queue[ids.index(first)]
        self.assertEqual((shown["status"], shown["amount"], shown["subject_kind"]),
                         ("pending", {"amount": 200000000, "currency": "CNY"}, "withdrawal"))

        missing = self.op.post("/api/v1/risk/reviews/%s/approve" % first, {})
        self.assertEqual((missing.status, missing.json["field"]), (400, "/reason"))
        ok = self.op.post("/api/v1/risk/reviews/%s/approve" % first, {"reason": "called the merchant"})
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual((ok.json["status"], ok.json["decision_reason"]), ("approved", "called the merchant"))
        self.assertTrue(ok.json["decided_by"] and ok.json["decided_at"])
        for verb in ("approve", "reject"):
            again = self.op.post("/api/v1/risk/reviews/%s/%s" % (first, verb), {"reason": "again"})
            self.assertEqual((again.status, again.code), (409, "invalid_state"), again)

        no = self.op.post("/api/v1/risk/reviews/%s/reject" % second, {"reason": "mule account"})
        self.assertEqual((no.status, no.json["status"]), (200, "rejected"), no)
        again = self.op.post("/api/v1/risk/reviews/%s/approve" % second, {"reason": "changed my mind"})
        self.assertEqual((again.status, again.code), (409, "invalid_state"), again)

        pending = [r["id"] for r in self.reg.get("/api/v1/risk/reviews?status=pending&limit=100").json["items"]]
        self.assertNotIn(first, pending)
        self.assertNotIn(second, pending)
        rejected = self.reg.get("/api/v1/risk/reviews?status=rejected").json["items"]
        self.assertEqual([r["id"] for r in rejected], [second])
        every = [r["id"] for r in self.reg.get("/api/v1/risk/reviews?limit=100").json["items"]]
        self.assertIn(first, every)
        self.assertIn(second, every)
        self.assertEqual(self.op.post("/api/v1/risk/reviews/424242/approve", {"reason": "x"}).status, 404)
        self.assertEqual(self.reg.get("/api/v1/risk/reviews?status=open").code, "validation_failed")

    def test_decision_log_filters_by_outcome_and_party(self):
        self.open_review(party=8101)
        self.open_review(party=8102)
        mine = self.reg.get("/api/v1/risk/decisions?outcome=review&party=8101").json["items"]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["party_id"], mine[0]["outcome"], mine[0]["rule_id"]), ("8101", "review", "4"))
        self.assertIn("> per-transaction limit", mine[0]["reason"])
        self.assertEqual(self.reg.get("/api/v1/risk/decisions?outcome=block&party=8101").json["items"], [])
        everyone = [d["party_id"] for d in self.reg.get("/api/v1/risk/decisions?limit=100").json["items"]]
        self.assertIn("8101", everyone)
        self.assertIn("8102", everyone)
        page = self.reg.get("/api/v1/risk/decisions?limit=1").json
        self.assertEqual(len(page["items"]), 1)
        self.assertTrue(page["next_cursor"])
        nxt = self.reg.get("/api/v1/risk/decisions?limit=1&cursor=" + page["next_cursor"]).json["items"]
        self.assertNotEqual(nxt[0]["id"], page["items"][0]["id"])
        self.assertEqual(self.reg.get("/api/v1/risk/decisions?outcome=maybe").status, 400)
        self.assertEqual(self.reg.get("/api/v1/risk/decisions?party=abc").status, 400)


if __name__ == "__main__":
    unittest.main()
