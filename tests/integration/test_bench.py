"""The checkout benchmark's harness (bench/checkout_bench.py, wrk with bench/checkout.lua and
bench/register.lua) run at a tiny scale against the real binary: every run answers without
errors, the crowd registers and buys, the flash sale sells exactly its units, the CPU is split
between the server's threads and the load generator, and the data passes `jishi verify`. `make bench` reports figures from these lines; a harness that stopped
measuring what it says would go unnoticed without this."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

from harness import JISHI

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                     "checkout_bench.py")


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


class CheckoutBenchTest(unittest.TestCase):
    def test_the_harness_measures_checkouts_and_a_crowds_flash_sale(self):
        env = dict(os.environ, BENCH_FLASH_UNITS="60", BENCH_FLASH_BUYERS="150",
                   BENCH_FLASH_MAX_SECONDS="30", BENCH_FLASH_CONNECTIONS="8", BENCH_CONNECTIONS="8",
                   BENCH_BUYERS="40")
        out = subprocess.run([sys.executable, BENCH, JISHI, "1", "200"], env=env,
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = out.stdout.splitlines()
        runs = {fields(l)["kind"]: fields(l) for l in lines if l.startswith("checkout ")}
        self.assertEqual(set(runs), {"uniform", "hot", "uniform+pay", "uniform+edits"}, out.stdout)
        self.assertTrue(any(re.match(r"price edits=[1-9]", l) for l in lines), out.stdout)
        for kind, r in runs.items():
            self.assertGreater(float(r["per_s"]), 0, kind)
            self.assertEqual(r["errors"], "0", kind)
            # Each checkout writes its rows durably: the server wrote to disk.
            self.assertGreater(float(r["server_written_kb"]), 0, kind)
            # Where the latency went: each part is measured, the writer's wait and its time
            # after COMMIT are within its time, and a checkout's time in the server contains its
            # writer command's.
            parts = [float(r[k]) for k in ("queue_ms", "writer_ms", "server_ms", "mean_ms")]
            self.assertTrue(all(p > 0 for p in parts), (kind, r))
            self.assertLessEqual(parts[0], parts[1], (kind, r))
            self.assertGreater(float(r["durable_ms"]), 0, (kind, r))  # after COMMIT, the fsync
            self.assertLessEqual(float(r["durable_ms"]), parts[1], (kind, r))
            if kind != "uniform+pay":  # its payments are writer commands of another route
                self.assertLessEqual(parts[1], parts[2], (kind, r))
            # Where the CPU went: the checkout's work is in the I/O thread and the writer, and the
            # load generator's own share is counted apart.
            for k in ("cpu_io_us", "cpu_writer_us", "wrk_cpu_us", "cpu_ceiling_per_s"):
                self.assertGreater(float(r[k]), 0, (kind, k, r))
        floor = next(fields(l) for l in lines if l.startswith("floor kind=healthz"))
        # GET /healthz never reaches the writer: the split puts a checkout's writes in the
        # writer's column, not the floor's.
        self.assertLess(float(floor["cpu_writer_us"]), float(runs["uniform"]["cpu_writer_us"]), out.stdout)
        self.assertGreater(float(floor["wrk_cpu_us"]), 0, out.stdout)
        # The steady runs check out as their 40 virtual buyers, every one of them, not as one.
        steady = next(fields(l) for l in lines if l.startswith("steady ") and "buyers_with_orders" in l)
        self.assertEqual((steady["buyers"], steady["buyers_with_orders"]), ("40", "40"), out.stdout)
        crowd = next(fields(l) for l in lines if l.startswith("crowd "))
        self.assertEqual(crowd["buyers"], "150")
        flash = next(fields(l) for l in lines if l.startswith("flash "))
        self.assertEqual((flash["units"], flash["buyers"], flash["sold"], flash["oversold"]),
                         ("60", "150", "60", "0"), out.stdout)
        self.assertRegex(flash["sold_out_s"], r"^\d+\.\d+$")
        # Sixty different buyers, one unit each: the crowd, not one buyer again and again.
        self.assertEqual((flash["buyers_served"], flash["units_ordered"]), ("60", "60"), out.stdout)
        # Every buyer got an order or the sold-out refusal: nothing else (401s, 5xx).
        self.assertEqual(flash["unexpected_responses"], "0", out.stdout)
        self.assertTrue(any(re.match(r"stock ok: 200 SKUs", l) for l in lines), out.stdout)
        self.assertTrue(any(l.startswith("ledger ok") for l in lines), out.stdout)

    def test_the_in_process_bench_says_which_thread_spent_the_cpu(self):
        # Built beside the binary under test: build/<preset>/bench/.
        bench = os.path.join(os.path.dirname(JISHI), "..", "..", "bench", "jishi_checkout_bench")
        self.assertTrue(os.path.exists(bench), bench)
        with tempfile.TemporaryDirectory() as work:
            out = subprocess.run([bench, work, "1", "200"], env=dict(os.environ, JISHI_BENCH_BUYERS="40"),
                                 capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        runs = {fields(l)["kind"]: fields(l) for l in out.stdout.splitlines()
                if l.startswith("checkout_inprocess ")}
        self.assertEqual(set(runs), {"uniform", "hot"}, out.stdout)
        for kind, r in runs.items():
            self.assertEqual(r["failed"], "0", (kind, r))
            self.assertGreater(float(r["per_s"]), 0, (kind, r))
            # The checkouts run on the writer's thread and the driver seals and submits them.
            self.assertGreater(float(r["cpu_writer_us"]), 0, (kind, r))
            self.assertGreater(float(r["cpu_driver_us"]), 0, (kind, r))
            # The threads' shares add up to the process's CPU (clock ticks against rusage).
            parts = sum(float(r[k]) for k in ("cpu_writer_us", "cpu_sync_us", "cpu_ckpt_us", "cpu_driver_us"))
            self.assertAlmostEqual(parts, float(r["cpu_us"]), delta=0.2 * float(r["cpu_us"]) + 3, msg=(kind, r))


if __name__ == "__main__":
    unittest.main()
