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


if __name__ == "__main__":
    unittest.main()
