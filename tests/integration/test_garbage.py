"""Hostile bytes on the wire: the server must answer 4xx or close, never crash or hang, and keep
serving everyone else. Runs under ASan in make test, so memory errors fail loudly."""
import random
import socket
import unittest

from harness import Server


def exchange(port, payload, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    finally:
        s.close()


class GarbageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def assert_alive(self):
        self.assertEqual(self.server.client().get("/healthz").status, 200)

    def test_malformed_requests_get_4xx_or_a_closed_connection(self):
        cases = [
            b"\x00\x01\x02\x03\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + (b"100000\r\n" + b"x" * 1000),
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
            b"GET /api/v1/orgs?limit=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/v1/orgs/%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
            b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for payload in cases:
            reply = exchange(self.server.port, payload)
            if reply:
                status = int(reply.split(b" ", 2)[1])
                self.assertTrue(400 <= status < 500, (payload[:60], reply[:200]))
            self.assert_alive()

    def test_random_bytes_never_break_the_server(self):
        seed = random.randrange(1 << 30)
        print("garbage seed", seed)
        rng = random.Random(seed)
        valid = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"login\":\"a@b.cd\",\"password\":\"pppppppp\"}"
        for _ in range(150):
            data = bytearray(valid)
            for _ in range(rng.randrange(1, 12)):
                op = rng.randrange(3)
                pos = rng.randrange(len(data))
                if op == 0:
                    data[pos] = rng.randrange(256)
                elif op == 1:
                    del data[pos]
                else:
                    data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
            reply = exchange(self.server.port, bytes(data), timeout=10)
            if reply:
                status = int(reply.split(b" ", 2)[1])
                self.assertLess(status, 500, (bytes(data)[:120], reply[:200]))
        self.assert_alive()


    def read_response(self, s, buffered):
        """One response from s (after `buffered` bytes already read): (head lines, body, rest)."""
        data = buffered
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return lines, rest, length

    def test_responses_on_the_wire_follow_the_version_and_the_method(self):
        # Two requests pipelined on one HTTP/1.1 connection, the second a HEAD: both answered in
        # order, the HEAD with the GET's Content-Length and no body; no Connection header on a
        # kept-alive 1.1 connection; then a 1.1 request asking to close gets "close" and the end.
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            lines, rest, length = self.read_response(s, b"")
            self.assertEqual(lines[0], "HTTP/1.1 200 OK")
            self.assertIn("Server: jishi", lines)
            self.assertFalse([l for l in lines if l.lower().startswith("connection:")], lines)
            while len(rest) < length:
                rest += s.recv(65536)
            body, rest = rest[:length], rest[length:]
            self.assertGreater(length, 0)
            self.assertEqual(body[:1], b"{")
            head_lines, rest, head_length = self.read_response(s, rest)
            self.assertEqual(head_lines[0], "HTTP/1.1 200 OK")
            self.assertEqual(head_length, length)  # the GET's size, with no body after it
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            lines, rest, length = self.read_response(s, rest)
            self.assertEqual(lines[0], "HTTP/1.1 200 OK", (lines, rest[:80]))
            self.assertIn("Connection: close", lines)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.assertEqual(len(rest), length)  # exactly the body, then the server closed
        finally:
            s.close()
        # HTTP/1.0: closed after the answer unless the client asks to keep it, and then told so.
        reply = exchange(self.server.port, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.0 200 OK\r\n"), reply[:80])
        self.assertNotIn(b"\r\nConnection:", reply.partition(b"\r\n\r\n")[0])
        reply = exchange(self.server.port, b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertIn(b"\r\nConnection: keep-alive\r\n", reply.partition(b"\r\n\r\n")[0] + b"\r\n")


if __name__ == "__main__":
    unittest.main()
