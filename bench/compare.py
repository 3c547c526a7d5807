"""jishi's checkout side by side with the PostgreSQL peer, in one run on one machine.

  python3 bench/compare.py BUILD_DIR [SECONDS] [SKUS]

Runs bench/checkout_bench.py (HTTP, wrk; includes the flash sale), build/bench/
jishi_checkout_bench (in-process) and bench/pg_peer.py (pgbench -M prepared, 8 and 32 clients),
then writes bench/results/<date>-checkout.md with the table, the ratios, a PNG chart (gnuplot,
when installed), the machine and versions, and ends it — and the run — with the headline:

  headline checkout_http_per_s=N checkout_http_p99_ms=N uniform_ratio_vs_pg=R hot_ratio_vs_pg=R inprocess_per_s=N oversold=0
"""
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "release")
SECONDS = sys.argv[2] if len(sys.argv) > 2 else "10"
SKUS = sys.argv[3] if len(sys.argv) > 3 else "100000"
JISHI = os.path.join(BUILD, "src", "app", "jishi")
INPROCESS = os.path.join(BUILD, "bench", "jishi_checkout_bench")


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def run(args, env=None):
    print("== " + " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args)), flush=True)
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit("bench: %s failed" % args[0])
    return out.stdout.splitlines()


def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except (IndexError, OSError):
        return "?"


def main():
    http = run([sys.executable, os.path.join(HERE, "checkout_bench.py"), JISHI, SECONDS, SKUS])
    work = tempfile.mkdtemp(prefix="jishi-inprocess-")
    try:
        inproc = run([INPROCESS, work, SECONDS, SKUS])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pg = run([sys.executable, os.path.join(HERE, "pg_peer.py"), SECONDS, SKUS])

    j = {fields(l)["kind"]: fields(l) for l in http if l.startswith("checkout ")}
    ip = {fields(l)["kind"]: fields(l) for l in inproc if l.startswith("checkout_inprocess ")}
    runs = [fields(l) for l in pg if l.startswith("pg ")]
    best = {fields(l)["kind"]: fields(l) for l in pg if l.startswith("pg_best ")}
    floor = next((fields(l) for l in http if l.startswith("floor ")), {})
    flash = next((fields(l) for l in http if l.startswith("flash ")), {})
    crowd = next((fields(l) for l in http if l.startswith("crowd ")), {})
    steady = next((fields(l) for l in http if l.startswith("steady ") and "buyers_with_orders=" in l), {})
    server = next((fields(l) for l in http if l.startswith("server ")), {})
    pg_version = next((l.split(" ", 1)[1] for l in pg if l.startswith("pg_version ")), "?")
    stock_ok = any(l.startswith("stock ok") for l in http)
    ledger_ok = any(l.startswith("ledger ok") for l in http)

    def ratio(kind):
        b = float(best.get(kind, {}).get("per_s", 0))
        return float(j[kind]["per_s"]) / b if b else 0.0

    oversold = int(flash.get("oversold", "0")) + (0 if stock_ok else 1)
    headline = ("headline checkout_http_per_s=%d checkout_http_p99_ms=%.1f uniform_ratio_vs_pg=%.2f "
                "hot_ratio_vs_pg=%.2f inprocess_per_s=%d oversold=%d" % (
                    int(j["uniform"]["per_s"]), float(j["uniform"]["p99_ms"]), ratio("uniform"),
                    ratio("hot"), int(ip["uniform"]["per_s"]), oversold))

    date = datetime.date.today().isoformat()
    results = os.path.join(HERE, "results")
    os.makedirs(results, exist_ok=True)
    md = os.path.join(results, "%s-checkout.md" % date)
    png = os.path.join(results, "%s-checkout.png" % date)
    chart = False
    if shutil.which("gnuplot"):
        data = os.path.join(tempfile.gettempdir(), "jishi-checkout-chart.dat")
        with open(data, "w") as f:
            f.write('"uniform" %s %s\n' % (j["uniform"]["per_s"], best["uniform"]["per_s"]))
            f.write('"hot SKU" %s %s\n' % (j["hot"]["per_s"], best["hot"]["per_s"]))
        script = ("set terminal pngcairo size 800,450 font ',11'; set output '%s';"
                  "set title 'Checkouts per second, same machine, same run (higher is better)';"
                  "set style data histograms; set style fill solid 0.8 border -1; set boxwidth 0.9;"
                  "set yrange [0:*]; set grid ytics; set key top left;"
                  "plot '%s' using 2:xtic(1) title 'jishi (HTTP)', '' using 3 title 'PostgreSQL 15 peer (best of 8/32 clients)'"
                  % (png, data))
        chart = subprocess.run(["gnuplot", "-e", script], capture_output=True).returncode == 0

    cpu = first_line("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
    lines = [
        "# Checkout: jishi vs a PostgreSQL peer (%s)" % date,
        "",
        "One run, one machine: %s, %d cores, %s; SQLite %s; %s; PostgreSQL %s (fsync and "
        "synchronous_commit on). Load generators (wrk, pgbench) run on the same cores. %s s per run, "
        "%s SKUs." % (cpu.strip(), os.cpu_count(), platform.platform(), first_line("sqlite3 --version").split()[0],
                      first_line("c++ --version"), pg_version, SECONDS, SKUS),
        "",
        "A checkout re-checks prices and stock, reserves stock, creates the order(s) and lines and the "
        "payment intent, and is durable before the reply. The peer runs the conventional transaction "
        "(guarded stock UPDATE per line, order + lines, a ledger transfer, two balance updates, an "
        "idempotency key) through pgbench -M prepared, each transaction for a random one of 10,000 buyers.",
        "",
        ("jishi's HTTP runs check out as %s virtual buyers taking turns, each registered and signed in "
         "once through the API (%s of them placed orders); the wallet-paid run is one funded buyer's." % (
             steady.get("buyers"), steady.get("buyers_with_orders"))
         if steady else
         "jishi's HTTP runs check out as one buyer (BENCH_BUYERS=0)."),
        "",
        "| workload | jishi HTTP /s | p50 ms | p99 ms | p999 ms | PostgreSQL best /s | its p99 ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("uniform", "1–3 lines, uniform"), ("hot", "one hot SKU")):
        lines.append("| %s | %s | %s | %s | %s | %s (%s clients) | %s | %.2f× |" % (
            label, j[kind]["per_s"], j[kind]["p50_ms"], j[kind]["p99_ms"], j[kind]["p999_ms"],
            best[kind]["per_s"], best[kind]["clients"], best[kind]["p99_ms"], ratio(kind)))
    lines += [
        "",
        "| other runs | /s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        "| jishi HTTP, uniform + wallet payment (two writes) | %s | %s | %s |" % (
            j["uniform+pay"]["per_s"], j["uniform+pay"]["p50_ms"], j["uniform+pay"]["p99_ms"]),
        "| jishi HTTP, uniform while the merchant changes 20 random prices a second | %s | %s | %s |" % (
            j.get("uniform+edits", {}).get("per_s", "?"), j.get("uniform+edits", {}).get("p50_ms", "?"),
            j.get("uniform+edits", {}).get("p99_ms", "?")),
        "| HTTP floor: the same wrk script sending GET /healthz (no writer, no database) | %s | %s | %s |" % (
            floor.get("per_s", "?"), floor.get("p50_ms", "?"), floor.get("p99_ms", "?")),
        "| jishi in-process, uniform | %s | %s | %s |" % (ip["uniform"]["per_s"], ip["uniform"]["p50_ms"], ip["uniform"]["p99_ms"]),
        "| jishi in-process, hot SKU | %s | %s | %s |" % (ip["hot"]["per_s"], ip["hot"]["p50_ms"], ip["hot"]["p99_ms"]),
    ]
    for r in runs:
        lines.append("| PostgreSQL %s, %s clients | %s | %s | %s |" % (r["kind"], r["clients"], r["per_s"], r["p50_ms"], r["p99_ms"]))
    if floor.get("per_s"):
        lines += [
            "",
            "The HTTP floor is the ceiling of any request on this machine with the load generator on the "
            "same cores: the server parses, routes and answers, wrk builds the same bodies. A uniform "
            "checkout runs at %.0f%% of it; the server spends %s µs of CPU per checkout against %s µs "
            "per floor request." % (100.0 * float(j["uniform"]["per_s"]) / float(floor["per_s"]),
                                    j["uniform"].get("server_cpu_us", "?"), floor.get("server_cpu_us", "?")),
        ]
    cpu_rows = [(label, r) for label, r in (("HTTP floor (GET /healthz)", floor), ("checkout, uniform", j["uniform"]),
                                            ("checkout, hot SKU", j["hot"]))
                if r.get("cpu_writer_us")]
    if cpu_rows:
        lines += [
            "",
            "Where each request's CPU went, in µs (the server's threads from /proc, the load generator's "
            "from its rusage), and the rate %d cores could carry at that cost if nothing else ran:" % os.cpu_count(),
            "",
            "| run | I/O thread | writer | syncer | checkpointer | other | wrk | total | ceiling /s | measured /s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, r in cpu_rows:
            parts = [float(r[k]) for k in ("cpu_io_us", "cpu_writer_us", "cpu_sync_us", "cpu_ckpt_us",
                                           "cpu_other_us", "wrk_cpu_us")]
            lines.append("| %s | %s | %.1f | %s | %s |" % (
                label, " | ".join("%.1f" % v for v in parts), sum(parts), r["cpu_ceiling_per_s"], r["per_s"]))
        budget = os.cpu_count() * 1e6 / 40000
        lines += [
            "",
            "At issue 6's 40,000 checkouts/s, %d cores give %.0f µs of CPU per checkout for everything, "
            "the load generator included. In-process (no HTTP, 256 commands in flight) a "
            "uniform checkout costs %s µs of CPU, every thread counted (the writer %s, its syncer %s, "
            "its checkpointer %s, the driver that builds, seals and submits the commands %s); "
            "100,000/s would allow %.0f, and the writer, one thread, %.0f." % (
                os.cpu_count(), budget, ip["uniform"].get("cpu_us", "?"), ip["uniform"].get("cpu_writer_us", "?"),
                ip["uniform"].get("cpu_sync_us", "?"), ip["uniform"].get("cpu_ckpt_us", "?"),
                ip["uniform"].get("cpu_driver_us", "?"), os.cpu_count() * 1e6 / 100000, 1e6 / 100000),
        ]
    lines += [
        "",
        "Flash sale: %s units of one SKU; %s buyers (registered first through the API: %s s), each "
        "checking out once over %s connections until sold out: sold %s in %s s, oversold %s; "
        "%s buyers served with %s units; %s answers other than an order or the sold-out refusal. "
        "`jishi verify stock`: %s; `jishi verify ledger`: %s." % (
            flash.get("units", "?"), flash.get("buyers", "?"), crowd.get("registered_s", "-"),
            flash.get("connections", "?"), flash.get("sold", "?"),
            flash.get("sold_out_s", "?"), flash.get("oversold", "?"),
            flash.get("buyers_served", "?"), flash.get("units_ordered", "?"),
            flash.get("unexpected_responses", "?"),
            "ok" if stock_ok else "FAILED", "ok" if ledger_ok else "FAILED"),
        "",
        "Server during the HTTP runs: %s commands per writer batch on average, %s ms per COMMIT, "
        "%s ms per WAL fsync by the syncer (pipelined durability; 0 when off, the fsync then being "
        "inside COMMIT) covering %s batches each, a share of %s of the batches also folding the "
        "deferred reservations into the stock rows, queue depth at the end %s." % (
            server.get("mean_batch_commands", "?"), server.get("mean_commit_ms", "?"),
            server.get("mean_sync_ms", "?"), server.get("batches_per_sync", "?"),
            server.get("fold_share", "?"), server.get("queue_depth", "?")),
        "",
    ]
    if chart:
        lines += ["![checkouts per second](%s)" % os.path.basename(png), ""]
    lines.append(headline)  # the file's last line, as the run's
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s" % os.path.relpath(md, os.path.join(HERE, "..")))
    print(headline)


if __name__ == "__main__":
    main()
