"""HTTP integration tests: the real server, a real SQLite file, the public API only."""
import concurrent.futures
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_PASSWORD, JISHI, Server, resident_id, uscc, wait_until


def count(db_path, table):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM " + table).fetchone()[0]


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
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
        n = self.next_n()
        return self.server.register("%s%d@example.com" % (prefix, n))

    def new_merchant(self, approve=False):
        seller, user = self.new_user("seller")
        r = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "好物%d" % self.next_n(),
                                         "credit_code": uscc(1000 + self.next_n())})
        self.assertEqual(r.status, 201, r)
        org = r.json
        if approve:
            a = self.op.post("/api/v1/orgs/%s/approve" % org["id"], {"note": "ok"})
            self.assertEqual(a.status, 200, a)
            org = a.json
        return seller, org

    # --- accounts ------------------------------------------------------------------------
    def test_threads_are_named_for_operators(self):
        """`top -H` and perf show what each thread is: the writer, its syncer, the I/O threads
        (the main one, `jishi`, and one `jishi-io` per further core: by default the writer keeps
        a core and the I/O threads take the others)."""
        def names_of(server):
            tasks = "/proc/%d/task" % server.proc.pid
            names = []
            for tid in os.listdir(tasks):
                with open(os.path.join(tasks, tid, "comm")) as f:
                    names.append(f.read().strip())
            return names
        def io_threads_of(server, expected):
            # The I/O threads start beside the line that announces the port: give them a moment.
            deadline = time.time() + 10
            while names_of(server).count("jishi-io") < expected and time.time() < deadline:
                time.sleep(0.01)
            return names_of(server).count("jishi-io")
        names = names_of(self.server)
        self.assertLessEqual({"jishi", "jishi-writer", "jishi-sync", "jishi-jobs", "jishi-pay"}, set(names))
        expected = max(1, (os.cpu_count() or 1) - 1) - 1
        self.assertEqual(io_threads_of(self.server, expected), expected)
        s = Server({"io_threads": "3"}).start()
        try:
            self.assertEqual(io_threads_of(s, 2), 2)
        finally:
            s.cleanup()

    def test_register_login_me(self):
        c = self.server.client()
        r = c.post("/api/v1/auth/register", {"email": "Li.Lei@Example.com", "password": "s3cret-pass",
                                             "display_name": "李雷"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["user"]["email"], "li.lei@example.com")
        self.assertTrue(r.json["session"]["token"].startswith("jss_"))
        me = self.server.client(r.json["session"]["token"]).get("/api/v1/me")
        self.assertEqual(me.status, 200)
        self.assertEqual(me.json["user"]["display_name"], "李雷")
        logged = self.server.login("LI.LEI@example.com", "s3cret-pass")
        self.assertEqual(logged.get("/api/v1/me").json["user"]["id"], r.json["user"]["id"])
        dup = c.post("/api/v1/auth/register", {"email": "li.lei@example.com", "password": "another-pass"})
        self.assertEqual((dup.status, dup.code), (409, "already_exists"))
        self.assertEqual(dup.headers["content-type"], "application/problem+json")

    def test_register_by_phone_masks_and_encrypts_it(self):
        r = self.server.client().post("/api/v1/auth/register",
                                      {"phone": "139 1234 5678", "password": "phone-pass-1"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["user"]["phone"], "+86139****5678")
        dup = self.server.client().post("/api/v1/auth/register", {"email": "fresh-phone@example.com",
                                                                  "phone": "13912345678", "password": "phone-pass-1"})
        self.assertEqual((dup.status, dup.json["field"]), (409, "/phone"))
        self.server.login("+8613912345678", "phone-pass-1")
        with open(self.server.db_path, "rb") as f:
            raw = f.read()
        for suffix in ("-wal",):
            if os.path.exists(self.server.db_path + suffix):
                with open(self.server.db_path + suffix, "rb") as f:
                    raw += f.read()
        self.assertNotIn(b"13912345678", raw)

    def test_logout_revokes_the_session(self):
        client, _ = self.new_user()
        self.assertEqual(client.post("/api/v1/auth/logout").status, 204)
        r = client.get("/api/v1/me")
        self.assertEqual((r.status, r.code), (401, "unauthenticated"))

    def test_wrong_passwords_lock_the_account(self):
        _, user = self.new_user("locky")
        c = self.server.client()
        for _ in range(4):
            r = c.post("/api/v1/auth/login", {"login": user["email"], "password": "wrong-password"})
            self.assertEqual((r.status, r.code), (401, "invalid_credentials"))
        r = c.post("/api/v1/auth/login", {"login": user["email"], "password": "wrong-password"})
        self.assertEqual((r.status, r.code), (403, "account_locked"))
        self.assertGreater(int(r.headers["retry-after"]), 0)
        r = c.post("/api/v1/auth/login", {"login": user["email"], "password": "password-123"})
        self.assertEqual((r.status, r.code), (403, "account_locked"))
        unknown = c.post("/api/v1/auth/login", {"login": "nobody@example.com", "password": "x" * 10})
        self.assertEqual((unknown.status, unknown.code), (401, "invalid_credentials"))

    def test_real_name_verification(self):
        client, _ = self.new_user()
        bad = client.post("/api/v1/me/real-name", {"name": "韩梅梅", "resident_id": "110101199003071234"})
        self.assertEqual((bad.status, bad.code, bad.json["field"]), (400, "validation_failed", "/resident_id"))
        bad_date = client.post("/api/v1/me/real-name", {"name": "韩梅梅", "resident_id": "110101199002300014"})
        self.assertEqual(bad_date.status, 400)
        rid = resident_id(self.next_n())
        ok = client.post("/api/v1/me/real-name", {"name": "韩梅梅", "resident_id": rid})
        self.assertEqual(ok.status, 200, ok)
        self.assertNotIn(rid, ok.body)
        self.assertTrue(client.get("/api/v1/me").json["user"]["real_name_verified"])
        other, _ = self.new_user()
        taken = other.post("/api/v1/me/real-name", {"name": "韩梅梅", "resident_id": rid})
        self.assertEqual((taken.status, taken.code), (409, "already_exists"))

    # --- merchant onboarding ---------------------------------------------------------------
    def test_merchant_onboarding_approved_by_operator(self):
        seller, org = self.new_merchant()
        self.assertEqual(org["status"], "submitted")
        self.assertEqual(org["region"]["code"], "330106")
        queue = self.op.get("/api/v1/orgs?status=submitted&limit=100")
        self.assertEqual(queue.status, 200)
        self.assertIn(org["id"], [o["id"] for o in queue.json["items"]])
        r = self.op.post("/api/v1/orgs/%s/approve" % org["id"], {"note": "营业执照 checked"})
        self.assertEqual((r.status, r.json["status"]), (200, "approved"))
        again = self.op.post("/api/v1/orgs/%s/approve" % org["id"])
        self.assertEqual((again.status, again.code), (409, "invalid_state"))
        ms = seller.get("/api/v1/me").json["memberships"]
        self.assertEqual([(m["org_id"], m["role"], m["org_status"]) for m in ms],
                         [(org["id"], "seller_admin", "approved")])
        history = seller.get("/api/v1/orgs/%s/reviews" % org["id"]).json["items"]
        self.assertEqual([h["action"] for h in history], ["submitted", "approved"])

    def test_rejection_needs_a_reason_and_allows_resubmission(self):
        seller, org = self.new_merchant()
        no_reason = self.op.post("/api/v1/orgs/%s/reject" % org["id"], {})
        self.assertEqual((no_reason.status, no_reason.json["field"]), (400, "/reason"))
        r = self.op.post("/api/v1/orgs/%s/reject" % org["id"], {"reason": "执照模糊 licence unreadable"})
        self.assertEqual((r.json["status"], r.json["status_reason"]), ("rejected", "执照模糊 licence unreadable"))
        back = seller.post("/api/v1/orgs/%s/resubmit" % org["id"],
                           {"name": "更正后的店", "credit_code": org["credit_code"]})
        self.assertEqual((back.status, back.json["status"], back.json["name"]), (200, "submitted", "更正后的店"))

    def test_credit_codes_are_validated(self):
        seller, _ = self.new_user("cc")
        before = count(self.server.db_path, "orgs")
        for code, fragment in [("91110000600037341K", "check character"),
                               ("9111000060003734IL", "position"),
                               ("91110000", "18"),
                               ("91350100M0001TGQXM", "legacy")]:
            r = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "x", "credit_code": code})
            self.assertEqual((r.status, r.code, r.json["field"]), (400, "validation_failed", "/credit_code"), r)
            self.assertIn(fragment, r.json["detail"])
        self.assertEqual(count(self.server.db_path, "orgs"), before)
        legacy = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "福建老店", "credit_code": "91350100M0001TGQXM",
                                              "credit_code_legacy_confirmed": True})
        self.assertEqual(legacy.status, 201, legacy)
        self.assertFalse(legacy.json["credit_code_checksum_ok"])
        self.assertTrue(any("checksum" in w for w in legacy.json["warnings"]))
        dup = seller.post("/api/v1/orgs", {"kind": "merchant", "name": "again", "credit_code": "91350100M0001TGQXM",
                                           "credit_code_legacy_confirmed": True})
        self.assertEqual((dup.status, dup.code), (409, "already_exists"))
        plat = seller.post("/api/v1/orgs", {"kind": "platform", "name": "p", "credit_code": uscc(7)})
        self.assertEqual(plat.status, 403)

    def test_members_and_roles(self):
        seller, org = self.new_merchant(approve=True)
        staff, staff_user = self.new_user("staff")
        r = seller.post("/api/v1/orgs/%s/members" % org["id"], {"login": staff_user["email"], "role": "seller_staff"})
        self.assertEqual((r.status, r.json["user_id"], r.json["roles"]), (201, staff_user["id"], ["seller_staff"]), r)
        members = seller.get("/api/v1/orgs/%s/members?limit=1" % org["id"]).json
        self.assertEqual(len(members["items"]), 1)
        rest = seller.get("/api/v1/orgs/%s/members?limit=1&cursor=%s" % (org["id"], members["next_cursor"])).json
        self.assertEqual({members["items"][0]["user_id"], rest["items"][0]["user_id"]},
                         {staff_user["id"], seller.get("/api/v1/me").json["user"]["id"]})
        self.assertIsNone(rest["next_cursor"])
        bad_role = seller.post("/api/v1/orgs/%s/members" % org["id"], {"login": staff_user["email"], "role": "operator"})
        self.assertEqual(bad_role.status, 400)
        self.assertEqual(staff.get("/api/v1/orgs/%s" % org["id"]).status, 200)
        # Staff may read but not administer.
        self.assertEqual(staff.post("/api/v1/orgs/%s/members" % org["id"],
                                    {"login": staff_user["email"], "role": "seller_admin"}).status, 403)
        seller_id = seller.get("/api/v1/me").json["user"]["id"]
        last = seller.delete("/api/v1/orgs/%s/members/%s" % (org["id"], seller_id))
        self.assertEqual((last.status, last.code), (409, "invalid_state"))
        self.assertEqual(seller.delete("/api/v1/orgs/%s/members/%s" % (org["id"], staff_user["id"])).status, 204)
        self.assertEqual(staff.get("/api/v1/orgs/%s" % org["id"]).status, 404)

    def test_api_keys_are_shown_once_scoped_and_revocable(self):
        seller, pending = self.new_merchant()
        early = seller.post("/api/v1/orgs/%s/api-keys" % pending["id"], {"name": "erp", "scopes": ["read"]})
        self.assertEqual((early.status, early.code), (409, "invalid_state"))
        seller2, org = self.new_merchant(approve=True)
        r = seller2.post("/api/v1/orgs/%s/api-keys" % org["id"], {"name": "ERP 用友", "scopes": ["read"]})
        self.assertEqual(r.status, 201, r)
        token = r.json["token"]
        self.assertTrue(token.startswith("jsk_"))
        listed = seller2.get("/api/v1/orgs/%s/api-keys" % org["id"]).json["items"]
        self.assertNotIn(token, json.dumps(listed))
        erp = self.server.client(token)
        self.assertEqual(erp.get("/api/v1/orgs/%s" % org["id"]).status, 200)
        self.assertEqual(erp.get("/api/v1/me").json["org_id"], org["id"])
        self.assertEqual(erp.get("/api/v1/orgs/%s" % pending["id"]).status, 404)
        self.assertEqual(erp.post("/api/v1/orgs/%s/api-keys" % org["id"], {"name": "x", "scopes": ["read"]}).status, 403)
        self.assertEqual(seller2.post("/api/v1/orgs/%s/api-keys" % org["id"], {"name": "x", "scopes": ["admin"]}).status, 400)
        rv = seller2.delete("/api/v1/orgs/%s/api-keys/%s" % (org["id"], r.json["id"]))
        self.assertEqual(rv.status, 200)
        self.assertIsNotNone(rv.json["revoked_at"])
        self.assertEqual(erp.get("/api/v1/orgs/%s" % org["id"]).status, 401)

    def test_every_endpoint_rejects_the_roles_it_must(self):
        seller, org = self.new_merchant()
        other_seller, other_org = self.new_merchant(approve=True)
        buyer, _ = self.new_user("buyer")
        anon = self.server.client()
        oid = org["id"]
        # (method, path, body, {principal: expected status})
        cases = [
            ("GET", "/api/v1/me", None, {"anon": 401}),
            ("GET", "/api/v1/orgs", None, {"anon": 401, "buyer": 403, "seller": 403}),
            ("GET", "/api/v1/orgs/%s" % oid, None, {"anon": 401, "buyer": 404, "other_seller": 404}),
            ("POST", "/api/v1/orgs/%s/approve" % oid, {}, {"anon": 401, "buyer": 403, "seller": 403,
                                                         "other_seller": 403, "regulator": 403}),
            ("POST", "/api/v1/orgs/%s/reject" % oid, {"reason": "r"}, {"anon": 401, "seller": 403, "regulator": 403}),
            ("POST", "/api/v1/orgs/%s/resubmit" % oid, {"name": "n", "credit_code": org["credit_code"]},
             {"anon": 401, "buyer": 404, "regulator": 403, "operator": 403}),
            ("GET", "/api/v1/orgs/%s/members" % oid, None, {"anon": 401, "buyer": 404, "other_seller": 404}),
            ("POST", "/api/v1/orgs/%s/members" % oid, {"login": "x@example.com", "role": "seller_staff"},
             {"anon": 401, "buyer": 404, "regulator": 403, "other_seller": 404}),
            ("GET", "/api/v1/orgs/%s/api-keys" % oid, None, {"anon": 401, "regulator": 403, "other_seller": 404}),
            ("POST", "/api/v1/orgs/%s/api-keys" % oid, {"name": "k", "scopes": ["read"]},
             {"anon": 401, "regulator": 403, "operator": 403}),
            ("POST", "/api/v1/orgs", {"kind": "merchant", "name": "n", "credit_code": uscc(99999)}, {"anon": 401}),
            ("POST", "/api/v1/auth/logout", None, {"anon": 401}),
        ]
        who = {"anon": anon, "buyer": buyer, "seller": seller, "other_seller": other_seller,
               "regulator": self.reg, "operator": self.op}
        before = count(self.server.db_path, "orgs")
        for method, path, body, expect in cases:
            for name, status in expect.items():
                r = who[name].request(method, path, body=body)
                self.assertEqual(r.status, status, "%s %s as %s: %r" % (method, path, name, r))
                self.assertEqual(r.headers["content-type"], "application/problem+json")
        self.assertEqual(count(self.server.db_path, "orgs"), before)
        # The regulator reads everything and writes nothing.
        self.assertEqual(self.reg.get("/api/v1/orgs/%s" % oid).status, 200)
        self.assertEqual(self.reg.get("/api/v1/orgs?kind=merchant").status, 200)

    def test_list_paging_with_cursor(self):
        for _ in range(3):
            self.new_merchant()
        seen = []
        cursor = None
        while True:
            path = "/api/v1/orgs?kind=merchant&limit=2" + ("&cursor=" + cursor if cursor else "")
            page = self.op.get(path).json
            self.assertLessEqual(len(page["items"]), 2)
            seen += [o["id"] for o in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(seen, sorted(seen, key=int, reverse=True))
        total = len(self.op.get("/api/v1/orgs?kind=merchant&limit=100").json["items"])
        self.assertEqual(len(seen), total)
        self.assertEqual(self.op.get("/api/v1/orgs?limit=0").status, 400)
        self.assertEqual(self.op.get("/api/v1/orgs?limit=101").status, 400)
        self.assertEqual(self.op.get("/api/v1/orgs?cursor=abc").status, 400)

    # --- bad input -------------------------------------------------------------------------
    def test_bad_input_gets_problem_json_and_writes_nothing(self):
        c = self.server.client()
        users = count(self.server.db_path, "users")
        cases = [
            (dict(raw=b'{"email":', content_type="application/json"), 400, "invalid_json"),
            (dict(raw=b'{"email":"a@b.co","password":"pppppppp1"}', content_type="text/plain"), 415,
             "unsupported_media_type"),
            (dict(body={"email": "a@b.co", "password": "pppppppp1", "admin": True}), 400, "validation_failed"),
            (dict(body={"email": "not-an-email", "password": "pppppppp1"}), 400, "validation_failed"),
            (dict(body={"email": "a@b.co", "password": "short"}), 400, "validation_failed"),
            (dict(body={"email": 5, "password": "pppppppp1"}), 400, "validation_failed"),
            (dict(body=[1, 2]), 400, "validation_failed"),
            (dict(raw=("[" * 100 + "]" * 100).encode()), 400, "validation_failed"),
            (dict(body={"email": "x" * 300 + "@b.co", "password": "pppppppp1"}), 400, "validation_failed"),
        ]
        for kw, status, code in cases:
            r = c.post("/api/v1/auth/register", **kw)
            self.assertEqual((r.status, r.code), (status, code), (kw, r))
            for k in ("type", "title", "status", "detail", "code"):
                self.assertIn(k, r.json)
            self.assertEqual(r.json["request_id"], r.headers["x-request-id"])
        self.assertEqual(count(self.server.db_path, "users"), users)
        nf = c.get("/api/v1/nope")
        self.assertEqual((nf.status, nf.code), (404, "not_found"))
        na = c.request("PUT", "/api/v1/me")
        self.assertEqual((na.status, na.code), (405, "method_not_allowed"))
        self.assertIn("GET", na.headers["allow"])
        bad_id = self.op.get("/api/v1/orgs/not-a-number")
        self.assertEqual(bad_id.status, 404)

    def test_body_and_header_limits(self):
        # The server answers 413 as soon as it sees the declared length and closes without
        # reading the body, so talk to it with a raw socket (a client library would die on the
        # broken pipe before reading the answer).
        size = 1024 * 1024 + 10
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            sock.sendall(b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
            try:
                sock.sendall(b"x" * size)
            except (BrokenPipeError, ConnectionResetError):
                pass
            reply = b""
            while True:  # the server closes the connection after answering
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                reply += chunk
        finally:
            sock.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])
        self.assertIn(b'"code":"body_too_large"', reply)
        c2 = self.server.client()
        r = c2.get("/api/v1/me", headers={"X-Big": "y" * (20 * 1024)})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.server.client().get("/healthz").status, 200)  # server unharmed

    # --- idempotency -----------------------------------------------------------------------
    def test_idempotency_key_replays_and_refuses_reuse(self):
        seller, _ = self.new_user("idem")
        body = {"kind": "merchant", "name": "幂等店", "credit_code": uscc(50000 + self.next_n())}
        before = count(self.server.db_path, "orgs")
        first = seller.post("/api/v1/orgs", body, key="create-org-1")
        second = seller.post("/api/v1/orgs", body, key="create-org-1")
        self.assertEqual((first.status, second.status), (201, 201))
        self.assertEqual(first.json["id"], second.json["id"])
        self.assertEqual(second.headers.get("idempotent-replayed"), "true")
        self.assertEqual(count(self.server.db_path, "orgs"), before + 1)
        other = dict(body, name="另一家")
        reused = seller.post("/api/v1/orgs", other, key="create-org-1")
        self.assertEqual((reused.status, reused.code), (422, "idempotency_key_reused"))
        self.assertEqual(count(self.server.db_path, "orgs"), before + 1)
        # Keys are scoped per caller: another user with the same key is a different request.
        other_user, _ = self.new_user("idem")
        mine = other_user.post("/api/v1/orgs", dict(body, credit_code=uscc(60000 + self.next_n())), key="create-org-1")
        self.assertEqual(mine.status, 201)
        bad_key = seller.post("/api/v1/orgs", body, key="has space")
        self.assertEqual(bad_key.status, 400)

    def test_concurrent_retries_with_one_key_create_one_thing(self):
        seller, _ = self.new_user("race")
        body = {"kind": "merchant", "name": "并发店", "credit_code": uscc(70000 + self.next_n())}
        before = count(self.server.db_path, "orgs")

        def attempt(_):
            c = self.server.client(seller.token)
            try:
                return c.post("/api/v1/orgs", body, key="race-key")
            finally:
                c.close()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(attempt, range(32)))
        self.assertEqual({r.status for r in results}, {201})
        self.assertEqual(len({r.json["id"] for r in results}), 1)
        self.assertEqual(count(self.server.db_path, "orgs"), before + 1)

    def test_login_replay_returns_the_same_session(self):
        _, user = self.new_user("replay")
        c = self.server.client()
        a = c.post("/api/v1/auth/login", {"login": user["email"], "password": "password-123"}, key="login-1")
        b = c.post("/api/v1/auth/login", {"login": user["email"], "password": "password-123"}, key="login-1")
        self.assertEqual(a.json["session"]["token"], b.json["session"]["token"])
        with sqlite3.connect(self.server.db_path) as db:
            stored = [r[0] for r in db.execute("SELECT body FROM idempotency_keys WHERE idem_key = 'login-1'")]
        self.assertEqual(len(stored), 1)
        self.assertNotIn(a.json["session"]["token"], stored[0])  # stored encrypted

    # --- operations ------------------------------------------------------------------------
    def test_health_readiness_metrics_and_request_ids(self):
        c = self.server.client()
        self.assertEqual(c.get("/healthz").json, {"status": "ok"})
        ready = c.get("/readyz")
        self.assertEqual(ready.status, 200)
        self.assertGreaterEqual(ready.json["schema_version"], 1)
        m = c.get("/metrics")
        self.assertTrue(m.headers["content-type"].startswith("text/plain"))
        for name in ("jishi_http_responses_total", "jishi_http_request_seconds_bucket",
                     "jishi_writer_batch_commands_bucket", "jishi_writer_commit_seconds_bucket",
                     "jishi_writer_queue_depth"):
            self.assertIn(name, m.body)
        self.assertIn('route="/api/v1/auth/register"', m.body)
        echoed = c.get("/healthz", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(echoed.headers["x-request-id"], "abc-123")
        self.assertTrue(c.get("/healthz").headers["x-request-id"])
        v = c.get("/api/v1/version").json
        self.assertEqual(v["name"], "jishi")

    def test_openapi_documents_every_route(self):
        doc = self.server.client().get("/api/v1/openapi.json")
        self.assertEqual(doc.status, 200)
        paths = doc.json["paths"]
        routes = subprocess.run([JISHI, "routes"], capture_output=True, text=True, check=True).stdout.split("\n")
        routes = [r.split(" ", 1) for r in routes if r]
        self.assertGreater(len(routes), 10)
        missing = ["%s %s" % (m, p) for m, p in routes if p not in paths or m.lower() not in paths[p]]
        self.assertEqual(missing, [], "routes missing from docs/openapi.yaml")

    def test_secrets_never_reach_the_log(self):
        c = self.server.client()
        r = c.post("/api/v1/auth/register", {"email": "secretive@example.com", "password": "Very-Secret-Pw-42",
                                             "phone": "13700001111"})
        token = r.json["session"]["token"]
        self.server.client(token).get("/api/v1/me")
        log = self.server.read_log()
        self.assertIn("access", log)
        for secret in ("Very-Secret-Pw-42", token, token[4:], "13700001111"):
            self.assertNotIn(secret, log)


class LimitsTest(unittest.TestCase):
    """Servers with tight limits, to see 429 and 503 happen."""

    def test_rate_limit_answers_429_with_retry_after(self):
        s = Server({"rate_limit_per_s": "0.5", "rate_limit_burst": "5"}).start()
        try:
            c = s.client()
            statuses = [c.get("/api/v1/version").status for _ in range(7)]
            self.assertEqual(statuses[:5], [200] * 5)
            self.assertEqual(statuses[5:], [429, 429])
            r = c.get("/api/v1/version")
            self.assertEqual(r.code, "rate_limited")
            self.assertGreaterEqual(int(r.headers["retry-after"]), 1)
            self.assertEqual(c.get("/healthz").status, 200)  # probes are never limited
        finally:
            s.cleanup()

    def test_full_writer_queue_answers_503_and_loses_nothing_acknowledged(self):
        s = Server({"writer_queue_max": "1", "writer_batch_max": "1", "io_threads": "4"}).start()
        try:
            # A user may hold at most 100 memberships: spread the orgs over several founders.
            # Background workers (payments, timers, webhooks) also write: with a one-slot queue
            # even the set-up may meet a 503 and must retry, as any client would.
            def founder(k):
                for _ in range(50):
                    r = s.client().post("/api/v1/auth/register",
                                        {"email": "flood%d@example.com" % k, "password": "password-123"})
                    if r.status == 201:
                        return r.json["session"]["token"]
                    self.assertEqual(r.status, 503, r)
                    time.sleep(0.05)
                self.fail("could not register a founder")
            tokens = [founder(k) for k in range(8)]

            def create(i):
                c = s.client(tokens[i % len(tokens)])
                try:
                    return c.post("/api/v1/orgs", {"kind": "merchant", "name": "n%d" % i, "credit_code": uscc(i)})
                finally:
                    c.close()

            with concurrent.futures.ThreadPoolExecutor(48) as pool:
                results = list(pool.map(create, range(300)))
            statuses = {r.status for r in results}
            self.assertTrue(statuses <= {201, 503}, statuses)
            overloaded = [r for r in results if r.status == 503]
            self.assertTrue(overloaded, "expected some 503s with a one-slot queue")
            self.assertEqual(overloaded[0].code, "overloaded")
            self.assertEqual(overloaded[0].headers["retry-after"], "1")
            created = [r.json["id"] for r in results if r.status == 201]
            with sqlite3.connect(s.db_path) as db:
                ids = {str(r[0]) for r in db.execute("SELECT id FROM orgs")}
            self.assertEqual(ids, set(created))
        finally:
            s.cleanup()


class LifecycleTest(unittest.TestCase):
    def test_sigterm_drains_and_restart_keeps_everything(self):
        s = Server().start()
        try:
            client, user = s.register("persist@example.com")
            self.assertEqual(s.stop(), 0)
            self.assertIn("shutdown: done", s.read_log())
            s.start()
            again = s.login("persist@example.com", "password-123")
            self.assertEqual(again.get("/api/v1/me").json["user"]["id"], user["id"])
        finally:
            s.cleanup()

    def test_sigterm_lets_in_flight_requests_finish(self):
        # Sign-ins at a high hashing cost take long enough to be caught mid-flight. (At the
        # "interactive" cost, on a loaded machine, the first sign-in could finish before a
        # scrape saw all six in flight, and the wait timed out now and then.)
        s = Server({"password_hash_cost": "moderate"}).start()
        try:
            s.register("slow@example.com")
            clients = [s.client() for _ in range(6)]
            for c in clients:
                c.conn.putrequest("POST", "/api/v1/auth/login")
                body = json.dumps({"login": "slow@example.com", "password": "password-123"}).encode()
                c.conn.putheader("Content-Type", "application/json")
                c.conn.putheader("Content-Length", str(len(body)))
                c.conn.endheaders(body)
            def in_flight():
                m = s.client().get("/metrics").body
                line = [l for l in m.splitlines() if l.startswith("jishi_http_requests_in_flight")][0]
                return float(line.split()[1]) >= 7  # the six sign-ins and this scrape

            wait_until(in_flight, what="the sign-ins to be in flight")
            s.proc.send_signal(signal.SIGTERM)
            statuses = [c.conn.getresponse().status for c in clients]
            self.assertEqual(statuses, [200] * 6)
            self.assertEqual(s.proc.wait(60), 0)
            s.proc = None
            s.log.close()
            late = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                                   "http://127.0.0.1:%d/healthz" % s.port], capture_output=True, text=True)
            self.assertEqual(late.stdout, "000")  # no longer accepting
        finally:
            s.cleanup()

    def test_demo_seeds_accounts_and_restarts_on_its_data(self):
        s = Server(verb="demo").start()
        try:
            op = s.login("operator@jishi.demo", "jishi-demo-2026")
            queue = op.get("/api/v1/orgs?status=submitted").json["items"]
            self.assertIn("深圳新店贸易有限公司", [o["name"] for o in queue])
            seller = s.login("seller@jishi.demo", "jishi-demo-2026")
            ms = seller.get("/api/v1/me").json["memberships"]
            self.assertEqual([(m["org_name"], m["org_status"]) for m in ms], [("杭州好物科技有限公司", "approved")])
            s.login("regulator@jishi.demo", "jishi-demo-2026")
            s.login("buyer@jishi.demo", "jishi-demo-2026")
            s.login("officer@jishi.demo", "jishi-demo-2026")
            # A demo SM2 CA out of the box, and a contract the demo merchant signed.
            root = s.client().get("/pki/root.crt")
            self.assertEqual(root.status, 200, root)
            self.assertIn("BEGIN CERTIFICATE", root.body)
            self.assertEqual(s.client().get("/pki/crl").status, 200)
            signed = seller.get("/api/v1/signatures?org_id=%s" % ms[0]["org_id"]).json["items"]
            self.assertEqual([x["subject_ref"] for x in signed], ["demo:contract"])
            package = seller.get("/api/v1/signatures/%s" % signed[0]["id"]).json["package"]
            v = s.client().post("/api/v1/signatures/verify", {"package": package})
            self.assertTrue(v.json["valid"], v)
            # The market: ~1,000 listed products, searchable in Chinese.
            hits = s.client().get("/api/v1/products?q=%E6%89%8B%E6%9C%BA&limit=5").json["items"]
            self.assertEqual(len(hits), 5)
            # Orders in every status, paid through the simulator while the server runs.
            wanted = {"pending_payment", "paid", "shipped", "delivered", "completed", "cancelled", "closed"}

            def statuses():
                items = op.get("/api/v1/orders?limit=100").json["items"]
                found = {o["status"] for o in items}
                return found if wanted <= found else None
            wait_until(statuses, timeout=240, what="demo orders in every status")
            self.assertEqual(s.stop(), 0)
            for what in ("ledger", "stock", "audit"):
                out = subprocess.run([JISHI, "verify", what, "--data-dir", s.data_dir],
                                     capture_output=True, text=True)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            s.start()  # same data dir: keeps the demo data, seeds nothing twice
            self.assertEqual(len(s.login("operator@jishi.demo", "jishi-demo-2026")
                                 .get("/api/v1/orgs?kind=merchant&limit=100").json["items"]), 12)
        finally:
            s.cleanup()

    def test_refuses_a_database_newer_than_the_binary(self):
        s = Server().start()
        s.stop()
        with sqlite3.connect(s.db_path) as db:
            db.execute("INSERT INTO schema_migrations (version, name, applied_at_us) VALUES (9999, 'future', 0)")
        out = subprocess.run([JISHI, "serve", "--data-dir", s.data_dir, "--listen", "127.0.0.1:0"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("schema version 9999", out.stderr)
        self.assertIn("newer jishi", out.stderr)
        s.cleanup()

    def test_static_files_with_caching_and_spa_fallback(self):
        root = tempfile.mkdtemp(prefix="jishi-web-")
        os.makedirs(os.path.join(root, "assets"))
        os.makedirs(os.path.join(root, "seller"))
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<html>shop</html>")
        with open(os.path.join(root, "seller", "index.html"), "w") as f:
            f.write("<html>seller</html>")
        with open(os.path.join(root, "assets", "app.3f9a.js"), "w") as f:
            f.write("console.log(1)")
        s = Server(web_root=root).start()
        try:
            c = s.client()
            home = c.get("/")
            self.assertEqual((home.status, home.body), (200, "<html>shop</html>"))
            self.assertEqual(home.headers["cache-control"], "no-cache")
            js = c.get("/assets/app.3f9a.js")
            self.assertTrue(js.headers["content-type"].startswith("text/javascript"))
            self.assertIn("immutable", js.headers["cache-control"])
            self.assertEqual(c.get("/assets/app.3f9a.js", headers={"If-None-Match": js.headers["etag"]}).status, 304)
            self.assertEqual(c.get("/seller/orders/42").body, "<html>seller</html>")
            self.assertEqual(c.get("/products/7").body, "<html>shop</html>")
            self.assertEqual(c.get("/assets/missing.js").status, 404)
            self.assertEqual(c.get("/../../etc/passwd").status, 404)
            self.assertEqual(c.get("/api/v1/unknown").headers["content-type"], "application/problem+json")
        finally:
            s.cleanup()

    def test_migrate_version_and_help_verbs(self):
        d = tempfile.mkdtemp(prefix="jishi-migrate-")
        first = subprocess.run([JISHI, "migrate", "--data-dir", d], capture_output=True, text=True, timeout=60)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn("migrated to schema version", first.stdout)
        again = subprocess.run([JISHI, "migrate", "--data-dir", d], capture_output=True, text=True, timeout=60)
        self.assertIn("schema is current", again.stdout)
        with sqlite3.connect(os.path.join(d, "jishi.db")) as db:
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        version = subprocess.run([JISHI, "version"], capture_output=True, text=True, timeout=30)
        self.assertRegex(version.stdout, r"^jishi \d+\.\d+\.\d+ \(schema \d+\)")
        for verb in (["serve"], ["demo"], ["migrate"], ["admin", "create"], ["routes"]):
            h = subprocess.run([JISHI] + verb + ["--help"], capture_output=True, text=True, timeout=30)
            self.assertEqual(h.returncode, 0)
            self.assertIn("--", h.stdout)
        key = os.path.join(d, "jishi.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)

    def test_migrate_refuses_while_a_server_runs(self):
        # A running server writes as its own schema says; migrating under it could leave it
        # storing what the new schema no longer stores (order.created).
        s = Server()
        try:
            s.start()
            r = subprocess.run([JISHI, "migrate", "--data-dir", s.data_dir], capture_output=True, text=True, timeout=60)
            self.assertIn("schema is current", r.stdout)  # nothing to do: not refused
            with sqlite3.connect(os.path.join(s.data_dir, "jishi.db")) as db:
                db.execute("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)")
            r = subprocess.run([JISHI, "migrate", "--data-dir", s.data_dir], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("another jishi server is running", r.stderr)
        finally:
            s.cleanup()

    def test_verify_ledger_passes_a_sound_ledger_and_names_a_violation(self):
        d = tempfile.mkdtemp(prefix="jishi-ledger-")
        subprocess.run([JISHI, "migrate", "--data-dir", d], capture_output=True, check=True, timeout=60)
        db_path = os.path.join(d, "jishi.db")
        with sqlite3.connect(db_path) as db:
            for acct in (1, 2):
                db.execute("INSERT INTO ledger_accounts (id, currency, code, flags, created_at_us) "
                           "VALUES (?, 'CNY', 1, 0, 0)", (acct,))
            db.execute("INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,"
                       " kind, timeout_us, code, reference, created_at_us) VALUES (9, 1, 2, 500, 'CNY',"
                       " 'single', 0, 0, '', 0)")
            db.execute("UPDATE ledger_accounts SET debits_posted = 500 WHERE id = 1")
            db.execute("UPDATE ledger_accounts SET credits_posted = 500 WHERE id = 2")
        ok = subprocess.run([JISHI, "verify", "ledger", "--data-dir", d], capture_output=True, text=True, timeout=60)
        self.assertEqual((ok.returncode, ok.stdout.strip()), (0, "ledger ok: 2 accounts, 1 transfers"))
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE ledger_accounts SET credits_posted = 499 WHERE id = 2")  # a fen goes missing
        bad = subprocess.run([JISHI, "verify", "ledger", "--data-dir", d], capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("CNY: total debits != total credits", bad.stdout)

    def test_config_file_and_environment_are_applied(self):
        d = tempfile.mkdtemp(prefix="jishi-cfg-")
        cfg = os.path.join(d, "jishi.toml")
        with open(cfg, "w") as f:
            f.write('log_level = "debug"\nlisten = "127.0.0.1:1"\n')
        env = dict(os.environ, JISHI_IO_THREADS="banana")
        out = subprocess.run([JISHI, "serve", "--config", cfg, "--data-dir", d], env=env,
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("JISHI_IO_THREADS", out.stderr)


if __name__ == "__main__":
    unittest.main()
