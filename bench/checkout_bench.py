"""Checkouts over HTTP against a real server (started here on a fresh data dir), driven by wrk.

  python3 bench/checkout_bench.py JISHI_BINARY [SECONDS] [SKUS]

Sets up, through the API: one merchant with SKUS SKUs (100 per product, a million units each),
BENCH_BUYERS virtual buyers (10,000 by default, as many as the PostgreSQL peer's buyers; each
registered and signed in once, registered by wrk with bench/register.lua), and one buyer with a
funded wallet (a top-up paid by card through the built-in simulator) for the wallet-paid run.
Then runs wrk (2 threads, BENCH_CONNECTIONS keep-alive connections, 64 by default) for SECONDS
each, the virtual buyers taking turns (BENCH_BUYERS=0: the one funded buyer does every checkout,
as before 2026-11-30's session 19):
  uniform      checkouts of 1–3 random SKUs
  hot          every checkout buys the same SKU
  uniform+pay  each checkout followed by paying its intent from the wallet (two writes), by
               the one funded buyer
  uniform+edits  uniform while the merchant changes random SKUs' prices, BENCH_EDITS_PER_S (20)
               a second (every change reaches the writer's offer cache)
First the floor, `floor kind=healthz ...`: the same script and bodies sent as GET /healthz,
the ceiling of the HTTP path with wrk on the same cores. Prints `checkout kind=K per_s=N p50_ms=N p99_ms=N errors=N server_cpu_us=N server_written_kb=N`
per run: the last two are the server's CPU time (every thread) and disk writes per request,
steadier than per_s on a shared machine. Every run then says where each request's CPU went
(`cpu_io_us cpu_writer_us cpu_sync_us cpu_ckpt_us cpu_other_us wrk_cpu_us`: the server's
threads and the load generator, from /proc and wrk's rusage) and `cpu_ceiling_per_s`, the rate
the machine's cores could carry at that cost with nothing else running. Each checkout run adds where its mean latency went
(`mean_ms=N server_ms=N writer_ms=N queue_ms=N durable_ms=N`: wrk's mean, the server's from
header read to reply written, the writer's from submission to durable, and of that the wait
for a batch and the time from its COMMIT to durable; latency_split below). wrk runs on the same 2 cores as the server. After the
runs, `steady buyers=N buyers_with_orders=N` says how many of the virtual buyers checked out.
Then the flash sale (秒杀): BENCH_FLASH_UNITS units of one SKU (100,000 by default) and a crowd of
BENCH_FLASH_BUYERS buyers (200,000; registered first through the API by wrk and
bench/register.lua), each checking out once over BENCH_FLASH_CONNECTIONS connections (256) until the SKU
is sold out. It prints `flash units=N buyers=N connections=N sold=N sold_out_s=S oversold=N
buyers_served=N units_ordered=N unexpected_responses=N` (who bought, read from the orders;
answers other than 201 and the sold-out 409), then
runs `jishi verify stock` and `jishi verify ledger` on the data.
With BENCH_PERF_DIR set, `perf record` (call graphs: BENCH_PERF_CALL_GRAPH, fp or dwarf) profiles the server over each run into
BENCH_PERF_DIR/perf-KIND.data, and over the flash sale into perf-flash.data (read them with
`perf report -i`).
For experiments, BENCH_KINDS picks the runs (comma-separated, e.g. `uniform,hot`) and
BENCH_SERVER_SET passes server settings (`io_threads=1 writer_batch_max=500`, as `serve --set`).
BENCH_REGISTER_MAX_SECONDS (300) bounds each registration of buyers.
"""
import concurrent.futures
import contextlib
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

JISHI = sys.argv[1]
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SKUS = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
FLASH_UNITS = int(os.environ.get("BENCH_FLASH_UNITS", "100000"))
# The crowd: this many buyers, registered through the API, each checking out once (0: the one
# bench buyer checks out again and again).
FLASH_BUYERS = int(os.environ.get("BENCH_FLASH_BUYERS", "200000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
# The steady runs' virtual buyers, each signed in once (the issue's harness; the peer's
# accounts are 10,000 buyers too). 0: the one funded buyer does every checkout.
BUYERS = int(os.environ.get("BENCH_BUYERS", "10000"))
# Two wrk threads, each with its own half of the buyers: at least one each.
assert BUYERS == 0 or BUYERS >= 2, "BENCH_BUYERS must be 0 (one buyer) or at least 2"
# How long a registration of buyers through wrk may take before the bench gives up.
REGISTER_MAX_SECONDS = int(os.environ.get("BENCH_REGISTER_MAX_SECONDS", "300"))
PERF_DIR = os.environ.get("BENCH_PERF_DIR")
EDITS_PER_S = float(os.environ.get("BENCH_EDITS_PER_S", "20"))
PERF_CALLS = os.environ.get("BENCH_PERF_CALL_GRAPH", "fp")  # "dwarf" for code without frame pointers
# A flash sale's crowd arrives at once: more buyers in flight than the steady runs' 64 (which
# sold the 100,000 units in 6.8-10.0 s on the 2-core VM, against ~5.8 s with 256).
FLASH_CONNECTIONS = int(os.environ.get("BENCH_FLASH_CONNECTIONS", "256"))
FLASH_MAX_SECONDS = int(os.environ.get("BENCH_FLASH_MAX_SECONDS", "120"))
# For experiments: the runs to make (a comma-separated subset of floor, uniform, hot,
# uniform+pay, uniform+edits; all by default), and server settings (`key=value ...`, passed as
# `serve --set`).
KINDS = os.environ.get("BENCH_KINDS", "floor,uniform,hot,uniform+pay,uniform+edits").split(",")
SERVER_SET = os.environ.get("BENCH_SERVER_SET", "").split()
HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-password-1"


def call(port, method, path, body=None, token=None, form=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, data, headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)


def uscc():
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    body = "91330106MA2CDE7R6"
    s = sum(chars.index(c) * w for c, w in zip(body, weights))
    return body + chars[(31 - s % 31) % 31]


def start_perf(run, pid):
    """With BENCH_PERF_DIR: `perf record` of the server (pid) into perf-RUN.data until stop_perf."""
    if not PERF_DIR:
        return None
    return subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", PERF_CALLS, "-p", str(pid),
                             "-o", os.path.join(PERF_DIR, "perf-%s.data" % run.replace("+", "-"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_perf(perf):
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()


# The checkout route's server-side latency (header read to reply written), from /metrics.
CHECKOUT_SECONDS = "jishi_http_request_seconds"
CHECKOUT_ROUTE = '{method="POST",route="/api/v1/checkouts"}'


def latency_split(wrk_out, m0, m1):
    """Where a checkout's mean latency goes, from wrk's mean and the server's metrics over the
    run: mean_ms (wrk, the client's view), server_ms (the server, header read to reply
    written), writer_ms (the writer, submitted to durable), queue_ms (of it, waiting for a
    batch) and durable_ms (of it, from the batch's COMMIT to durable: the syncer). mean - server
    is the kernel, wrk and the wait for the I/O thread to read; server - writer the I/O thread's
    own work (parse, authenticate, seal; the reply) and its queue; writer - queue - durable the
    batch's execution and COMMIT."""
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b", wrk_out)
    mean = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else 0.0

    def mean_ms(name, route=""):
        n = m1[name + "_count" + route] - m0[name + "_count" + route]
        return 1000 * (m1[name + "_sum" + route] - m0[name + "_sum" + route]) / n if n else 0.0
    return "mean_ms=%.2f server_ms=%.2f writer_ms=%.2f queue_ms=%.2f durable_ms=%.2f" % (
        mean, mean_ms(CHECKOUT_SECONDS, CHECKOUT_ROUTE), mean_ms("jishi_writer_command_seconds"),
        mean_ms("jishi_writer_wait_seconds"), mean_ms("jishi_writer_durable_seconds"))


# The server's threads by name: the writer, its syncer and its checkpointer name themselves;
# the I/O thread (and the idle main thread) keep the process's name, the binary's.
THREAD_GROUPS = {"jishi-writer": "writer", "jishi-sync": "sync", "jishi-ckpt": "ckpt"}


def thread_cpu(pid):
    """CPU seconds so far of the server's thread groups (THREAD_GROUPS and io), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/%d/comm" % pid) as f:
        groups = dict(THREAD_GROUPS, **{f.read().strip(): "io"})
    cpu = dict.fromkeys(groups.values(), 0.0)
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, tail = f.read().rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile (its time stays in the process's total)
        group = groups.get(head.split("(", 1)[1])
        if group:
            fields = tail.split()
            cpu[group] += (int(fields[11]) + int(fields[12])) / tick
    return cpu


def children_cpu():
    """CPU seconds of this script's ended and reaped children (wrk, once it has exited)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_split(server_s, threads0, threads1, wrk_s, requests):
    """Where each request's CPU went, in µs: the server's thread groups, the rest of the server
    (other_us: the payment simulator's notifier, threads that ended), the load generator
    (wrk_us), and the rate two cores could carry at that cost if nothing else ran
    (cpu_ceiling_per_s): a bound from CPU alone, whatever the latency."""
    us = {g: (threads1[g] - threads0[g]) * 1e6 / requests for g in threads0}
    other = max(0.0, server_s * 1e6 / requests - sum(us.values()))
    wrk = wrk_s * 1e6 / requests
    total = server_s * 1e6 / requests + wrk
    return ("cpu_io_us=%.1f cpu_writer_us=%.1f cpu_sync_us=%.1f cpu_ckpt_us=%.1f cpu_other_us=%.1f "
            "wrk_cpu_us=%.1f cpu_ceiling_per_s=%d") % (
                us["io"], us["writer"], us["sync"], us["ckpt"], other, wrk,
                os.cpu_count() * 1e6 / total if total else 0)


def register_buyers(port, work, name, count):
    """Registers `count` buyers through the API (wrk with register.lua, two threads) and
    returns the prefix of the files holding their session tokens (<prefix>.0, <prefix>.1)."""
    started = time.time()
    tokens = os.path.join(work, name)
    per_thread = count // 2  # two wrk threads; an odd count loses its last buyer
    renv = dict(os.environ, JISHI_BENCH_USERS=str(per_thread), JISHI_BENCH_PREFIX=name,
                JISHI_BENCH_TOKENS_OUT=tokens)
    reg = subprocess.Popen(["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % REGISTER_MAX_SECONDS, "-s",
                            os.path.join(HERE, "register.lua"), "http://127.0.0.1:%d" % port],
                           env=renv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def held():
        n = 0
        for t in range(2):
            try:
                with open("%s.%d" % (tokens, t)) as f:
                    n += sum(1 for line in f if line.endswith("\n"))
            except FileNotFoundError:
                pass
        return n
    # wrk runs for its whole -d even when every thread has stopped: end it once the files
    # hold every token.
    while reg.poll() is None and held() < 2 * per_thread:
        time.sleep(0.2)
    reg.terminate()
    reg.wait(30)
    assert held() == 2 * per_thread, "registered %d of %d buyers" % (held(), 2 * per_thread)
    print("%s buyers=%d registered_s=%.1f" % (name, held(), time.time() - started), flush=True)
    return tokens


def main():
    work = tempfile.mkdtemp(prefix="jishi-checkout-bench-")
    env = dict(os.environ, JISHI_ADMIN_PASSWORD=PASSWORD)
    subprocess.run([JISHI, "admin", "create", "--data-dir", work, "--email", "op@bench.example",
                    "--set", "password_hash_cost=min"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([JISHI, "serve", "--data-dir", work, "--listen", "127.0.0.1:0",
                               "--set", "password_hash_cost=min", "--set", "rate_limit_per_s=1000000",
                               "--set", "rate_limit_burst=1000000", "--set", "log_level=warn",
                               "--set", "simulator_notify_retry_ms=50"]
                              + [a for kv in SERVER_SET for a in ("--set", kv)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        port = None
        for line in server.stdout:
            m = re.match(rb"jishi listening on http://[^:]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        _, op = call(port, "POST", "/api/v1/auth/login", {"login": "op@bench.example", "password": PASSWORD})
        op = op["session"]["token"]
        _, seller = call(port, "POST", "/api/v1/auth/register", {"email": "s@bench.example", "password": PASSWORD})
        seller = seller["session"]["token"]
        _, org = call(port, "POST", "/api/v1/orgs", {"kind": "merchant", "name": "压测商店", "credit_code": uscc()}, seller)
        call(port, "POST", "/api/v1/orgs/%s/approve" % org["id"], {"note": "ok"}, op)
        _, cat = call(port, "POST", "/api/v1/categories", {"code": "bench", "name": "压测"}, op)
        sku_ids = []
        for p in range(SKUS // 100):
            st, product = call(port, "POST", "/api/v1/orgs/%s/products" % org["id"],
                               {"title": "压测商品 %d" % p, "category_id": cat["id"],
                                "skus": [{"spec": {"款式": str(i)}, "price": {"amount": 100 + i, "currency": "CNY"}}
                                         for i in range(100)]}, seller)
            assert st == 201, product
            sku_ids += [s["id"] for s in product["skus"]]
            call(port, "POST", "/api/v1/products/%s/list" % product["id"], None, seller)

        def stock(sku):
            st, _ = call(port, "PUT", "/api/v1/skus/%s/stock" % sku, {"on_hand": 1_000_000}, seller)
            assert st == 200
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(stock, sku_ids))
        _, buyer = call(port, "POST", "/api/v1/auth/register", {"email": "b@bench.example", "password": PASSWORD})
        buyer = buyer["session"]["token"]
        # One bench buyer pays thousands of times a second after a top-up of
        # 9 billion by card: the risk rules would rightly hold or block both (every channel's
        # payment is evaluated), so the operator switches them off for the run.
        _, rules = call(port, "GET", "/api/v1/risk/rules?limit=100", None, op)
        for rule in rules["items"]:
            call(port, "PATCH", "/api/v1/risk/rules/%s" % rule["id"], {"enabled": False}, op)
        # Fund the wallet: a top-up paid by card at the simulator's cashier.
        _, topup = call(port, "POST", "/api/v1/payments/intents",
                        {"purpose": "wallet_topup", "reference": "bench-topup",
                         "amount": {"amount": 900_000_000_000, "currency": "CNY"}}, buyer)
        _, c = call(port, "POST", "/api/v1/payments/intents/%s/confirm" % topup["id"], {"channel": "card"}, buyer)
        call(port, "POST", urllib.parse.urlparse(c["cashier_url"]).path, form={"result": "success", "card_number": "6222020200001111"})
        for _ in range(200):
            _, i = call(port, "GET", "/api/v1/payments/intents/%s" % topup["id"], None, buyer)
            if i["status"] == "succeeded":
                break
            time.sleep(0.05)
        # The last SKU is kept for the flash sale: no earlier run reserves any of it (a
        # reservation not yet folded into the stock row would hide from the sale's accounting).
        sku_file = os.path.join(work, "skus.txt")
        with open(sku_file, "w") as f:
            f.write("\n".join(sku_ids[:-1]))
        # The steady runs' virtual buyers, each signed in once (registration returns a session).
        steady = register_buyers(port, work, "steady", BUYERS) if BUYERS else None
        results = []
        def metrics_now():
            _, raw = call(port, "GET", "/metrics")
            text = raw.decode() if isinstance(raw, bytes) else str(raw)

            def metric(name):
                m = re.search(r"^%s ([\d.e+-]+)$" % re.escape(name), text, re.M)
                return float(m.group(1)) if m else 0.0
            return {k: metric(k) for k in ("jishi_writer_batch_commands_sum", "jishi_writer_batch_commands_count",
                                           "jishi_writer_commit_seconds_sum", "jishi_writer_commit_seconds_count",
                                           "jishi_writer_sync_seconds_sum", "jishi_writer_sync_seconds_count",
                                           "jishi_writer_sync_batches_sum",
                                           "jishi_writer_hook_runs_total",
                                           "jishi_writer_queue_depth",
                                           "jishi_writer_wait_seconds_sum", "jishi_writer_wait_seconds_count",
                                           "jishi_writer_command_seconds_sum",
                                           "jishi_writer_command_seconds_count",
                                           "jishi_writer_durable_seconds_sum",
                                           "jishi_writer_durable_seconds_count",
                                           CHECKOUT_SECONDS + "_sum" + CHECKOUT_ROUTE,
                                           CHECKOUT_SECONDS + "_count" + CHECKOUT_ROUTE)}
        def server_usage():
            """The server's CPU seconds (every thread) and bytes written to storage so far."""
            with open("/proc/%d/stat" % server.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            written = 0
            with open("/proc/%d/io" % server.pid) as f:
                for row in f:
                    if row.startswith("write_bytes:"):
                        written = int(row.split()[1])
            return cpu, written
        before_runs = metrics_now()
        # The floor first: the same wrk script building the same bodies, but sending GET /healthz,
        # which the server answers without the writer or the database. No checkout over HTTP can
        # go faster on this machine than this ceiling of the HTTP path and the load generator.
        for kind, hot, pay in (("floor", "0", "0"), ("uniform", "0", "0"), ("hot", "1", "0"),
                               ("uniform+pay", "0", "1"), ("uniform+edits", "0", "0")):
            if kind not in KINDS:
                continue
            if pay == "1":
                _, before = call(port, "GET", "/api/v1/me/wallet", None, buyer)
            wenv = dict(os.environ, JISHI_BENCH_TOKEN=buyer, JISHI_BENCH_SKUS=sku_file,
                        JISHI_BENCH_HOT=hot, JISHI_BENCH_PAY=pay,
                        JISHI_BENCH_FLOOR="1" if kind == "floor" else "0")
            if steady and pay == "0":
                wenv.update(JISHI_BENCH_TOKENS=steady, JISHI_BENCH_ROTATE="1")
            usage0 = server_usage()
            threads0 = thread_cpu(server.pid)
            metrics0 = metrics_now()
            # Sellers at work: the merchant changes the prices of random SKUs, EDITS_PER_S a
            # second, while the buyers check out (every change reaches the writer's offer cache).
            editing = threading.Event()
            edits = []
            if kind == "uniform+edits":
                def edit_prices():
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    rng = random.Random(7)
                    while not editing.wait(1.0 / EDITS_PER_S):
                        sku = rng.choice(sku_ids[:-1])
                        conn.request("PATCH", "/api/v1/skus/%s" % sku,
                                     json.dumps({"price": {"amount": rng.randrange(100, 200), "currency": "CNY"}}),
                                     {"Authorization": "Bearer " + seller, "Content-Type": "application/json"})
                        r = conn.getresponse()
                        r.read()
                        edits.append(r.status)
                    conn.close()
                editor = threading.Thread(target=edit_prices)
                editor.start()
            perf = start_perf(kind, server.pid)
            wrk0 = children_cpu()
            out = subprocess.run(["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % SECONDS, "--latency",
                                  "-s", os.path.join(HERE, "checkout.lua"), "http://127.0.0.1:%d" % port],
                                 env=wenv, capture_output=True, text=True).stdout
            wrk_s = children_cpu() - wrk0  # before perf, also a child, is reaped
            stop_perf(perf)
            if kind == "uniform+edits":
                editing.set()
                editor.join()
                assert edits and all(st == 200 for st in edits), "price edits failed: %s" % edits[:5]
                print("price edits=%d over the run" % len(edits), flush=True)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            def pct(p):
                m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, out)
                v, unit = float(m.group(1)), m.group(2)
                return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            # With payment, half the requests are checkouts and half are payments; count the
            # payments that landed from the wallet's movements.
            per_s = rps / 2 if pay == "1" else rps
            if pay == "1":
                _, after = call(port, "GET", "/api/v1/me/wallet/entries?limit=1", None, buyer)
                _, now = call(port, "GET", "/api/v1/me/wallet", None, buyer)
                spent = before["balance"]["amount"] - now["balance"]["amount"]
                print("wallet spent %d minor units over the run" % spent, flush=True)
            p999 = re.search(r"p999_us=(\d+)", out)
            # The server's CPU (all threads) and disk writes per request: steadier than per_s
            # on a shared machine.
            usage1 = server_usage()
            threads1 = thread_cpu(server.pid)
            metrics1 = metrics_now()
            requests = max(1.0, rps * SECONDS)
            line = ("%s per_s=%d p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f errors=%s "
                    "server_cpu_us=%.1f server_written_kb=%.1f") % (
                "floor kind=healthz" if kind == "floor" else "checkout kind=" + kind, per_s, pct(50), pct(99), int(p999.group(1)) / 1000 if p999 else 0,
                non2xx.group(1) if non2xx else "0",
                (usage1[0] - usage0[0]) * 1e6 / requests, (usage1[1] - usage0[1]) / 1024 / requests)
            line += " " + cpu_split(usage1[0] - usage0[0], threads0, threads1, wrk_s, requests)
            if kind != "floor":
                line += " " + latency_split(out, metrics0, metrics1)
            print(line, flush=True)
            results.append(line)
        # The server's own view of the runs (setup excluded): batch sizes, commit latency.
        after_runs = metrics_now()
        d = {k: after_runs[k] - before_runs[k] for k in after_runs}
        # With pipelined durability, COMMIT is the WAL write and the fsync is the syncer's.
        # fold_share: the batches that also folded the deferred reservations into the stock.
        print("server mean_batch_commands=%.1f mean_commit_ms=%.2f mean_sync_ms=%.2f "
              "batches_per_sync=%.1f fold_share=%.2f queue_depth=%d" % (
                  d["jishi_writer_batch_commands_sum"] / max(1, d["jishi_writer_batch_commands_count"]),
                  1000 * d["jishi_writer_commit_seconds_sum"] / max(1, d["jishi_writer_commit_seconds_count"]),
                  1000 * d["jishi_writer_sync_seconds_sum"] / max(1, d["jishi_writer_sync_seconds_count"]),
                  d["jishi_writer_batch_commands_count"] / max(1, d["jishi_writer_sync_seconds_count"])
                  if d["jishi_writer_sync_seconds_count"] else 0,
                  d["jishi_writer_hook_runs_total"] / max(1, d["jishi_writer_batch_commands_count"]),
                  after_runs["jishi_writer_queue_depth"]), flush=True)
        if steady:
            # How many of the virtual buyers checked out (the funded buyer's orders, from the
            # wallet-paid run, are not theirs).
            _, me = call(port, "GET", "/api/v1/me", None, buyer)
            with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % os.path.join(work, "jishi.db"),
                                                    uri=True)) as db:
                with_orders = db.execute("SELECT COUNT(DISTINCT buyer_id) FROM ord_orders WHERE buyer_id != ?",
                                         (int(me["user"]["id"]),)).fetchone()[0]
            print("steady buyers=%d buyers_with_orders=%d" % (2 * (BUYERS // 2), with_orders), flush=True)
        # A flash sale (秒杀): FLASH_UNITS units of one SKU, FLASH_BUYERS buyers at once, each
        # checking out once, until sold out. The crowd registers first, through the API.
        flash_sku = sku_ids[-1]
        wenv = dict(os.environ, JISHI_BENCH_TOKEN=buyer, JISHI_BENCH_HOT="1", JISHI_BENCH_PAY="0")
        if FLASH_BUYERS:
            tokens = register_buyers(port, work, "crowd", FLASH_BUYERS)
            wenv["JISHI_BENCH_TOKENS"] = tokens
        _, level = call(port, "GET", "/api/v1/skus/%s/stock" % flash_sku, None, seller)
        reserved_before = level["reserved"]  # 0: no earlier run bought this SKU
        st, _ = call(port, "PUT", "/api/v1/skus/%s/stock" % flash_sku,
                     {"on_hand": reserved_before + FLASH_UNITS}, seller)
        assert st == 200
        flash_file = os.path.join(work, "flash.txt")
        with open(flash_file, "w") as f:
            f.write(flash_sku)
        wenv["JISHI_BENCH_SKUS"] = flash_file
        perf = start_perf("flash", server.pid)
        started = time.time()
        wrk = subprocess.Popen(["wrk", "-t2", "-c%d" % FLASH_CONNECTIONS, "-d%ds" % FLASH_MAX_SECONDS, "-s",
                                os.path.join(HERE, "checkout.lua"), "http://127.0.0.1:%d" % port],
                               env=wenv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        sold_out_s = None
        while wrk.poll() is None:
            _, level = call(port, "GET", "/api/v1/skus/%s/stock" % flash_sku, None, seller)
            if level["on_hand"] - level["reserved"] <= 0 and sold_out_s is None:
                sold_out_s = time.time() - started
                break
            time.sleep(0.05)
        # SIGINT: wrk stops and still prints its summary and the script's done() (the count of
        # unexpected answers).
        wrk.send_signal(signal.SIGINT)
        flash_out = wrk.communicate(timeout=30)[0]
        unexpected = re.search(r"unexpected_responses=(\d+)", flash_out)
        stop_perf(perf)
        _, level = call(port, "GET", "/api/v1/skus/%s/stock" % flash_sku, None, seller)
        sold = level["reserved"] - reserved_before
        oversold = max(0, sold - FLASH_UNITS)
        # Who bought: read from the data file beside the running server (WAL lets a reader in).
        with contextlib.closing(sqlite3.connect("file:%s?mode=ro" % os.path.join(work, "jishi.db"),
                                                uri=True)) as db:
            buyers_served, units = db.execute(
                "SELECT COUNT(DISTINCT o.buyer_id), COALESCE(SUM(json_extract(l.value, '$[7]')), 0) "
                "FROM ord_orders o, json_each(o.lines) l WHERE json_extract(l.value, '$[1]') = ? "
                "AND o.created_at_us >= ?",
                (int(flash_sku), int(started * 1e6))).fetchone()
        print("flash units=%d buyers=%d connections=%d sold=%d sold_out_s=%s oversold=%d "
              "buyers_served=%d units_ordered=%d unexpected_responses=%s" % (
                  FLASH_UNITS, 2 * (FLASH_BUYERS // 2) or 1, FLASH_CONNECTIONS, sold,
                  "%.2f" % sold_out_s if sold_out_s else "never", oversold, buyers_served, units,
                  unexpected.group(1) if unexpected else "?"),
              flush=True)
        out = subprocess.run([JISHI, "verify", "stock", "--data-dir", work], capture_output=True, text=True)
        print(out.stdout.strip())
        out = subprocess.run([JISHI, "verify", "ledger", "--data-dir", work], capture_output=True, text=True)
        print(out.stdout.strip())
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
