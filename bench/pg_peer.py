"""The PostgreSQL peer: the checkout transaction most platforms run, on PostgreSQL 15, measured
with pgbench -M prepared. Starts its own server on 127.0.0.1 in a temporary directory (fsync
and synchronous_commit on) and stops it afterwards.

  python3 bench/pg_peer.py [SECONDS] [SKUS]

One transaction = a guarded stock UPDATE per line (1–3 lines, or the one hot SKU), an order and
its lines, a ledger transfer, two balance updates (the buyer's and the merchant's, one of 100
merchants) and an idempotency key. Runs uniform and hot with 8 and 32 clients; prints
`pg kind=K clients=C per_s=N p50_ms=N p99_ms=N p999_ms=N failed=N` per run and, last, the best
configuration per kind as `pg_best kind=K per_s=N p99_ms=N clients=C`.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SKUS = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
BIN = "/usr/lib/postgresql/15/bin"
BUYERS = 10_000
MERCHANTS = 100

SCHEMA = """
CREATE TABLE stock (sku_id bigint PRIMARY KEY, on_hand bigint NOT NULL, reserved bigint NOT NULL,
                    price bigint NOT NULL, merchant_id bigint NOT NULL,
                    CHECK (reserved >= 0 AND reserved <= on_hand));
CREATE TABLE orders (id bigserial PRIMARY KEY, buyer_id bigint NOT NULL, merchant_id bigint NOT NULL,
                     total bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE order_lines (order_id bigint NOT NULL REFERENCES orders(id), line_no int NOT NULL,
                          sku_id bigint NOT NULL, quantity int NOT NULL, price bigint NOT NULL,
                          PRIMARY KEY (order_id, line_no));
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE transfers (id bigserial PRIMARY KEY, debit bigint NOT NULL, credit bigint NOT NULL,
                        amount bigint NOT NULL, order_id bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE idempotency_keys (key text PRIMARY KEY, order_id bigint NOT NULL);
INSERT INTO stock SELECT g, 1000000000, 0, 100 + mod(g, 1000), mod(g, %(merchants)d) FROM generate_series(1, %(skus)d) g;
INSERT INTO accounts SELECT g, 1000000000000 FROM generate_series(1, %(buyers)d) g;
INSERT INTO accounts SELECT -g, 0 FROM generate_series(0, %(merchants)d - 1) g;
VACUUM ANALYZE;
"""

# pgbench scripts: \\if runs the 2nd and 3rd lines for 2- and 3-line checkouts.
SCRIPT = """
\\set buyer random(1, %(buyers)d)
\\set n %(n)s
\\set s1 %(s1)s
\\set s2 random(1, %(skus)d)
\\set s3 random(1, %(skus)d)
\\set m random(0, %(merchants)d - 1)
\\set macct -1 * :m
BEGIN;
UPDATE stock SET reserved = reserved + 1 WHERE sku_id = :s1 AND on_hand - reserved >= 1 RETURNING price AS p1 \\gset
\\if :n >= 2
UPDATE stock SET reserved = reserved + 1 WHERE sku_id = :s2 AND on_hand - reserved >= 1 RETURNING price AS p2 \\gset
\\else
\\set p2 0
\\endif
\\if :n >= 3
UPDATE stock SET reserved = reserved + 1 WHERE sku_id = :s3 AND on_hand - reserved >= 1 RETURNING price AS p3 \\gset
\\else
\\set p3 0
\\endif
\\set total :p1 + :p2 + :p3 + 800
INSERT INTO orders (buyer_id, merchant_id, total, status) VALUES (:buyer, :m, :total, 'pending_payment') RETURNING id AS order_id \\gset
INSERT INTO order_lines VALUES (:order_id, 1, :s1, 1, :p1);
\\if :n >= 2
INSERT INTO order_lines VALUES (:order_id, 2, :s2, 1, :p2);
\\endif
\\if :n >= 3
INSERT INTO order_lines VALUES (:order_id, 3, :s3, 1, :p3);
\\endif
INSERT INTO transfers (debit, credit, amount, order_id) VALUES (:buyer, :macct, :total, :order_id);
UPDATE accounts SET balance = balance - :total WHERE id = :buyer;
UPDATE accounts SET balance = balance + :total WHERE id = :macct;
INSERT INTO idempotency_keys VALUES ('c' || :client_id || '-' || :order_id, :order_id);
END;
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def as_postgres(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + args, **kw) if os.geteuid() == 0 \
        else subprocess.run(args, **kw)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    work = tempfile.mkdtemp(prefix="jishi-pg-peer-")
    data = os.path.join(work, "data")
    os.chmod(work, 0o777)
    port = free_port()
    as_postgres([BIN + "/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                check=True, capture_output=True)
    opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on "
            "-c full_page_writes=on -c shared_buffers=256MB -c max_connections=100 "
            "-c checkpoint_timeout=30min -c max_wal_size=4GB" % (port, work))
    as_postgres([BIN + "/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(work, "pg.log"), "-w", "start"],
                check=True, capture_output=True)
    psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    try:
        version = subprocess.run(psql + ["-tAc", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
        print("pg_version %s" % version, flush=True)
        sql = SCHEMA % {"skus": SKUS, "buyers": BUYERS, "merchants": MERCHANTS}
        subprocess.run(psql, input=sql, text=True, check=True, capture_output=True)
        best = {}
        for kind in ("uniform", "hot"):
            script = os.path.join(work, "%s.sql" % kind)
            with open(script, "w") as f:
                f.write(SCRIPT % {"buyers": BUYERS, "skus": SKUS, "merchants": MERCHANTS,
                                  "n": "random(1, 3)" if kind == "uniform" else "1",
                                  "s1": "random(1, %d)" % SKUS if kind == "uniform" else "1"})
            for clients in (8, 32):
                prefix = os.path.join(work, "log-%s-%d" % (kind, clients))
                out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                      "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
                                      "-T", str(SECONDS), "-f", script, "--log", "--log-prefix", prefix,
                                      "postgres"], capture_output=True, text=True)
                text = out.stdout + out.stderr
                m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
                tps = float(m.group(1)) if m else 0.0
                failed = re.search(r"number of failed transactions: (\d+)", text)
                lat = []
                for name in os.listdir(work):
                    if name.startswith(os.path.basename(prefix) + "."):
                        with open(os.path.join(work, name)) as f:
                            for line in f:
                                parts = line.split()
                                if len(parts) >= 3:
                                    lat.append(int(parts[2]) / 1000.0)
                        os.remove(os.path.join(work, name))
                lat.sort()
                line = "pg kind=%s clients=%d per_s=%d p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f failed=%s" % (
                    kind, clients, tps, percentile(lat, 50), percentile(lat, 99), percentile(lat, 99.9),
                    failed.group(1) if failed else "0")
                if out.returncode != 0 and tps == 0:
                    line += " error=%r" % [l for l in text.splitlines() if "error" in l.lower()][:3]
                print(line, flush=True)
                if tps > best.get(kind, (0, 0, 0))[0]:
                    best[kind] = (tps, percentile(lat, 99), clients)
        for kind, (tps, p99, clients) in best.items():
            print("pg_best kind=%s per_s=%d p99_ms=%.2f clients=%d" % (kind, tps, p99, clients), flush=True)
    finally:
        as_postgres([BIN + "/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
