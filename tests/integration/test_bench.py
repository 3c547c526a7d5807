"""The checkout benchmark's harness (bench/checkout_bench.py, wrk with bench/checkout.lua and
bench/register.lua) run at a tiny scale against the real binary: every run answers without
errors, the crowd registers and buys, the flash sale sells exactly its units, and the data
passes `jishi verify`. `make bench` reports figures from these lines; a harness that stopped
measuring what it says would go unnoticed without this."""
import os
import re
import subprocess
import sys
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
        self.assertTrue(any(l.startswith("floor kind=healthz") for l in lines), out.stdout)
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


if __name__ == "__main__":
    unittest.main()
