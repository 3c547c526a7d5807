"""Runs a web UI end-to-end script against a real `jishi demo` (its own data dir, a free port,
the built web/dist), then stops the server. Screenshots go to JISHI_UI_SHOTS.

  python3 tests/ui/run.py JISHI_BINARY web/tests/shop.e2e.mjs
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

JISHI, SCRIPT = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEB = os.path.join(ROOT, "web")

if not os.path.exists(os.path.join(WEB, "dist", "index.html")):
    sys.exit("web/dist is not built: run `make test` (it runs npm ci and npm run build)")
work = tempfile.mkdtemp(prefix="jishi-ui-")
server = subprocess.Popen([JISHI, "demo", "--data-dir", work, "--listen", "127.0.0.1:0",
                           "--set", "web_root=" + os.path.join(WEB, "dist"),
                           "--set", "password_hash_cost=min", "--set", "log_level=warn",
                           # signed tree heads every 2 s, so the console has two to prove consistent
                           "--set", "audit_head_interval_s=2"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
try:
    port = None
    for line in server.stdout:
        m = re.match(rb"jishi listening on http://[^:]+:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        sys.exit("jishi demo did not start")
    env = dict(os.environ, JISHI_URL="http://127.0.0.1:%d" % port, JISHI_DATA_DIR=work,
               JISHI_UI_SHOTS=os.environ.get("JISHI_UI_SHOTS", os.path.join(work, "shots")))
    out = subprocess.run(["node", SCRIPT], cwd=WEB, env=env, timeout=300)
    sys.exit(out.returncode)
finally:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(work, ignore_errors=True)
