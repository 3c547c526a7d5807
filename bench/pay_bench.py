"""Payments over HTTP against a real server (started here on a fresh data dir).

  python3 bench/pay_bench.py JISHI_BINARY [SECONDS] [THREADS]

Measures, with THREADS keep-alive clients for SECONDS each:
  wallet  create an intent + confirm it from the wallet (two durable writes, ledger transfers)
  card    create + confirm by card (a signed gateway call) + pay at the simulator's cashier,
          until the signed notification has captured the money into escrow (end to end)
Prints one line per kind: `pay kind=K payments_per_s=N p50_ms=N p99_ms=N errors=N`.
The client is Python on the same 2 cores: the figures are lower bounds for the server.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

JISHI = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 10
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
PASSWORD = "bench-password-1"


class Client:
    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method, path, body=None, form=None):
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw.decode(errors="replace")


def main():
    work = tempfile.mkdtemp(prefix="jishi-paybench-")
    data = os.path.join(work, "data")
    env = dict(os.environ, JISHI_ADMIN_PASSWORD=PASSWORD)
    subprocess.run([JISHI, "admin", "create", "--data-dir", data, "--email", "op@bench.example",
                    "--set", "password_hash_cost=min"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    server = subprocess.Popen(
        [JISHI, "serve", "--data-dir", data, "--listen", "127.0.0.1:0",
         "--set", "access_log=false", "--set", "password_hash_cost=min",
         "--set", "rate_limit_per_s=1000000000", "--set", "rate_limit_burst=1000000000",
         "--set", "simulator_notify_retry_ms=20", "--set", "pay_worker_interval_ms=50",
         "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = None
        while port is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the server exited")
            if line.startswith("jishi listening on http://"):
                port = int(line.rsplit(":", 1)[1])
        anon = Client(port)
        _, op = anon.call("POST", "/api/v1/auth/login",
                          {"login": "op@bench.example", "password": PASSWORD})
        opc = Client(port, op["session"]["token"])
        _, seller = anon.call("POST", "/api/v1/auth/register",
                              {"email": "seller@bench.example", "password": PASSWORD})
        sc = Client(port, seller["session"]["token"])
        _, org = sc.call("POST", "/api/v1/orgs", {"kind": "merchant", "name": "bench shop",
                                                  "credit_code": "91330106MA2CDE7R6C"})
        opc.call("POST", "/api/v1/orgs/%s/approve" % org["id"], {})
        # The default risk rules would send a bench buyer's 11th payment in a minute to review:
        # switch them off (the bench measures payments, not reviews).
        _, rules = opc.call("GET", "/api/v1/risk/rules?limit=100")
        for rule in rules["items"]:
            opc.call("PATCH", "/api/v1/risk/rules/%s" % rule["id"], {"enabled": False})
        buyers = []
        for i in range(THREADS):
            _, b = anon.call("POST", "/api/v1/auth/register",
                             {"email": "buyer%d@bench.example" % i, "password": PASSWORD})
            buyers.append(b["session"]["token"])

        def pay_at_cashier(client, intent, card):
            url = urllib.parse.urlparse(intent["cashier_url"])
            form = {"result": "success"}
            if card:
                form["card_number"] = "6222020200001111"
            client.call("POST", url.path, form=form)

        def topup(token, amount):
            c = Client(port, token)
            _, i = c.call("POST", "/api/v1/payments/intents",
                          {"purpose": "wallet_topup", "amount": {"amount": amount, "currency": "CNY"},
                           "reference": "topup-" + token[-12:]})
            _, i = c.call("POST", "/api/v1/payments/intents/%s/confirm" % i["id"],
                          {"channel": "qr"})
            pay_at_cashier(c, i, False)
            while c.call("GET", "/api/v1/payments/intents/%s" % i["id"])[1]["status"] != "succeeded":
                time.sleep(0.02)

        for t in buyers:
            topup(t, 10**11)

        def run(kind):
            latencies, errors = [], [0]
            lock = threading.Lock()
            stop = time.monotonic() + SECONDS
            seq = [0]

            def worker(token):
                c = Client(port, token)
                while time.monotonic() < stop:
                    with lock:
                        seq[0] += 1
                        n = seq[0]
                    t0 = time.monotonic()
                    s, i = c.call("POST", "/api/v1/payments/intents",
                                  {"amount": {"amount": 1999, "currency": "CNY"},
                                   "reference": "%s-%d" % (kind, n), "payee_org_id": org["id"]})
                    if s != 201:
                        errors[0] += 1
                        continue
                    if kind == "wallet":
                        s, r = c.call("POST", "/api/v1/payments/intents/%s/confirm" % i["id"],
                                      {"channel": "wallet"})
                        ok = s == 200 and r["status"] == "succeeded"
                    else:
                        s, r = c.call("POST", "/api/v1/payments/intents/%s/confirm" % i["id"],
                                      {"channel": "card"})
                        ok = s == 200
                        st = r
                        if ok:
                            pay_at_cashier(c, r, True)
                            deadline = time.monotonic() + 10
                            while True:
                                st = c.call("GET", "/api/v1/payments/intents/%s" % i["id"])[1]
                                if st["status"] == "succeeded" or time.monotonic() > deadline:
                                    ok = st["status"] == "succeeded"
                                    break
                                time.sleep(0.005)
                    if not ok:
                        if os.environ.get("PAY_BENCH_DEBUG"):
                            print("failed", kind, s, r if kind == "wallet" else st, file=sys.stderr)
                        errors[0] += 1
                        continue
                    with lock:
                        latencies.append((time.monotonic() - t0) * 1000)

            threads = [threading.Thread(target=worker, args=(t,)) for t in buyers]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - t0
            latencies.sort()
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0  # noqa
            print("pay kind=%s payments_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d" % (
                kind, len(latencies) / elapsed, p(0.5), p(0.99), errors[0]), flush=True)

        run("wallet")
        run("card")
        out = subprocess.run([JISHI, "verify", "ledger", "--data-dir", data],
                             capture_output=True, text=True)
        print("pay verify_ledger=%s" % ("ok" if out.returncode == 0 else "FAILED " + out.stdout.strip()))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
