"""Crash test: concurrent writes, kill -9 mid-load, restart. Every acknowledged write must be
present and no command may be half-applied (each command is one transaction)."""
import concurrent.futures
import random
import sqlite3
import threading
import time
import unittest

from harness import ADMIN_PASSWORD, Server, uscc


class CrashTest(unittest.TestCase):
    def test_kill9_mid_load_loses_no_acknowledged_write(self):
        seed = random.randrange(1 << 30)
        print("crash test seed", seed)
        rng = random.Random(seed)
        s = Server()
        s.admin_create()
        s.start()
        try:
            # Four founders per worker keep each under the 100-memberships-per-user limit.
            users = [s.register("crash%d@example.com" % i)[0].token for i in range(32)]
            acked_orgs, acked_users = [], []
            lock = threading.Lock()
            stop = threading.Event()

            def worker(w):
                clients = [s.client(t) for t in users[w * 4:w * 4 + 4]]
                anon = s.client()
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        if rng.random() < 0.7:
                            c = clients[i % 4]
                            n = w * 1_000_000 + i
                            r = c.post("/api/v1/orgs", {"kind": "merchant", "name": "店%d" % n,
                                                        "credit_code": uscc(n)}, key="k%d" % n)
                            if r.status == 201:
                                with lock:
                                    acked_orgs.append(r.json["id"])
                        else:
                            email = "w%d-%d@example.com" % (w, i)
                            r = anon.post("/api/v1/auth/register", {"email": email, "password": "password-123"})
                            if r.status == 201:
                                with lock:
                                    acked_users.append(r.json["user"]["id"])
                    except Exception:
                        return  # the server died under us: expected

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(worker, w) for w in range(8)]
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and len(acked_orgs) < 300:
                    time.sleep(0.01)
                time.sleep(rng.random() * 0.2)
                s.kill9()
                stop.set()
                for f in futures:
                    f.result()
            self.assertGreater(len(acked_orgs), 50, "the load did not get going")

            # The database must be consistent before the server even touches it again.
            with sqlite3.connect(s.db_path) as db:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                org_ids = {str(r[0]) for r in db.execute("SELECT id FROM orgs")}
                user_ids = {str(r[0]) for r in db.execute("SELECT id FROM users")}
                # Creating an organisation writes the org, its admin membership, its first review
                # and the idempotency record: all or nothing.
                half = db.execute(
                    "SELECT COUNT(*) FROM orgs o WHERE kind = 'merchant' AND ("
                    " NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = o.id) OR"
                    " NOT EXISTS (SELECT 1 FROM org_reviews r WHERE r.org_id = o.id))").fetchone()[0]
                self.assertEqual(half, 0)
                orphans = db.execute(
                    "SELECT COUNT(*) FROM users u WHERE email LIKE 'w%' AND NOT EXISTS"
                    " (SELECT 1 FROM sessions s WHERE s.user_id = u.id)").fetchone()[0]
                self.assertEqual(orphans, 0)
                keys = db.execute("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'k%'").fetchone()[0]
                merchants = db.execute("SELECT COUNT(*) FROM orgs WHERE kind = 'merchant'").fetchone()[0]
                self.assertEqual(keys, merchants)
            self.assertEqual(set(acked_orgs) - org_ids, set())
            self.assertEqual(set(acked_users) - user_ids, set())

            s.start()
            op = s.login("operator@example.com", ADMIN_PASSWORD)
            for oid in rng.sample(acked_orgs, min(50, len(acked_orgs))):
                self.assertEqual(op.get("/api/v1/orgs/%s" % oid).status, 200)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
