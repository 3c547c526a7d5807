"""Test harness: runs the real jishi binary on an ephemeral port with a real SQLite file,
and talks HTTP/1.1 to it with keep-alive. No mocks: what the tests see is what users get."""
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings

# Tests open many short-lived connections on purpose; closing each is noise.
warnings.simplefilter("ignore", ResourceWarning)

JISHI = os.environ.get("JISHI_BIN", "")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ADMIN_PASSWORD = "operator-password-1"


def uscc(n, region="330106"):
    """A valid Unified Social Credit Code, distinct for each n (GB 32100 check character)."""
    body = "91" + region
    digits = []
    for _ in range(9):
        digits.append(USCC_CHARS[n % 31])
        n //= 31
    body += "".join(reversed(digits))
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    return body + USCC_CHARS[(31 - total % 31) % 31]


def resident_id(n, birth="19900307", region="110105"):
    """A valid resident ID number (GB 11643, ISO 7064 MOD 11-2), distinct for each n < 1000."""
    body = region + birth + "%03d" % (n % 1000)
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def wait_until(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Response:
    def __init__(self, status, headers, body, raw=b""):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.raw = raw  # the body's bytes (DER answers)

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def code(self):
        return (self.json or {}).get("code")

    def __repr__(self):
        return "Response(%d, %s)" % (self.status, self.body[:300])


class Client:
    """One keep-alive connection; a token makes it an authenticated client."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def close(self):
        self.conn.close()

    def request(self, method, path, body=None, headers=None, raw=None, content_type="application/json"):
        h = {}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        h.update(headers or {})
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                return Response(r.status, r.getheaders(), raw.decode("utf-8", "replace"), raw)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, key=None, **kw):
        headers = kw.pop("headers", {}) or {}
        if key:
            headers["Idempotency-Key"] = key
        return self.request("POST", path, body=body, headers=headers, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Server:
    """A jishi server process on its own data dir."""

    def __init__(self, settings=None, data_dir=None, web_root=None, verb="serve"):
        self.verb = verb
        assert JISHI, "set JISHI_BIN to the jishi binary"
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="jishi-it-")
        self.settings = {"password_hash_cost": "min", "rate_limit_per_s": "100000",
                         "rate_limit_burst": "100000"}
        self.settings.update(settings or {})
        if web_root is not None:
            self.settings["web_root"] = web_root
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def admin_create(self, email="operator@example.com", role="operator", password=ADMIN_PASSWORD):
        env = dict(os.environ, JISHI_ADMIN_PASSWORD=password)
        out = subprocess.run([JISHI, "admin", "create", "--data-dir", self.data_dir, "--email", email,
                              "--role", role, "--set", "password_hash_cost=min"],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return email

    def start(self):
        args = [JISHI, self.verb, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"]
        for k, v in self.settings.items():
            args += ["--set", "%s=%s" % (k, v)]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        lines = []

        def read_port():
            for raw in self.proc.stdout:
                line = raw.decode()
                lines.append(line)
                if line.startswith("jishi listening on http://"):
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    return

        t = threading.Thread(target=read_port, daemon=True)
        t.start()
        t.join(60)
        if self.port is None:
            self.proc.kill()
            raise AssertionError("jishi did not start: " + self.read_log()[-2000:])
        return self

    def client(self, token=None):
        return Client(self.port, token)

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        code = self.proc.returncode if self.proc else 0
        self.proc = None
        self.log.close()
        return code

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None
        self.log.close()

    def cleanup(self):
        if self.proc:
            self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def db_path(self):
        return os.path.join(self.data_dir, "jishi.db")

    # Helpers for common set-ups -----------------------------------------------------------
    def register(self, email, password="password-123", **extra):
        body = {"email": email, "password": password}
        body.update(extra)
        r = self.client().post("/api/v1/auth/register", body)
        assert r.status == 201, r
        return self.client(r.json["session"]["token"]), r.json["user"]

    def login(self, login, password):
        r = self.client().post("/api/v1/auth/login", {"login": login, "password": password})
        assert r.status == 200, r
        return self.client(r.json["session"]["token"])
